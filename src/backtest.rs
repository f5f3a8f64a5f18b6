//! Expanding-window walk-forward evaluation.
//!
//! The last `folds × test_size` forecastable days are cut into `folds` consecutive test spans. For
//! each fold, a model (and its scaler) is fitted by [`train_on`] on the series truncated just
//! before the fold's first test day — so nothing of the test span can reach it — then every test
//! day is forecast, in one batch, from the real history before it. Naive, drift and moving-average
//! baselines are scored on the same days. With a horizon of N days, each test day is a forecast
//! origin and every step 1…N is scored; intervals are calibrated on the fold's own validation
//! span (inside its history) and their coverage measured on its test span.

use crate::calendar::Calendar;
use crate::data::{LoadOptions, Series, WindowSpec};
use crate::distribution::Distribution;
use crate::error::DataError;
use crate::forecaster::{fit, Source, Trained};
use crate::inference::StepForecasts;
use crate::interval_baselines::{IntervalBaselines, METHODS};
use crate::interval_metrics::{self, DayPrediction, MethodScores, ScoredDay};
use crate::intervals::{coverage, pool, Coverage, Interval};
use crate::metrics::{
    drift_forecasts, mae, moving_average_forecasts, naive_mae, point_metrics, skill, PointMetrics,
};
use crate::runtime::Runtime;
use crate::train::{EpochReport, Settings};
use serde::Serialize;
use std::ops::Range;
use std::path::Path;

/// Share of the forecastable days given to test spans when --test-size is not set.
pub const DEFAULT_TEST_SHARE: f64 = 0.2;

/// Metrics of the model and every baseline over one span, for one step.
#[derive(Debug, Clone, Serialize)]
pub struct SpanMetrics {
    pub step: usize,
    pub model: PointMetrics,
    pub naive: PointMetrics,
    pub drift: PointMetrics,
    pub moving_average: PointMetrics,
    /// 1 − rmse / naive rmse.
    pub skill: f64,
}

/// One day's forecasts, for one step.
#[derive(Debug, Clone, Serialize)]
pub struct DayForecast {
    pub date: String,
    pub fold: usize,
    pub step: usize,
    pub actual: f64,
    pub forecast: f64,
    pub naive: f64,
    pub drift: f64,
    pub moving_average: f64,
    /// The EWMA volatility known at the origin: what days are ranked by for the calm and
    /// turbulent fifths.
    pub ranking_volatility: f64,
    /// Each interval method's prediction, in [`METHODS`] order (GARCH missing when its fit
    /// failed).
    #[serde(skip)]
    pub intervals: Vec<DayPrediction>,
}

/// Interval scores of the model and every interval baseline for one step, over all test days.
#[derive(Debug, Clone, Serialize)]
pub struct StepIntervalScores {
    pub step: usize,
    pub days: usize,
    /// The naive forecast's mean absolute error over these days: the unit the table divides
    /// interval scores and pinball losses by.
    pub naive_mae: f64,
    /// In [`METHODS`] order.
    pub methods: Vec<MethodScores>,
}

/// One fold: where it trained and tested, and how it did.
#[derive(Debug, Clone, Serialize)]
pub struct Fold {
    pub fold: usize,
    pub train_start: String,
    pub train_end: String,
    pub test_start: String,
    pub test_end: String,
    pub test_days: usize,
    pub epochs_run: usize,
    pub best_epoch: usize,
    /// Step 1's metrics (the keys `model`, `naive`, `drift`, `moving_average`, `skill`).
    #[serde(flatten)]
    pub metrics: SpanMetrics,
    /// Every step's metrics.
    pub steps: Vec<SpanMetrics>,
}

/// The whole backtest.
#[derive(Debug, Clone, Serialize)]
pub struct Backtest {
    pub folds: Vec<Fold>,
    /// Step 1 over all test days.
    pub summary: SpanMetrics,
    /// Every step over all test days.
    pub steps: Vec<SpanMetrics>,
    /// Empirical interval coverage and width per level and step, over all test days.
    pub coverage: Vec<Coverage>,
    /// What the model predicts per day: `none`, `normal` or `student-t`.
    pub distribution: Distribution,
    /// The interval levels.
    pub levels: Vec<f64>,
    /// Interval and distribution scores of the model and the interval baselines, per step.
    pub intervals: Vec<StepIntervalScores>,
    #[serde(skip)]
    pub days: Vec<DayForecast>,
}

/// The window ranges tested by each fold, oldest first: `folds` spans of `test_size` windows
/// ending with the last window that has a target.
pub fn fold_spans(n_windows: usize, folds: usize, test_size: Option<usize>) -> Vec<Range<usize>> {
    let size =
        test_size.unwrap_or(((n_windows as f64 * DEFAULT_TEST_SHARE) / folds as f64).floor() as usize).max(1);
    let start = n_windows.saturating_sub(folds * size);
    (0..folds)
        .map(|k| start + k * size..(start + (k + 1) * size).min(n_windows))
        .filter(|r| !r.is_empty())
        .collect()
}

/// Progress of a running backtest, for the caller to report.
#[derive(Debug)]
pub enum Progress<'a> {
    /// Fold (1-based) finished an epoch.
    Epoch(usize, &'a EpochReport),
    /// A fold is done.
    Fold(&'a Fold),
}

/// Runs the walk-forward backtest over `folds` test spans of `test_size` days (default: together
/// [`DEFAULT_TEST_SHARE`] of the forecastable days).
pub fn run(
    series: &Series,
    settings: &Settings,
    (folds, test_size): (usize, Option<usize>),
    runtime: &Runtime,
    csv: &Path,
    mut progress: impl FnMut(Progress),
) -> crate::error::Result<Backtest> {
    let n_windows = spec(settings).windows_with_targets(series.len());
    let spans = fold_spans(n_windows, folds, test_size);
    if spans.len() < folds || spans.first().is_some_and(|s| s.start == 0) {
        return Err(DataError::new(
            csv,
            format!(
                "too few rows for {folds} folds: {} usable rows, {n_windows} forecastable days",
                series.len()
            ),
        )
        .with_hint("use fewer --folds, a smaller --test-size or a longer history")
        .into());
    }
    let mut result_folds = Vec::new();
    let mut days = Vec::new();
    let mut scales = Vec::new();
    let mut coverages = Vec::new();
    for (k, span) in spans.iter().enumerate() {
        let (fold, fold_days, scale, fold_coverage) =
            run_fold(series, settings, k, span.clone(), runtime, csv, |e| {
                progress(Progress::Epoch(k + 1, e))
            })?;
        progress(Progress::Fold(&fold));
        result_folds.push(fold);
        scales.extend(std::iter::repeat_n(scale, fold_days.len()));
        days.extend(fold_days);
        coverages.push(fold_coverage);
    }
    let steps = per_step_metrics(&days, &scales, settings.horizon);
    let intervals = (1..=settings.horizon)
        .map(|step| interval_scores(&days, step, &settings.levels, settings.distribution))
        .collect();
    Ok(Backtest {
        folds: result_folds,
        summary: steps[0].clone(),
        steps,
        coverage: pool(&coverages),
        distribution: settings.distribution,
        levels: settings.levels.clone(),
        intervals,
        days,
    })
}

/// The interval scores of every method at `step` over `days`. A method missing on some day (a
/// GARCH fit that failed in one fold) is scored on none: its row is left out.
fn interval_scores(
    days: &[DayForecast],
    step: usize,
    levels: &[f64],
    distribution: Distribution,
) -> StepIntervalScores {
    let mine: Vec<&DayForecast> = days.iter().filter(|d| d.step == step).collect();
    let scored: Vec<ScoredDay> = mine
        .iter()
        .map(|d| ScoredDay { origin: d.naive, actual: d.actual, ranking_volatility: d.ranking_volatility })
        .collect();
    let methods = METHODS
        .iter()
        .enumerate()
        .filter(|(m, _)| mine.iter().all(|d| d.intervals.len() > *m))
        .map(|(m, name)| {
            let predictions: Vec<DayPrediction> = mine.iter().map(|d| d.intervals[m].clone()).collect();
            // The constant band's normal only gives it quantiles; a squared-error model's
            // intervals are the constant band.
            let likelihood = match *name {
                "model" => distribution != Distribution::None,
                "constant" => false,
                _ => true,
            };
            interval_metrics::score(name, &scored, &predictions, levels, likelihood)
        })
        .collect();
    let naive_mae = mae(
        &scored.iter().map(|d| d.origin).collect::<Vec<_>>(),
        &scored.iter().map(|d| d.actual).collect::<Vec<_>>(),
    );
    StepIntervalScores { step, days: mine.len(), naive_mae, methods }
}

/// Metrics of each step 1…`horizon` over `days`.
fn per_step_metrics(days: &[DayForecast], scales: &[f64], horizon: usize) -> Vec<SpanMetrics> {
    (1..=horizon)
        .map(|step| {
            let (mine, my_scales): (Vec<DayForecast>, Vec<f64>) =
                days.iter().zip(scales).filter(|(d, _)| d.step == step).map(|(d, s)| (d.clone(), *s)).unzip();
            span_metrics(step, &mine, &my_scales)
        })
        .collect()
}

fn spec(settings: &Settings) -> WindowSpec {
    WindowSpec { seq_len: settings.seq_len, horizon: settings.horizon }
}

/// The forecaster of the fold that tests `span` (window indices): fitted, scaler, early stopping
/// and interval calibration included, on the rows before its first test day and nothing else.
pub fn fit_fold(
    series: &Series,
    settings: &Settings,
    span: &Range<usize>,
    runtime: &Runtime,
    csv: &Path,
    on_epoch: impl FnMut(&EpochReport),
) -> crate::error::Result<Trained> {
    let history = series.head(spec(settings).target_day(span.start));
    let source = Source { csv, load_options: LoadOptions::default(), calendar: Calendar::Weekdays };
    fit(&history, settings, runtime, &source, on_epoch)
}

/// Fits fold `k` on the history before `span` and forecasts the span. Returns the fold, its days
/// (every step), its MASE scale (the naive MAE over its training closes) and its coverage.
fn run_fold(
    series: &Series,
    settings: &Settings,
    k: usize,
    span: Range<usize>,
    runtime: &Runtime,
    csv: &Path,
    on_epoch: impl FnMut(&EpochReport),
) -> crate::error::Result<(Fold, Vec<DayForecast>, f64, Vec<Coverage>)> {
    let spec = spec(settings);
    let first_test_day = spec.target_day(span.start);
    let Trained { forecaster, outcome, validation_forecasts, .. } =
        fit_fold(series, settings, &span, runtime, csv, on_epoch)?;
    let test_days: Vec<usize> = span.clone().map(|j| spec.target_day(j)).collect();
    let steps = forecaster.prepare(series, csv, csv)?.score(&test_days, runtime)?;
    let baselines = IntervalBaselines::new(&series.close, &settings.levels)
        .with_garch(first_test_day)
        .with_constant(&validation_forecasts);
    let day_forecasts: Vec<DayForecast> =
        steps.iter().flat_map(|s| step_days(series, s, k + 1, &forecaster.intervals, &baselines)).collect();
    let scale = naive_mae(&series.close[..first_test_day]);
    let scales = vec![scale; day_forecasts.len()];
    let per_step = per_step_metrics(&day_forecasts, &scales, settings.horizon);
    let date = |i: usize| series.dates[i].to_string();
    let fold = Fold {
        fold: k + 1,
        train_start: date(0),
        train_end: date(first_test_day - 1),
        test_start: date(first_test_day),
        test_end: date(spec.target_day(span.end - 1)),
        test_days: span.len(),
        epochs_run: outcome.epochs_run,
        best_epoch: outcome.best_epoch,
        metrics: per_step[0].clone(),
        steps: per_step,
    };
    Ok((fold, day_forecasts, scale, coverage(&steps, &forecaster.intervals)))
}

/// One step's forecasts as days, with the point and interval baselines from the same origins;
/// `intervals` are the fold model's calibrated intervals.
fn step_days(
    series: &Series,
    s: &StepForecasts,
    fold: usize,
    intervals: &[Interval],
    baselines: &IntervalBaselines,
) -> Vec<DayForecast> {
    let origins: Vec<usize> = s.days.iter().map(|&d| d - s.step).collect();
    let drift = drift_forecasts(&series.close, &origins, s.step);
    let moving = moving_average_forecasts(&series.close, &origins, s.step);
    (0..s.days.len())
        .map(|i| {
            let constant = baselines.constant(s.step, s.forecast_return(i));
            let model = match s.distribution(i) {
                Some(distribution) => DayPrediction {
                    distribution,
                    half_widths: intervals
                        .iter()
                        .map(|l| l.half_widths[s.step - 1] * distribution.sigma)
                        .collect(),
                },
                // A squared-error head's intervals are the constant band.
                None => constant.clone(),
            };
            let mut predictions = vec![model, constant, baselines.ewma(origins[i], s.step)];
            predictions.extend(baselines.garch(origins[i], s.step));
            DayForecast {
                date: s.dates[i].to_string(),
                fold,
                step: s.step,
                actual: s.actual[i],
                forecast: s.forecast[i],
                naive: s.previous[i],
                drift: drift[i],
                moving_average: moving[i],
                ranking_volatility: baselines.ewma_volatility(origins[i]),
                intervals: predictions,
            }
        })
        .collect()
}

/// Metrics of the model and the baselines over `days`; `scales[i]` is day i's MASE denominator.
fn span_metrics(step: usize, days: &[DayForecast], scales: &[f64]) -> SpanMetrics {
    let column = |f: fn(&DayForecast) -> f64| days.iter().map(f).collect::<Vec<f64>>();
    let (actual, naive) = (column(|d| d.actual), column(|d| d.naive));
    let score = |forecast: &[f64]| {
        let mut m = point_metrics(&naive, forecast, &actual, 1.0);
        // MASE with each day's own fold scale: the mean of |error| / scale.
        let scaled: f64 = forecast.iter().zip(&actual).zip(scales).map(|((f, a), s)| (f - a).abs() / s).sum();
        m.mase = scaled / days.len().max(1) as f64;
        m
    };
    let model = score(&column(|d| d.forecast));
    let naive_metrics = score(&naive);
    SpanMetrics {
        step,
        skill: skill(model.rmse, naive_metrics.rmse),
        model,
        naive: naive_metrics,
        drift: score(&column(|d| d.drift)),
        moving_average: score(&column(|d| d.moving_average)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_consecutive_and_end_at_the_last_window() {
        let spans = fold_spans(1000, 5, None);
        assert_eq!(spans, vec![800..840, 840..880, 880..920, 920..960, 960..1000]);
        assert_eq!(fold_spans(100, 2, Some(10)), vec![80..90, 90..100]);
    }
}
