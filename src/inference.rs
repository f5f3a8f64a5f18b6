//! From model outputs to prices: scaled log returns are unscaled with the stored scaler, summed
//! along the horizon and turned into closes as `origin_close · exp(r̂_1 + … + r̂_k)`. Shared by
//! train (validation metrics, intervals and the forecast it prints), backtest and predict.

use crate::calendar::Calendar;
use crate::data::{Scaler, Series, Windows};
use crate::model::StockPredictor;
use crate::runtime::Runtime;
use crate::train::forward_windows;
use candle_core::{Device, Result};
use chrono::NaiveDate;
use serde::Serialize;

/// A prediction interval of one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepInterval {
    pub level: f64,
    pub lower: f64,
    pub upper: f64,
}

/// One forecast step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastStep {
    /// YYYY-MM-DD: the trading day forecast.
    pub date: String,
    /// 1 for the next trading day.
    pub step: usize,
    pub close: f64,
    /// The interval at the first --level (absent when the model has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<f64>,
    /// Every level's interval.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<StepInterval>,
}

/// The forecast from the latest data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// Last date in the data (YYYY-MM-DD).
    pub as_of: String,
    pub last_close: f64,
    pub calendar: Calendar,
    pub forecasts: Vec<ForecastStep>,
}

/// One step's forecasts over windows with known targets, beside the origin close (the naive
/// forecast for every step) and the actual close.
#[derive(Debug, Clone, PartialEq)]
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
}

/// Unscaled cumulative log returns per window: `outputs` is (windows × horizon), row-major.
pub fn cumulative_returns(outputs: &[f32], horizon: usize, scaler: &Scaler) -> Vec<Vec<f64>> {
    outputs
        .chunks(horizon)
        .map(|row| {
            let mut total = 0.0;
            row.iter()
                .map(|&r| {
                    total += scaler.inverse_target(r as f64);
                    total
                })
                .collect()
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
    let paths = cumulative_returns(&outputs, horizon, scaler);
    let mut steps: Vec<StepForecasts> = (1..=horizon)
        .map(|step| StepForecasts {
            step,
            days: vec![],
            dates: vec![],
            previous: vec![],
            forecast: vec![],
            actual: vec![],
        })
        .collect();
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
            s.forecast.push(origin * path[k].exp());
            s.actual.push(series.close[day]);
        }
    }
    Ok(steps)
}

/// The unscaled cumulative log returns r̂_1, r̂_1 + r̂_2, … of window `j` (up to
/// [`Windows::last_window`]): the price path relative to the close on the window's last day.
pub fn return_path(
    model: &StockPredictor,
    windows: &Windows,
    scaler: &Scaler,
    j: usize,
    device: &Device,
) -> Result<Vec<f64>> {
    let outputs = forward_windows(model, windows, &[j], device, 1)?;
    Ok(cumulative_returns(&outputs, windows.horizon, scaler).swap_remove(0))
}
