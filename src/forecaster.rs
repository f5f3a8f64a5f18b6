//! The trained forecaster: one value that owns everything a forecast needs — the network, the
//! feature list, the scaler fitted on the training span, the window length and horizon, the
//! interval calibration, the calendar and the CSV load options — built by [`fit`] (training) or
//! by `checkpoint::load` (a model file, validated field by field).
//!
//! Predict, score, backtest and the promotion gate all go through it:
//!
//! ```text
//! Forecaster::prepare(series) ─▶ Prepared (features → stored scaler → windows; nothing refitted)
//!     ├─▶ Prepared::forecast(calendar)  the next `horizon` closes after the last day, with intervals
//!     └─▶ Prepared::score(days)         forecasts of past days from the history before each
//! ```

use crate::calendar::Calendar;
use crate::data::{prepare_inference, prepare_training, LoadOptions, Scaler, Series, Windows};
use crate::distribution::Distribution;
use crate::error::{DataError, Error, Result};
use crate::inference::{price_forecasts, return_path, Forecast, ForecastStep, StepForecasts, StepInterval};
use crate::intervals::{band, calibrate, Interval};
use crate::metrics::{compare, naive_mae, Comparison};
use crate::model::{ModelConfig, StockPredictor};
use crate::runtime::Runtime;
use crate::train::{fit as fit_network, EpochReport, FitOutcome, Settings, TrainConfig};
use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What the head predicts: the next days' log returns of the close.
pub const TARGET: &str = crate::data::features::TARGET;

/// Where the training data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    /// Absolute path of the training CSV; predict re-reads it when --csv is not given.
    pub csv: String,
    pub first_date: String,
    pub last_date: String,
    pub rows: usize,
}

/// The validation span (target dates of step 1) and the model's metrics on it beside naive's:
/// `metrics` for step 1, `steps` for every step of the horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    pub start: String,
    pub end: String,
    pub windows: usize,
    pub metrics: Comparison,
    pub steps: Vec<Comparison>,
}

/// A trained model and everything needed to forecast with it.
#[derive(Debug, Clone)]
pub struct Forecaster {
    /// The stacked LSTM and its head; `network.config.horizon` outputs.
    pub network: StockPredictor,
    /// Input feature names, in column order (`network.config.input_size` of them).
    pub features: Vec<String>,
    /// Fitted on the training span; never refitted.
    pub scaler: Scaler,
    /// Days of history per input window.
    pub seq_len: usize,
    /// Split-conformal half-widths per level, one per step.
    pub intervals: Vec<Interval>,
    /// The calendar forecast dates follow.
    pub calendar: Calendar,
    /// The flags training read its CSV with; predict reuses them.
    pub load_options: LoadOptions,
    /// How it was trained.
    pub training: TrainConfig,
    /// The data it was trained on.
    pub data: DataInfo,
    /// How it did on its validation span.
    pub validation: Validation,
    /// The forecast version that trained it.
    pub crate_version: String,
}

/// Where a forecaster's training data came from and how forecasts are dated: recorded in it.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// The CSV (absolute path), named in errors and stored in the model file.
    pub csv: &'a Path,
    pub load_options: LoadOptions,
    pub calendar: Calendar,
}

/// A freshly trained forecaster with what its training did.
#[derive(Debug)]
pub struct Trained {
    pub forecaster: Forecaster,
    pub outcome: FitOutcome,
    /// Training windows (the validation windows are `forecaster.validation.windows`).
    pub train_windows: usize,
    /// Every step's forecasts of the validation span (for plots and the promotion gate).
    pub validation_forecasts: Vec<StepForecasts>,
}

/// Trains a forecaster on `series`: features, chronological split, scaler on the training span,
/// seeded initialisation, training with early stopping, then validation metrics beside naive and
/// interval calibration on the validation span. Training that ends with non-finite forecasts is
/// an error, so no unusable model is ever written.
pub fn fit(
    series: &Series,
    settings: &Settings,
    runtime: &Runtime,
    source: &Source,
    on_epoch: impl FnMut(&EpochReport),
) -> Result<Trained> {
    let prepared = prepare_training(
        series,
        settings.seq_len,
        settings.horizon,
        settings.train.val_fraction,
        settings.distribution != Distribution::None,
        source.csv,
    )?;
    let config = ModelConfig {
        input_size: prepared.feature_names.len(),
        hidden_size: settings.hidden,
        num_layers: settings.layers,
        horizon: settings.horizon,
        dropout: settings.dropout,
        distribution: settings.distribution,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(settings.train.seed);
    let network = StockPredictor::init(&config, &mut rng, &runtime.device)?;
    let outcome = fit_network(
        &network,
        &prepared.windows,
        &prepared.split,
        &settings.train,
        &mut rng,
        runtime,
        on_epoch,
    )?;
    let val: Vec<usize> = prepared.split.val.clone().collect();
    let steps = price_forecasts(&network, &prepared.windows, &prepared.scaler, series, &val, runtime)
        .map_err(|e| Error::from(e).context("scoring the validation span"))?;
    if steps.iter().flat_map(|s| &s.forecast).any(|f| !f.is_finite() || *f <= 0.0) {
        return Err(Error::Internal(
            "training diverged: the validation forecasts are not finite positive prices; try a smaller --lr"
                .into(),
        ));
    }
    let last_training_day = prepared.windows.spec().target_day(prepared.split.train.end.saturating_sub(1));
    let scale = naive_mae(&series.close[..=last_training_day.min(series.len() - 1)]);
    let per_step: Vec<Comparison> =
        steps.iter().map(|s| compare(&s.previous, &s.forecast, &s.actual, scale)).collect();
    let date = |d: Option<&NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let validation = Validation {
        start: date(steps[0].dates.first()),
        end: date(steps[0].dates.last()),
        windows: val.len(),
        metrics: per_step[0],
        steps: per_step,
    };
    let forecaster = Forecaster {
        network,
        features: prepared.feature_names.clone(),
        scaler: prepared.scaler.clone(),
        seq_len: settings.seq_len,
        intervals: calibrate(&steps, &settings.levels),
        calendar: source.calendar,
        load_options: source.load_options.clone(),
        training: settings.train.clone(),
        data: DataInfo {
            csv: source.csv.display().to_string(),
            first_date: date(series.dates.first()),
            last_date: date(series.dates.last()),
            rows: series.len(),
        },
        validation,
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    Ok(Trained {
        forecaster,
        outcome,
        train_windows: prepared.split.train.len(),
        validation_forecasts: steps,
    })
}

impl Forecaster {
    /// Trading days forecast at once.
    pub fn horizon(&self) -> usize {
        self.network.config.horizon
    }

    /// The series' features scaled with the stored scaler, cut into windows. A series too short
    /// for the window is a data error naming `csv`; a series that lacks a feature the model needs
    /// is a model-file error naming `model`.
    pub fn prepare<'a>(&'a self, series: &'a Series, csv: &Path, model: &Path) -> Result<Prepared<'a>> {
        let windows = prepare_inference(
            series,
            &self.features,
            &self.scaler,
            self.seq_len,
            self.horizon(),
            csv,
            model,
        )?;
        Ok(Prepared { forecaster: self, series, windows, csv: csv.to_path_buf() })
    }
}

/// A series made ready for one forecaster.
#[derive(Debug)]
pub struct Prepared<'a> {
    forecaster: &'a Forecaster,
    series: &'a Series,
    windows: Windows,
    csv: std::path::PathBuf,
}

impl Prepared<'_> {
    /// The next `horizon` closes after the series' last day, dated by `calendar`, each with the
    /// forecaster's intervals. Every number is checked to be a finite positive price: a forecast
    /// that is not is an error, never printed or logged.
    pub fn forecast(&self, calendar: Calendar) -> Result<Forecast> {
        let f = self.forecaster;
        // `prepare` refused a series too short for one window.
        let last = self.series.len() - 1;
        let j = self.windows.last_window();
        let path = return_path(&f.network, &self.windows, &f.scaler, j, f.network.fc_weight.device())?;
        let last_close = self.series.close[last];
        let dates = calendar.next_trading_days(self.series.dates[last], f.horizon());
        let forecasts: Vec<ForecastStep> = (0..f.horizon())
            .map(|k| {
                let close = last_close * path.location[k].exp();
                let scale = path.scale.get(k).copied();
                let bands: Vec<StepInterval> = f
                    .intervals
                    .iter()
                    .map(|i| {
                        let (lower, upper) = band(close, i.half_widths[k], scale.unwrap_or(1.0));
                        StepInterval { level: i.level, lower, upper }
                    })
                    .collect();
                ForecastStep {
                    date: dates[k].to_string(),
                    step: k + 1,
                    close,
                    sigma: scale,
                    df: path.nu.get(k).copied(),
                    lower: bands.first().map(|b| b.lower),
                    upper: bands.first().map(|b| b.upper),
                    level: bands.first().map(|b| b.level),
                    intervals: bands,
                }
            })
            .collect();
        let forecast =
            Forecast { as_of: self.series.dates[last].to_string(), last_close, calendar, forecasts };
        check_finite(&forecast, &self.csv)?;
        Ok(forecast)
    }

    /// The forecasts of the given series days (each the step-1 target of one window), from the
    /// history before each, as prices per step; steps past the series' end are left out. A day
    /// without `seq_len` days of history before it is an error.
    pub fn score(&self, days: &[usize], runtime: &Runtime) -> Result<Vec<StepForecasts>> {
        let spec = self.windows.spec();
        let windows = days
            .iter()
            .map(|&day| spec.window_for_target(day).filter(|_| day < self.series.len()))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| {
                DataError::new(
                    &self.csv,
                    format!(
                        "cannot score these days: seq-len {} needs more history before them than the data has",
                        self.forecaster.seq_len
                    ),
                )
            })?;
        let f = self.forecaster;
        Ok(price_forecasts(&f.network, &self.windows, &f.scaler, self.series, &windows, runtime)?)
    }

    /// The series days of the dates in `dates` (which must all be in the series).
    pub fn days_of(&self, dates: &[NaiveDate]) -> Option<Vec<usize>> {
        dates.iter().map(|d| self.series.dates.binary_search(d).ok()).collect()
    }
}

/// Refuses a forecast with a number that is not a finite positive price (a price near f64's
/// limit, weights that overflow): such a number must never reach stdout or a ledger.
fn check_finite(forecast: &Forecast, csv: &Path) -> Result<()> {
    let good = |v: f64| v.is_finite() && v > 0.0;
    let bad = forecast.forecasts.iter().find(|s| {
        !good(s.close)
            || s.sigma.is_some_and(|v| !good(v))
            || s.intervals.iter().any(|b| !good(b.lower) || !good(b.upper) || b.lower > b.upper)
    });
    match bad {
        None if good(forecast.last_close) => Ok(()),
        _ => Err(DataError::new(
            csv,
            format!(
                "the forecast from the last close {} is not a finite positive price",
                forecast.last_close
            ),
        )
        .with_hint("check the latest prices in the file")
        .into()),
    }
}
