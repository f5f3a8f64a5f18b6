//! From model outputs to prices: scaled log returns are unscaled with the stored scaler, summed
//! along the horizon and turned into closes as `origin_close · exp(r̂_1 + … + r̂_k)`. Shared by
//! train (validation metrics, intervals and the forecast it prints), backtest and predict.
//!
//! With a distributional head, each step also has a scale σ_i (and degrees of freedom ν_i); the
//! cumulative log return to step k has location M_k = μ_1 + … + μ_k and scale
//! S_k = √(σ_1² + … + σ_k²) (the steps taken as independent; the conformal calibration in
//! `intervals` corrects what that misses), with ν_k as its degrees of freedom.

use crate::calendar::Calendar;
use crate::data::{Scaler, Series, Windows};
use crate::distribution::{step_raw, Distribution, LocationScale};
use crate::model::StockPredictor;
use crate::runtime::Runtime;
use crate::train::forward_windows;
use candle_core::{Device, Result};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A prediction interval of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepInterval {
    pub level: f64,
    pub lower: f64,
    pub upper: f64,
}

/// One forecast step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastStep {
    /// YYYY-MM-DD: the trading day forecast.
    pub date: String,
    /// 1 for the next trading day.
    pub step: usize,
    pub close: f64,
    /// The scale of the log return from the last close to this step's close (absent for a
    /// squared-error head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
    /// Its degrees of freedom (a student-t head only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub df: Option<f64>,
    /// The interval at the first --level (absent when the model has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<f64>,
    /// Every level's interval.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<StepInterval>,
}

/// The forecast from the latest data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// Last date in the data (YYYY-MM-DD).
    pub as_of: String,
    pub last_close: f64,
    pub calendar: Calendar,
    pub forecasts: Vec<ForecastStep>,
}

/// One step's forecasts over windows with known targets, beside the origin close (the naive
/// forecast for every step) and the actual close.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepForecasts {
    /// 1-based step.
    pub step: usize,
    /// Series day of each target.
    pub days: Vec<usize>,
    pub dates: Vec<NaiveDate>,
    /// Close on the forecast origin (the day before step 1): the naive forecast.
    pub previous: Vec<f64>,
    pub forecast: Vec<f64>,
    pub actual: Vec<f64>,
    /// The scale S_k of each day's log return from the origin (empty for a squared-error head).
    pub sigma: Vec<f64>,
    /// Each day's degrees of freedom (a student-t head only; empty otherwise).
    pub nu: Vec<f64>,
}

impl StepForecasts {
    /// Day `i`'s log return from the origin to the actual close.
    pub fn actual_return(&self, i: usize) -> f64 {
        (self.actual[i] / self.previous[i]).ln()
    }

    /// Day `i`'s forecast log return from the origin (the location M_k).
    pub fn forecast_return(&self, i: usize) -> f64 {
        (self.forecast[i] / self.previous[i]).ln()
    }

    /// The scale intervals are measured in: S_k, or 1 for a squared-error head.
    pub fn scale(&self, i: usize) -> f64 {
        self.sigma.get(i).copied().unwrap_or(1.0)
    }

    /// The same forecasts with every day's closes rebased to 100 at its origin: errors in percent
    /// of the last close, comparable across series (log returns and scales are unchanged).
    pub fn rebased(&self) -> StepForecasts {
        let rebase = |values: &[f64]| -> Vec<f64> {
            values.iter().zip(&self.previous).map(|(v, p)| 100.0 * v / p).collect()
        };
        StepForecasts {
            previous: vec![100.0; self.previous.len()],
            forecast: rebase(&self.forecast),
            actual: rebase(&self.actual),
            ..self.clone()
        }
    }

    /// Day `i`'s predicted distribution of the log return from the origin (None for a
    /// squared-error head).
    pub fn distribution(&self, i: usize) -> Option<LocationScale> {
        let sigma = *self.sigma.get(i)?;
        Some(LocationScale { mu: self.forecast_return(i), sigma, nu: self.nu.get(i).copied() })
    }
}

/// Several series' forecasts as one: each step's days of every part, part after part (their `days`
/// then index different series).
pub fn pool(parts: Vec<Vec<StepForecasts>>) -> Vec<StepForecasts> {
    let mut parts = parts.into_iter();
    let mut pooled = parts.next().unwrap_or_default();
    for part in parts {
        for (all, s) in pooled.iter_mut().zip(part) {
            all.days.extend(s.days);
            all.dates.extend(s.dates);
            all.previous.extend(s.previous);
            all.forecast.extend(s.forecast);
            all.actual.extend(s.actual);
            all.sigma.extend(s.sigma);
            all.nu.extend(s.nu);
        }
    }
    pooled
}

/// The predicted distribution of the cumulative log return from the origin to each step of one
/// window, in log-return units: `location` M_k, and for a distributional head `scale` S_k and `nu`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnPath {
    pub location: Vec<f64>,
    /// Empty for a squared-error head.
    pub scale: Vec<f64>,
    /// Empty unless student-t.
    pub nu: Vec<f64>,
}

/// Unscaled cumulative return distributions per window: `outputs` is the head's raw output
/// (windows × outputs × horizon), row-major; `bases` the windows' base scales (empty: 1).
pub fn cumulative_returns(
    outputs: &[f32],
    bases: &[f32],
    horizon: usize,
    distribution: Distribution,
    scaler: &Scaler,
) -> Vec<ReturnPath> {
    let width = distribution.outputs() * horizon;
    outputs
        .chunks(width)
        .enumerate()
        .map(|(w, row)| {
            let base = bases.get(w).map_or(1.0, |&b| b as f64);
            let mut path = ReturnPath { location: vec![], scale: vec![], nu: vec![] };
            let (mut total, mut variance) = (0.0, 0.0);
            for k in 0..horizon {
                let step =
                    LocationScale::from_raw(distribution, step_raw(distribution, row, horizon, k), base);
                total += scaler.inverse_target(step.mu);
                path.location.push(total);
                if distribution != Distribution::None {
                    variance += (step.sigma * scaler.target_std).powi(2);
                    path.scale.push(variance.sqrt());
                }
                path.nu.extend(step.nu);
            }
            path
        })
        .collect()
}

/// Forecasts of windows `indices` as prices, one entry per step; a step whose day is past the end
/// of `series` is left out (so step 1 can have more days than step `horizon`).
pub fn price_forecasts(
    model: &StockPredictor,
    windows: &Windows,
    scaler: &Scaler,
    series: &Series,
    indices: &[usize],
    runtime: &Runtime,
) -> Result<Vec<StepForecasts>> {
    let horizon = windows.horizon;
    let outputs = forward_windows(model, windows, indices, &runtime.device, runtime.threads)?;
    let bases = windows.base_scales_of(indices);
    let paths = cumulative_returns(&outputs, &bases, horizon, model.config.distribution, scaler);
    let mut steps: Vec<StepForecasts> =
        (1..=horizon).map(|step| StepForecasts { step, ..Default::default() }).collect();
    for (&j, path) in indices.iter().zip(&paths) {
        let first = windows.spec().target_day(j);
        let origin = series.close[first - 1];
        for (k, s) in steps.iter_mut().enumerate() {
            let day = first + k;
            if day >= series.len() {
                break;
            }
            s.days.push(day);
            s.dates.push(series.dates[day]);
            s.previous.push(origin);
            s.forecast.push(origin * path.location[k].exp());
            s.actual.push(series.close[day]);
            s.sigma.extend(path.scale.get(k));
            s.nu.extend(path.nu.get(k));
        }
    }
    Ok(steps)
}

/// The predicted distribution of the cumulative log returns of window `j` (up to
/// [`Windows::last_window`]): the price path relative to the close on the window's last day.
pub fn return_path(
    model: &StockPredictor,
    windows: &Windows,
    scaler: &Scaler,
    j: usize,
    device: &Device,
) -> Result<ReturnPath> {
    let outputs = forward_windows(model, windows, &[j], device, 1)?;
    let bases = windows.base_scales_of(&[j]);
    Ok(cumulative_returns(&outputs, &bases, windows.horizon, model.config.distribution, scaler)
        .swap_remove(0))
}
