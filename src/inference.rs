//! From model outputs to prices: scaled log returns are unscaled with the stored scaler, summed
//! along the horizon and turned into closes as `origin_close · exp(r̂_1 + … + r̂_k)`. Shared by
//! train (validation metrics, intervals and the forecast it prints), backtest and predict.

use crate::calendar::Calendar;
use crate::data::dataset::target_day;
use crate::data::{Scaler, Series, Windows};
use crate::intervals::Interval;
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
fn cumulative_returns(outputs: &[f32], horizon: usize, scaler: &Scaler) -> Vec<Vec<f64>> {
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

/// Forecasts of windows `indices` (which must have all targets) as prices, one entry per step.
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
        let first = target_day(j, windows.seq_len);
        let origin = series.close[first - 1];
        for (k, s) in steps.iter_mut().enumerate() {
            let day = first + k;
            s.days.push(day);
            s.dates.push(series.dates[day]);
            s.previous.push(origin);
            s.forecast.push(origin * path[k].exp());
            s.actual.push(series.close[day]);
        }
    }
    Ok(steps)
}

/// The next `horizon` closes after the last row of `series`, from the window ending on it, with
/// the model's intervals, dated by `calendar`.
pub fn forecast_next(
    model: &StockPredictor,
    windows: &Windows,
    scaler: &Scaler,
    intervals: &[Interval],
    series: &Series,
    calendar: Calendar,
    device: &Device,
) -> Result<Forecast> {
    let horizon = windows.horizon;
    let out = forward_windows(model, windows, &[windows.last_window()], device, 1)?;
    let path = &cumulative_returns(&out, horizon, scaler)[0];
    let last = series.len() - 1;
    let last_close = series.close[last];
    let dates = calendar.next_trading_days(series.dates[last], horizon);
    let forecasts = (0..horizon)
        .map(|k| {
            let close = last_close * path[k].exp();
            let bands: Vec<StepInterval> = intervals
                .iter()
                .map(|i| {
                    let q = i.half_widths[k];
                    StepInterval { level: i.level, lower: close * (-q).exp(), upper: close * q.exp() }
                })
                .collect();
            ForecastStep {
                date: dates[k].to_string(),
                step: k + 1,
                close,
                lower: bands.first().map(|b| b.lower),
                upper: bands.first().map(|b| b.upper),
                level: bands.first().map(|b| b.level),
                intervals: bands,
            }
        })
        .collect();
    Ok(Forecast { as_of: series.dates[last].to_string(), last_close, calendar, forecasts })
}
