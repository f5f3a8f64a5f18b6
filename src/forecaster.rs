//! The trained forecaster: one value that owns everything a forecast needs — the network, the
//! feature list, the window length and horizon, the interval calibration, and per series it was
//! trained on (one, or a whole watchlist for a global model) the scaler fitted on that series'
//! training span, the calendar and the CSV load options — built by [`fit`] (training) or by
//! `checkpoint::load` (a model file, validated field by field).
//!
//! Predict, score, backtest and the promotion gate all go through it:
//!
//! ```text
//! Forecaster::prepare(series, scaler) ─▶ Prepared (features → stored scaler → windows; nothing refitted)
//!     ├─▶ Prepared::forecast(calendar)  the next `horizon` closes after the last day, with intervals
//!     └─▶ Prepared::score(days)         forecasts of past days from the history before each
//! ```

use crate::calendar::Calendar;
use crate::data::dataset::{fit_inference_scaler, Member};
use crate::data::{
    prepare_inference, prepare_last_window, prepare_training, LoadOptions, Scaler, Series, Windows,
};
use crate::distribution::Distribution;
use crate::error::{DataError, Error, Result};
use crate::inference::{
    pool, price_forecasts, return_path, Forecast, ForecastStep, StepForecasts, StepInterval,
};
use crate::intervals::{band, calibrate, Interval};
use crate::metrics::{compare_tested, naive_mae, relative_naive_mae, Comparison};
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

/// Where a series' training data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    /// Absolute path of the training CSV; predict re-reads it when --csv is not given.
    pub csv: String,
    pub first_date: String,
    pub last_date: String,
    pub rows: usize,
}

/// The validation span (target dates of step 1) and the model's metrics on it beside naive's:
/// `metrics` for step 1, `steps` for every step of the horizon. For a model of several series
/// these are pooled over them, on closes rebased to 100 at each forecast origin (so errors are in
/// percent of the last close), and `series` has each series' own step-1 metrics in its prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    pub start: String,
    pub end: String,
    pub windows: usize,
    pub metrics: Comparison,
    pub steps: Vec<Comparison>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<SeriesValidation>,
}

/// One series' step-1 validation metrics in a model of several series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesValidation {
    pub id: String,
    pub windows: usize,
    pub metrics: Comparison,
}

/// One series a forecaster was trained on: its id, where its data is, how to read it, its scaler
/// (fitted on its own training span) and the calendar its forecast dates follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesEntry {
    /// The ticker (from the file's ticker column, else the file name's stem).
    pub id: String,
    pub data: DataInfo,
    /// The flags its CSV was read with; predict reuses them.
    pub load_options: LoadOptions,
    /// Fitted on the series' training span; never refitted.
    pub scaler: Scaler,
    pub calendar: Calendar,
}

/// A trained model and everything needed to forecast with it.
#[derive(Debug, Clone)]
pub struct Forecaster {
    /// The stacked LSTM and its head; `network.config.horizon` outputs.
    pub network: StockPredictor,
    /// Input feature names, in column order (`network.config.input_size` of them).
    pub features: Vec<String>,
    /// Days of history per input window.
    pub seq_len: usize,
    /// Split-conformal half-widths per level, one per step (pooled over the series).
    pub intervals: Vec<Interval>,
    /// How it was trained.
    pub training: TrainConfig,
    /// How it did on its validation span.
    pub validation: Validation,
    /// The forecast version that trained it.
    pub crate_version: String,
    /// The series it was trained on, at least one: a global model has several, each with its own
    /// scaler, and one network for all.
    pub series: Vec<SeriesEntry>,
}

/// Where a series' training data came from and how its forecasts are dated: recorded in the
/// forecaster.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// The CSV (absolute path), named in errors and stored in the model file.
    pub csv: &'a Path,
    pub load_options: LoadOptions,
    pub calendar: Calendar,
}

/// One series to train on: its id, its rows and where they came from.
#[derive(Debug, Clone)]
pub struct TrainingSeries<'a> {
    pub id: String,
    pub series: &'a Series,
    pub source: Source<'a>,
}

/// A freshly trained forecaster with what its training did.
#[derive(Debug)]
pub struct Trained {
    pub forecaster: Forecaster,
    pub outcome: FitOutcome,
    /// Training windows over all series (the validation windows are
    /// `forecaster.validation.windows`).
    pub train_windows: usize,
    /// Per series trained on (in `forecaster.series` order): every step's forecasts of its
    /// validation span (for plots, interval baselines and the promotion gate).
    pub validation_forecasts: Vec<Vec<StepForecasts>>,
    /// The first step-1 target date of validation, the same for every series.
    pub cutoff: NaiveDate,
    /// Series left out of training (too short), with why: (id, reason).
    pub skipped: Vec<(String, String)>,
}

/// Trains one forecaster on `members` (one series, or a panel sharing one network): features,
/// one cut-off date splitting every series chronologically, each series' scaler on its own
/// training span, seeded initialisation, training with early stopping on minibatches that mix
/// series, then validation metrics beside naive and interval calibration on the validation span.
/// Training that ends with non-finite forecasts is an error, so no unusable model is ever written.
pub fn fit(
    members: &[TrainingSeries],
    settings: &Settings,
    runtime: &Runtime,
    on_epoch: impl FnMut(&EpochReport),
) -> Result<Trained> {
    let panel: Vec<Member> =
        members.iter().map(|m| Member { series: m.series, path: m.source.csv }).collect();
    let prepared = prepare_training(
        &panel,
        settings.seq_len,
        settings.horizon,
        settings.train.val_fraction,
        settings.distribution != Distribution::None,
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
    let mut per_series = Vec::new();
    let mut entries = Vec::new();
    for ((s, &i), val) in prepared.kept.iter().enumerate().zip(prepared.validation_windows()) {
        let (m, scaler) = (&members[i], &prepared.scalers[s]);
        let windows = &prepared.windows.series[s];
        per_series.push(score_validation(
            &network,
            windows,
            scaler,
            m.series,
            &val,
            prepared.train_windows[s],
            runtime,
        )?);
        entries.push(SeriesEntry::new(m, scaler.clone()));
    }
    let validation = validation(&per_series, &entries);
    let validation_forecasts: Vec<Vec<StepForecasts>> = per_series.into_iter().map(|p| p.steps).collect();
    let forecaster = Forecaster {
        network,
        features: prepared.feature_names.clone(),
        seq_len: settings.seq_len,
        intervals: calibrate(&pool(validation_forecasts.clone()), &settings.levels),
        training: settings.train.clone(),
        validation,
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        series: entries,
    };
    Ok(Trained {
        forecaster,
        outcome,
        train_windows: prepared.split.train.len(),
        validation_forecasts,
        cutoff: prepared.cutoff,
        skipped: prepared.skipped.iter().map(|(i, why)| (members[*i].id.clone(), why.clone())).collect(),
    })
}

/// One series' validation forecasts (windows `val`, after its `train_windows` training windows)
/// with its MASE scales; non-finite forecasts mean training diverged.
fn score_validation(
    network: &StockPredictor,
    windows: &Windows,
    scaler: &Scaler,
    series: &Series,
    val: &[usize],
    train_windows: usize,
    runtime: &Runtime,
) -> Result<SeriesScores> {
    let steps = price_forecasts(network, windows, scaler, series, val, runtime)
        .map_err(|e| Error::from(e).context("scoring the validation span"))?;
    if steps.iter().flat_map(|s| &s.forecast).any(|f| !f.is_finite() || *f <= 0.0) {
        return Err(Error::Internal(
            "training diverged: the validation forecasts are not finite positive prices; try a smaller --lr"
                .into(),
        ));
    }
    let last_training_day = windows.spec().target_day(train_windows.saturating_sub(1));
    let training_closes = &series.close[..=last_training_day.min(series.len() - 1)];
    Ok(SeriesScores {
        steps,
        scale: naive_mae(training_closes),
        relative_scale: relative_naive_mae(training_closes),
        windows: val.len(),
    })
}

impl SeriesEntry {
    /// The record of a series trained on, with the scaler fitted on its training span.
    fn new(m: &TrainingSeries, scaler: Scaler) -> SeriesEntry {
        SeriesEntry {
            id: m.id.clone(),
            data: DataInfo {
                csv: m.source.csv.display().to_string(),
                first_date: date(m.series.dates.first()),
                last_date: date(m.series.dates.last()),
                rows: m.series.len(),
            },
            load_options: m.source.load_options.clone(),
            scaler,
            calendar: m.source.calendar,
        }
    }
}

fn date(d: Option<&NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// One series' validation forecasts, for the validation record.
struct SeriesScores {
    steps: Vec<StepForecasts>,
    /// Naive MAE over its training closes: its MASE scale in prices…
    scale: f64,
    /// …and in percent of the previous close, for pooled metrics.
    relative_scale: f64,
    windows: usize,
}

/// The validation record: for one series its metrics in its prices; for several, the pooled
/// metrics on closes rebased to 100 at each origin (MASE against the mean of the series' naive
/// MAE in percent) and each series' own.
fn validation(scores: &[SeriesScores], entries: &[SeriesEntry]) -> Validation {
    let comparisons = |steps: &[StepForecasts], scale: f64| -> Vec<Comparison> {
        steps
            .iter()
            .map(|s| compare_tested(&s.previous, &s.forecast, &s.actual, scale, (&s.dates, s.step)))
            .collect()
    };
    let dates: Vec<NaiveDate> = scores.iter().flat_map(|p| p.steps[0].dates.iter().copied()).collect();
    let (steps, series) = match scores {
        [one] => (comparisons(&one.steps, one.scale), Vec::new()),
        _ => {
            let rebased =
                pool(scores.iter().map(|p| p.steps.iter().map(StepForecasts::rebased).collect()).collect());
            let scale = scores.iter().map(|p| p.relative_scale).sum::<f64>() / scores.len() as f64;
            let series = scores
                .iter()
                .zip(entries)
                .map(|(p, e)| SeriesValidation {
                    id: e.id.clone(),
                    windows: p.windows,
                    metrics: comparisons(&p.steps, p.scale)[0],
                })
                .collect();
            (comparisons(&rebased, scale), series)
        }
    };
    Validation {
        start: date(dates.iter().min()),
        end: date(dates.iter().max()),
        windows: scores.iter().map(|p| p.windows).sum(),
        metrics: steps[0],
        steps,
        series,
    }
}

impl Forecaster {
    /// Trading days forecast at once.
    pub fn horizon(&self) -> usize {
        self.network.config.horizon
    }

    /// The series with this id, if the forecaster was trained on it.
    pub fn entry(&self, id: &str) -> Option<&SeriesEntry> {
        self.series.iter().find(|e| e.id == id)
    }

    /// The series' features scaled with `scaler` (a trained series' stored one, or
    /// [`Forecaster::cold_start_scaler`]'s), cut into windows. A series too short for the window is
    /// a data error naming `csv`; a series that lacks a feature the model needs is a model-file
    /// error naming `model`.
    pub fn prepare<'a>(
        &'a self,
        series: &'a Series,
        scaler: &Scaler,
        csv: &Path,
        model: &Path,
    ) -> Result<Prepared<'a>> {
        let windows =
            prepare_inference(series, &self.features, scaler, self.seq_len, self.horizon(), csv, model)?;
        Ok(Prepared { forecaster: self, series, scaler: scaler.clone(), windows, csv: csv.to_path_buf() })
    }

    /// The next `horizon` closes after the series' last day, as [`Prepared::forecast`] gives them,
    /// bit for bit, from the features of the last window only ([`prepare_last_window`]): what
    /// `predict` runs, without the features of the whole history. Errors as [`Forecaster::prepare`].
    pub fn forecast_next(
        &self,
        series: &Series,
        scaler: &Scaler,
        calendar: Calendar,
        (csv, model): (&Path, &Path),
    ) -> Result<Forecast> {
        let spec = (self.seq_len, self.horizon());
        let windows = prepare_last_window(series, &self.features, scaler, spec, csv, model)?;
        Prepared { forecaster: self, series, scaler: scaler.clone(), windows, csv: csv.to_path_buf() }
            .forecast(calendar)
    }

    /// A scaler for a series the forecaster never saw (a cold start), fitted on all of its
    /// history: at forecast time all of it is the past.
    pub fn cold_start_scaler(&self, series: &Series, csv: &Path, model: &Path) -> Result<Scaler> {
        fit_inference_scaler(series, &self.features, self.seq_len, self.horizon(), csv, model)
    }
}

/// A series made ready for one forecaster.
#[derive(Debug)]
pub struct Prepared<'a> {
    forecaster: &'a Forecaster,
    series: &'a Series,
    scaler: Scaler,
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
        let path = return_path(&f.network, &self.windows, &self.scaler, j, f.network.fc_weight.device())?;
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
        Ok(price_forecasts(&f.network, &self.windows, &self.scaler, self.series, &windows, runtime)?)
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
