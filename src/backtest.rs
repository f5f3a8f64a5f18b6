//! Expanding-window walk-forward evaluation, of one series or of a watchlist.
//!
//! The last `folds × test_size` forecastable dates are cut into `folds` consecutive test spans
//! (for a watchlist, the dates of all series together: one calendar of folds). For each fold, a
//! model (and each series' scaler) is fitted by `forecaster::fit` on every series truncated just
//! before the fold's first test date — so nothing of the test span of any series can reach it —
//! then every test day of every series is forecast, in one batch, from the real history before
//! it. A watchlist's metrics are given per series (in its prices) and pooled (closes rebased to
//! 100 at each origin, so errors are in percent of the last close); `--compare-local` fits one
//! model per series on the same folds beside the global one. Naive, drift and moving-average
//! baselines are scored on the same days. With a horizon of N days, each test day is a forecast
//! origin and every step 1…N is scored; intervals are calibrated on the fold's own validation
//! span (inside its history) and their coverage measured on its test span.
//!
//! The work comes in units ([`plan`]): each fold's model, and with `--compare-local` each series'
//! own model of each fold. [`run_unit`] does one and gives its [`Part`] (every test day with every
//! baseline's prediction, the coverages, epochs and dates trained on); [`assemble`] makes the
//! report from all parts, put in one order whoever ran them, so shards of a backtest run on
//! several machines merge into the report one process prints, bit for bit.

use crate::data::{Series, WindowSpec};
use crate::distribution::Distribution;
use crate::error::DataError;
use crate::forecaster::{fit, Trained, TrainingSeries};
use crate::inference::StepForecasts;
use crate::interval_baselines::{IntervalBaselines, METHODS};
use crate::interval_metrics::{self, interval_significance, winkler, DayPrediction, MethodScores, ScoredDay};
use crate::intervals::{coverage, pool, Coverage, Interval};
use crate::metrics::{
    drift_forecasts, errors, mae, moving_average_forecasts, naive_mae, point_metrics, relative_naive_mae,
    skill, PointMetrics, SkillTests,
};
use crate::runtime::Runtime;
use crate::significance::Significance;
use crate::train::{EpochReport, Settings};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
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
    #[serde(with = "crate::exact_float::nan_as_null")]
    pub skill: f64,
    /// Whether the model's difference from each baseline is real.
    pub significance: BaselineTests,
}

/// The model against each point baseline on the same days (the days of several series pooled by
/// date), for squared and absolute errors.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BaselineTests {
    pub naive: SkillTests,
    pub drift: SkillTests,
    pub moving_average: SkillTests,
}

/// One day's forecasts of one series, for one step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DayForecast {
    /// The series' id.
    pub series: String,
    pub date: String,
    pub fold: usize,
    pub step: usize,
    #[serde(with = "crate::exact_float")]
    pub actual: f64,
    #[serde(with = "crate::exact_float")]
    pub forecast: f64,
    #[serde(with = "crate::exact_float")]
    pub naive: f64,
    #[serde(with = "crate::exact_float")]
    pub drift: f64,
    #[serde(with = "crate::exact_float")]
    pub moving_average: f64,
    /// The EWMA volatility known at the origin: what days are ranked by for the calm and
    /// turbulent fifths.
    #[serde(with = "crate::exact_float")]
    pub ranking_volatility: f64,
    /// The MASE denominator: the naive MAE over the fold's training closes of the series…
    #[serde(with = "crate::exact_float")]
    pub scale: f64,
    /// …and the same in percent of the previous close, for closes rebased to 100.
    #[serde(with = "crate::exact_float")]
    pub relative_scale: f64,
    /// Each interval method's prediction, in [`METHODS`] order (GARCH missing when its fit
    /// failed).
    pub intervals: Vec<DayPrediction>,
}

impl DayForecast {
    /// The day with its closes rebased to 100 at the origin (errors in percent of the last close,
    /// comparable across series; log-return predictions are unchanged).
    pub fn rebased(&self) -> DayForecast {
        let r = |v: f64| 100.0 * v / self.naive;
        DayForecast {
            actual: r(self.actual),
            forecast: r(self.forecast),
            naive: 100.0,
            drift: r(self.drift),
            moving_average: r(self.moving_average),
            scale: self.relative_scale,
            ..self.clone()
        }
    }
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
    /// The model's interval score against each interval baseline's, per level.
    pub significance: Vec<IntervalTest>,
}

/// Whether the model's interval score at one level differs for real from one baseline's.
#[derive(Debug, Clone, Serialize)]
pub struct IntervalTest {
    pub level: f64,
    /// The baseline's name (see [`METHODS`]).
    pub baseline: String,
    /// Not flattened: its own `level` is the skill interval's confidence level.
    pub test: Significance,
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
    /// The fold model's epochs (for `--compare-local`'s per-series models, summed over them).
    pub epochs_run: usize,
    pub best_epoch: usize,
    /// Step 1's metrics (the keys `model`, `naive`, `drift`, `moving_average`, `skill`); pooled
    /// on rebased closes for a watchlist.
    #[serde(flatten)]
    pub metrics: SpanMetrics,
    /// Every step's metrics.
    pub steps: Vec<SpanMetrics>,
}

/// One series of a watchlist's backtest: its own metrics, in its prices.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesBacktest {
    pub id: String,
    /// Step-1 test days.
    pub days: usize,
    /// Step 1 over all its test days.
    pub summary: SpanMetrics,
    /// Its interval scores per step.
    pub intervals: Vec<StepIntervalScores>,
}

/// The whole backtest.
#[derive(Debug, Clone, Serialize)]
pub struct Backtest {
    pub folds: Vec<Fold>,
    /// Step 1 over all test days (of every series, on closes rebased to 100 at each origin, for a
    /// watchlist).
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
    /// A watchlist's series, each scored on its own (empty for one series).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<SeriesBacktest>,
    /// `--compare-local`: the same folds and days with one model per series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<Box<Backtest>>,
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

/// The test dates of each fold: the forecastable days (step-1 targets with every step's target in
/// the data) of all series together, cut into `folds` spans of `test_size` dates (default: together
/// [`DEFAULT_TEST_SHARE`] of them) ending with the last. For one series, the dates of its windows.
fn fold_dates(
    members: &[TrainingSeries],
    spec: WindowSpec,
    folds: usize,
    test_size: Option<usize>,
) -> crate::error::Result<Vec<(NaiveDate, NaiveDate)>> {
    let mut dates: Vec<NaiveDate> = members
        .iter()
        .flat_map(|m| {
            (0..spec.windows_with_targets(m.series.len())).map(move |j| m.series.dates[spec.target_day(j)])
        })
        .collect();
    dates.sort_unstable();
    dates.dedup();
    let spans = fold_spans(dates.len(), folds, test_size);
    if spans.len() < folds || spans.first().is_some_and(|s| s.start == 0) {
        let (path, rows) = match members {
            [one] => (one.source.csv, format!("{} usable rows", one.series.len())),
            _ => {
                (members.first().map_or(Path::new(""), |m| m.source.csv), format!("{} series", members.len()))
            }
        };
        return Err(DataError::new(
            path,
            format!("too few rows for {folds} folds: {rows}, {} forecastable days", dates.len()),
        )
        .with_hint("use fewer --folds, a smaller --test-size or a longer history")
        .into());
    }
    Ok(spans.into_iter().map(|s| (dates[s.start], dates[s.end - 1])).collect())
}

/// One unit of a backtest's work, the thing a shard is given: fold `k`'s model (the global
/// model of a watchlist, or the model of the one series), or with `--compare-local` fold `k`'s
/// model of the one series `members[series]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Unit {
    Fold(usize),
    Local { fold: usize, series: usize },
}

/// What a backtest will do: its fold dates and its units of work in their documented order —
/// every fold (oldest first), then with `compare_local` each series (sorted by id) × fold.
#[derive(Debug, Clone)]
pub struct Plan {
    pub spans: Vec<(NaiveDate, NaiveDate)>,
    pub units: Vec<Unit>,
    pub scoring: Scoring,
}

/// What turns a backtest's parts into its report, besides the parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scoring {
    pub folds: usize,
    pub horizon: usize,
    pub levels: Vec<f64>,
    pub distribution: Distribution,
    /// Several series: pooled metrics on rebased closes, and per-series metrics.
    pub watchlist: bool,
    pub compare_local: bool,
}

/// What one [`Unit`] produced: its test days (every step, with every baseline), its interval
/// coverages, its model's epochs, and the dates its model trained on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    pub unit: Unit,
    pub test_start: String,
    pub test_end: String,
    /// The first and last dates trained on ("" when there were none).
    pub train_start: String,
    pub train_end: String,
    /// (run, best); (0, 0) for a per-series model too short to train alone in this fold.
    pub epochs: (usize, usize),
    pub days: Vec<DayForecast>,
    pub coverages: Vec<Vec<Coverage>>,
}

impl Part {
    fn fold(&self) -> usize {
        match self.unit {
            Unit::Fold(k) | Unit::Local { fold: k, .. } => k,
        }
    }
}

/// The plan of a backtest of `members` over `folds` test spans of `test_size` days.
pub fn plan(
    members: &[TrainingSeries],
    settings: &Settings,
    (folds, test_size): (usize, Option<usize>),
    compare_local: bool,
) -> crate::error::Result<Plan> {
    let spans = fold_dates(members, spec(settings), folds, test_size)?;
    let mut units: Vec<Unit> = (0..spans.len()).map(Unit::Fold).collect();
    if compare_local {
        let mut by_id: Vec<usize> = (0..members.len()).collect();
        by_id.sort_by(|&a, &b| members[a].id.cmp(&members[b].id));
        units.extend(
            by_id
                .into_iter()
                .flat_map(|series| (0..spans.len()).map(move |fold| Unit::Local { fold, series })),
        );
    }
    let scoring = Scoring {
        folds: spans.len(),
        horizon: settings.horizon,
        levels: settings.levels.clone(),
        distribution: settings.distribution,
        watchlist: members.len() > 1,
        compare_local,
    };
    Ok(Plan { spans, units, scoring })
}

/// Does one unit of `plan`: fits its model on the rows before its fold's first test date and
/// scores it on every test day. A per-series model too short to train alone in its fold gives a
/// part without days: that series is scored by the global model only.
pub fn run_unit(
    members: &[TrainingSeries],
    settings: &Settings,
    plan: &Plan,
    unit: Unit,
    runtime: &Runtime,
    mut progress: impl FnMut(Progress),
) -> crate::error::Result<Part> {
    let (k, mine) = match unit {
        Unit::Fold(k) => (k, members),
        Unit::Local { fold, series } => (fold, &members[series..=series]),
    };
    let (first, last) = plan.spans[k];
    let trained = fit_fold(mine, settings, first, runtime, |e| {
        if matches!(unit, Unit::Fold(_)) {
            progress(Progress::Epoch(k + 1, e))
        }
    });
    let dates = mine.iter().map(|m| &m.series.dates);
    let date = |d: Option<&NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let mut part = Part {
        unit,
        test_start: first.to_string(),
        test_end: last.to_string(),
        train_start: date(dates.clone().filter_map(|d| d.first()).min()),
        train_end: date(dates.filter_map(|d| d[..d.partition_point(|x| *x < first)].last()).max()),
        epochs: (0, 0),
        days: Vec::new(),
        coverages: Vec::new(),
    };
    let trained = match (trained, unit) {
        (Ok(t), _) => t,
        (Err(_), Unit::Local { .. }) => return Ok(part),
        (Err(e), Unit::Fold(_)) => return Err(e),
    };
    (part.days, part.coverages) = score(mine, &trained, k, (first, last), settings, runtime)?;
    part.epochs = (trained.outcome.epochs_run, trained.outcome.best_epoch);
    if matches!(unit, Unit::Fold(_)) {
        progress(Progress::Fold(&fold_record(&[&part], &plan.scoring)));
    }
    Ok(part)
}

/// The backtest report from every part of a plan (in any order: each is put in its place, so
/// parts run by several shards give the same report, bit for bit, as one run).
pub fn assemble(mut parts: Vec<Part>, scoring: &Scoring) -> Backtest {
    // In the order one run makes them: folds in turn, and within a fold the series in order.
    parts.sort_by_key(|p| match p.unit {
        Unit::Fold(k) => (k, 0),
        Unit::Local { fold, series } => (fold, series + 1),
    });
    let (global, local): (Vec<Part>, Vec<Part>) =
        parts.into_iter().partition(|p| matches!(p.unit, Unit::Fold(_)));
    let mut result = summarise(&global, scoring);
    if scoring.compare_local {
        result.local = Some(Box::new(summarise(&local, scoring)));
    }
    result
}

/// The fold record of `parts` (all of one fold): the days scored for it, the dates trained on,
/// the epochs of its model (of its models together, per series).
fn fold_record(parts: &[&Part], scoring: &Scoring) -> Fold {
    let days: Vec<DayForecast> = parts.iter().flat_map(|p| p.days.iter().cloned()).collect();
    let per_step = per_step_metrics(&days, scoring.horizon, scoring.watchlist);
    let first = parts[0];
    Fold {
        fold: first.fold() + 1,
        train_start: parts
            .iter()
            .map(|p| &p.train_start)
            .filter(|d| !d.is_empty())
            .min()
            .cloned()
            .unwrap_or_default(),
        train_end: parts.iter().map(|p| p.train_end.clone()).max().unwrap_or_default(),
        test_start: first.test_start.clone(),
        test_end: first.test_end.clone(),
        test_days: days.iter().filter(|d| d.step == 1).count(),
        epochs_run: parts.iter().map(|p| p.epochs.0).sum(),
        best_epoch: parts.iter().map(|p| p.epochs.1).sum(),
        metrics: per_step[0].clone(),
        steps: per_step,
    }
}

/// The forecaster of the fold whose first test date is `first`: fitted (scalers, early stopping
/// and interval calibration included) on every member's rows dated before `first` and nothing
/// else.
pub fn fit_fold(
    members: &[TrainingSeries],
    settings: &Settings,
    first: NaiveDate,
    runtime: &Runtime,
    on_epoch: impl FnMut(&EpochReport),
) -> crate::error::Result<Trained> {
    let histories: Vec<Series> =
        members.iter().map(|m| m.series.head(m.series.dates.partition_point(|d| *d < first))).collect();
    let panel: Vec<TrainingSeries> =
        members.iter().zip(&histories).map(|(m, h)| TrainingSeries { series: h, ..m.clone() }).collect();
    fit(&panel, settings, runtime, on_epoch)
}

/// Scores fold `k`'s forecaster on every test day (step-1 target dated `first ..= last`) of each
/// series it was trained on, beside the baselines: the days, and each series' coverages.
fn score(
    members: &[TrainingSeries],
    trained: &Trained,
    k: usize,
    (first, last): (NaiveDate, NaiveDate),
    settings: &Settings,
    runtime: &Runtime,
) -> crate::error::Result<(Vec<DayForecast>, Vec<Vec<Coverage>>)> {
    let spec = spec(settings);
    let Trained { forecaster, validation_forecasts, .. } = trained;
    let (mut days, mut coverages) = (Vec::new(), Vec::new());
    for (entry, validation) in forecaster.series.iter().zip(validation_forecasts) {
        let Some(m) = members.iter().find(|m| m.id == entry.id) else { continue };
        let series = m.series;
        let test_days: Vec<usize> = (0..spec.windows_with_targets(series.len()))
            .map(|j| spec.target_day(j))
            .filter(|&d| (first..=last).contains(&series.dates[d]))
            .collect();
        let Some(&first_test_day) = test_days.first() else { continue };
        let steps = forecaster
            .prepare(series, &entry.scaler, m.source.csv, m.source.csv)?
            .score(&test_days, runtime)?;
        let baselines = IntervalBaselines::new(&series.close, &settings.levels)
            .with_garch(first_test_day)
            .with_constant(validation);
        let history = &series.close[..first_test_day];
        let scales = (naive_mae(history), relative_naive_mae(history));
        days.extend(
            steps.iter().flat_map(|s| {
                step_days(&entry.id, series, s, k + 1, scales, &forecaster.intervals, &baselines)
            }),
        );
        coverages.push(coverage(&steps, &forecaster.intervals));
    }
    Ok((days, coverages))
}

/// Metrics over every test day of `parts` (sorted by fold, then series): per fold, pooled (on
/// rebased closes for a watchlist) and, for a watchlist, per series.
fn summarise(parts: &[Part], scoring: &Scoring) -> Backtest {
    let mut folds = Vec::new();
    for k in 0..scoring.folds {
        let mine: Vec<&Part> = parts.iter().filter(|p| p.fold() == k).collect();
        if !mine.is_empty() {
            folds.push(fold_record(&mine, scoring));
        }
    }
    let days: Vec<DayForecast> = parts.iter().flat_map(|p| p.days.iter().cloned()).collect();
    let coverages: Vec<Vec<Coverage>> = parts.iter().flat_map(|p| p.coverages.iter().cloned()).collect();
    let steps = per_step_metrics(&days, scoring.horizon, scoring.watchlist);
    let pooled: Vec<DayForecast> =
        if scoring.watchlist { days.iter().map(DayForecast::rebased).collect() } else { days.clone() };
    let intervals = interval_scores_by_step(&pooled, scoring);
    let mut ids: Vec<&str> = Vec::new();
    for d in &days {
        if !ids.contains(&d.series.as_str()) {
            ids.push(&d.series);
        }
    }
    let series = if scoring.watchlist {
        ids.iter()
            .map(|id| {
                let mine: Vec<DayForecast> = days.iter().filter(|d| d.series == *id).cloned().collect();
                SeriesBacktest {
                    id: id.to_string(),
                    days: mine.iter().filter(|d| d.step == 1).count(),
                    summary: per_step_metrics(&mine, 1, false).swap_remove(0),
                    intervals: interval_scores_by_step(&mine, scoring),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Backtest {
        folds,
        summary: steps[0].clone(),
        steps,
        coverage: pool(&coverages),
        distribution: scoring.distribution,
        levels: scoring.levels.clone(),
        intervals,
        series,
        local: None,
        days,
    }
}

/// Every step's interval scores over `days`.
fn interval_scores_by_step(days: &[DayForecast], scoring: &Scoring) -> Vec<StepIntervalScores> {
    (1..=scoring.horizon)
        .map(|step| interval_scores(days, step, &scoring.levels, scoring.distribution))
        .collect()
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
    // The methods (indices into METHODS) scored on every day.
    let present: Vec<usize> =
        (0..METHODS.len()).filter(|&m| mine.iter().all(|d| d.intervals.len() > m)).collect();
    let methods: Vec<MethodScores> = present
        .iter()
        .map(|&m| {
            let name = METHODS[m];
            let predictions: Vec<DayPrediction> = mine.iter().map(|d| d.intervals[m].clone()).collect();
            // The constant band's normal only gives it quantiles; a squared-error model's
            // intervals are the constant band.
            let likelihood = match name {
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
    let significance = interval_tests(&mine, levels, step, &present);
    StepIntervalScores { step, days: mine.len(), naive_mae, methods, significance }
}

/// The model's interval score against each other method in `present` (indices into [`METHODS`]
/// of the methods scored on every one of `days`; the model is 0) at each level, the days pooled
/// by date.
fn interval_tests(
    days: &[&DayForecast],
    levels: &[f64],
    step: usize,
    present: &[usize],
) -> Vec<IntervalTest> {
    if present.first() != Some(&0) {
        return Vec::new();
    }
    let dates: Vec<&str> = days.iter().map(|d| d.date.as_str()).collect();
    let winklers = |m: usize, l: usize, level: f64| -> Vec<f64> {
        days.iter()
            .map(|d| {
                let (lower, upper) = d.intervals[m].bounds(d.naive, l);
                winkler(lower, upper, d.actual, level)
            })
            .collect()
    };
    let mut tests = Vec::new();
    for (l, &level) in levels.iter().enumerate() {
        let model = winklers(0, l, level);
        for &m in &present[1..] {
            let test = interval_significance(&model, &winklers(m, l, level), &dates, step);
            tests.push(IntervalTest { level, baseline: METHODS[m].to_string(), test });
        }
    }
    tests
}

/// Metrics of each step 1…`horizon` over `days` (rebased to 100 at each origin when `rebase`).
fn per_step_metrics(days: &[DayForecast], horizon: usize, rebase: bool) -> Vec<SpanMetrics> {
    (1..=horizon)
        .map(|step| {
            let mine: Vec<DayForecast> = days
                .iter()
                .filter(|d| d.step == step)
                .map(|d| if rebase { d.rebased() } else { d.clone() })
                .collect();
            span_metrics(step, &mine)
        })
        .collect()
}

fn spec(settings: &Settings) -> WindowSpec {
    WindowSpec { seq_len: settings.seq_len, horizon: settings.horizon }
}

/// One step's forecasts as days, with the point and interval baselines from the same origins;
/// `intervals` are the fold model's calibrated intervals.
fn step_days(
    id: &str,
    series: &Series,
    s: &StepForecasts,
    fold: usize,
    (scale, relative_scale): (f64, f64),
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
                series: id.to_string(),
                date: s.dates[i].to_string(),
                fold,
                step: s.step,
                actual: s.actual[i],
                forecast: s.forecast[i],
                naive: s.previous[i],
                drift: drift[i],
                moving_average: moving[i],
                ranking_volatility: baselines.ewma_volatility(origins[i]),
                scale,
                relative_scale,
                intervals: predictions,
            }
        })
        .collect()
}

/// Metrics of the model and the baselines over `days`, MASE with each day's own scale.
fn span_metrics(step: usize, days: &[DayForecast]) -> SpanMetrics {
    let column = |f: fn(&DayForecast) -> f64| days.iter().map(f).collect::<Vec<f64>>();
    let (actual, naive) = (column(|d| d.actual), column(|d| d.naive));
    let score = |forecast: &[f64]| {
        let mut m = point_metrics(&naive, forecast, &actual, 1.0);
        // MASE with each day's own fold scale: the mean of |error| / scale.
        let scaled: f64 =
            forecast.iter().zip(&actual).zip(days).map(|((f, a), d)| (f - a).abs() / d.scale).sum();
        m.mase = scaled / days.len().max(1) as f64;
        m
    };
    let forecast = column(|d| d.forecast);
    let (drift, moving_average) = (column(|d| d.drift), column(|d| d.moving_average));
    let model = score(&forecast);
    let naive_metrics = score(&naive);
    let dates: Vec<&str> = days.iter().map(|d| d.date.as_str()).collect();
    let model_errors = errors(&forecast, &actual);
    let against =
        |baseline: &[f64]| SkillTests::of_errors(&model_errors, &errors(baseline, &actual), &dates, step);
    SpanMetrics {
        step,
        skill: skill(model.rmse, naive_metrics.rmse),
        model,
        naive: naive_metrics,
        drift: score(&drift),
        moving_average: score(&moving_average),
        significance: BaselineTests {
            naive: against(&naive),
            drift: against(&drift),
            moving_average: against(&moving_average),
        },
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
