//! From model outputs to prices: scaled log returns are unscaled with the stored scaler and turned
//! into closes as `previous_close · exp(r̂)`. Shared by train (validation metrics and the forecast
//! it prints) and predict.

use crate::data::dataset::target_day;
use crate::data::{Scaler, Series, Windows};
use crate::model::StockPredictor;
use crate::runtime::Runtime;
use crate::train::forward_windows;
use candle_core::{Device, Result};
use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Serialize;

/// One forecast step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastStep {
    /// YYYY-MM-DD: the trading day forecast.
    pub date: String,
    /// 1 for the next trading day.
    pub step: usize,
    pub close: f64,
}

/// The forecast from the latest data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// Last date in the data (YYYY-MM-DD).
    pub as_of: String,
    pub last_close: f64,
    pub forecasts: Vec<ForecastStep>,
}

/// Model forecasts beside the previous and the actual close, for windows with known targets.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceForecasts {
    pub dates: Vec<NaiveDate>,
    /// Close of the day before each target day: the naive forecast.
    pub previous: Vec<f64>,
    pub forecast: Vec<f64>,
    pub actual: Vec<f64>,
}

/// The next weekday after `date` (Saturday and Sunday skipped).
pub fn next_weekday(date: NaiveDate) -> NaiveDate {
    let mut next = date + Days::new(1);
    while matches!(next.weekday(), Weekday::Sat | Weekday::Sun) {
        next = next + Days::new(1);
    }
    next
}

/// Forecasts of windows `indices` (which must have targets) as prices, with naive and actual.
pub fn price_forecasts(
    model: &StockPredictor,
    windows: &Windows,
    scaler: &Scaler,
    series: &Series,
    indices: &[usize],
    runtime: &Runtime,
) -> Result<PriceForecasts> {
    let outputs = forward_windows(model, windows, indices, &runtime.device, runtime.threads)?;
    let mut result = PriceForecasts { dates: vec![], previous: vec![], forecast: vec![], actual: vec![] };
    for (&j, &out) in indices.iter().zip(&outputs) {
        let day = target_day(j, windows.seq_len);
        let previous = series.close[day - 1];
        result.dates.push(series.dates[day]);
        result.previous.push(previous);
        result.forecast.push(previous * scaler.inverse_target(out as f64).exp());
        result.actual.push(series.close[day]);
    }
    Ok(result)
}

/// The next close after the last row of `series`, from the window ending on that row.
pub fn forecast_next(
    model: &StockPredictor,
    windows: &Windows,
    scaler: &Scaler,
    series: &Series,
    device: &Device,
) -> Result<Forecast> {
    let out = forward_windows(model, windows, &[windows.len()], device, 1)?;
    let last = series.len() - 1;
    let last_close = series.close[last];
    let close = last_close * scaler.inverse_target(out[0] as f64).exp();
    let date = next_weekday(series.dates[last]);
    Ok(Forecast {
        as_of: series.dates[last].to_string(),
        last_close,
        forecasts: vec![ForecastStep { date: date.to_string(), step: 1, close }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_weekday_skips_the_weekend() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(next_weekday(d(2024, 6, 7)), d(2024, 6, 10)); // Friday → Monday
        assert_eq!(next_weekday(d(2024, 6, 8)), d(2024, 6, 10)); // Saturday → Monday
        assert_eq!(next_weekday(d(2024, 6, 10)), d(2024, 6, 11));
    }
}
