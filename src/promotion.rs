//! The retraining gate of `train --promote-if-better`: a new forecaster replaces the model file
//! only if it beats a baseline and the existing model on the same latest days — the new model's
//! validation span — each scored with its own scaler and window length.
//!
//! The metric is chosen with `--promote-metric`:
//! - `rmse` (the default): step-1 RMSE; the baseline is naive ("tomorrow = today");
//! - `interval-score`: the step-1 interval (Winkler) score at the new model's first level; the
//!   baseline is the EWMA (RiskMetrics) band from the same origins. The new model's intervals were
//!   calibrated on these very days, so its coverage there is near the level by construction; the
//!   score still rewards the narrower band, which is what a better volatility forecast gives.

use crate::data::Series;
use crate::error::Result;
use crate::forecaster::{Forecaster, Trained};
use crate::inference::StepForecasts;
use crate::interval_baselines::IntervalBaselines;
use crate::interval_metrics::winkler;
use crate::intervals::{band, Interval};
use crate::metrics::rmse;
use crate::runtime::Runtime;
use serde::Serialize;
use std::path::Path;

/// What the gate compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromoteMetric {
    #[default]
    Rmse,
    IntervalScore,
}

impl PromoteMetric {
    /// The names `--promote-metric` takes.
    pub const NAMES: [&'static str; 2] = ["rmse", "interval-score"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "rmse" => Some(PromoteMetric::Rmse),
            "interval-score" => Some(PromoteMetric::IntervalScore),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// What the new model has to beat besides the existing one.
    fn baseline(self) -> &'static str {
        match self {
            PromoteMetric::Rmse => "naive",
            PromoteMetric::IntervalScore => "the EWMA band",
        }
    }
}

/// What the gate decided, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Promotion {
    pub promoted: bool,
    pub metric: PromoteMetric,
    /// RMSE of the new model, naive and (when it could be scored) the existing model, all on the
    /// new model's validation days.
    pub new_rmse: f64,
    pub naive_rmse: f64,
    pub existing_rmse: Option<f64>,
    /// With `interval-score`: the new model's, the EWMA band's and the existing model's interval
    /// score on the same days, at `level`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_scores: Option<IntervalScores>,
    pub reason: String,
}

/// The interval scores an `interval-score` gate compared.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IntervalScores {
    pub level: f64,
    pub new: f64,
    pub ewma: f64,
    pub existing: Option<f64>,
}

/// The existing forecaster's score under `metric` on the new model's validation days of
/// `series`. A model without an interval at the new model's first level cannot be scored for
/// `interval-score`.
pub fn existing_score(
    existing: &Forecaster,
    trained: &Trained,
    series: &Series,
    (csv, model): (&Path, &Path),
    runtime: &Runtime,
    metric: PromoteMetric,
) -> Result<f64> {
    // The existing model's scaler of this series (a model of one series: its only one).
    let id = &trained.forecaster.series[0].id;
    let scaler = match existing.series.as_slice() {
        [one] => &one.scaler,
        _ => {
            &existing
                .entry(id)
                .ok_or_else(|| crate::error::Error::Internal(format!("it has no series {id}")))?
                .scaler
        }
    };
    let prepared = existing.prepare(series, scaler, csv, model)?;
    let dates = &trained.validation_forecasts[0][0].dates;
    let days = prepared.days_of(dates).unwrap_or_default();
    let steps = prepared.score(&days, runtime)?;
    match metric {
        PromoteMetric::Rmse => Ok(rmse(&steps[0].forecast, &steps[0].actual)),
        PromoteMetric::IntervalScore => {
            let level = first_level(trained);
            interval_score(&steps[0], &existing.intervals, level).ok_or_else(|| {
                crate::error::Error::Usage(format!("it has no {:.0}% interval to compare", level * 100.0))
            })
        }
    }
}

/// The new model's first interval level (0.9 when it has none, which cannot happen for a fitted
/// forecaster).
fn first_level(trained: &Trained) -> f64 {
    trained.forecaster.intervals.first().map_or(0.9, |i| i.level)
}

/// The mean interval score of one step's forecasts with the band at `level` of `intervals`.
fn interval_score(step: &StepForecasts, intervals: &[Interval], level: f64) -> Option<f64> {
    let interval = intervals.iter().find(|i| i.level == level)?;
    let q = *interval.half_widths.get(step.step - 1)?;
    let total: f64 = (0..step.actual.len())
        .map(|i| {
            let (lower, upper) = band(step.forecast[i], q, step.scale(i));
            winkler(lower, upper, step.actual[i], level)
        })
        .sum();
    Some(total / step.actual.len().max(1) as f64)
}

/// The EWMA band's mean interval score at `level` on the days of `step` (step 1).
fn ewma_interval_score(step: &StepForecasts, series: &Series, level: f64) -> f64 {
    let baselines = IntervalBaselines::new(&series.close, &[level]);
    let total: f64 = step
        .days
        .iter()
        .zip(&step.actual)
        .map(|(&day, &actual)| {
            let origin = day - step.step;
            let (lower, upper) = baselines.ewma(origin, step.step).bounds(series.close[origin], 0);
            winkler(lower, upper, actual, level)
        })
        .sum();
    total / step.days.len().max(1) as f64
}

/// Decides whether `trained` replaces the existing model under `metric`: it must beat the
/// metric's baseline, and the existing model when there is one that could be scored
/// (`existing`, from [`existing_score`]), on the same validation days of `series`. A metric that
/// is not a number never promotes.
pub fn decide(trained: &Trained, series: &Series, existing: Option<f64>, metric: PromoteMetric) -> Promotion {
    let v = &trained.forecaster.validation;
    let (new_rmse, naive_rmse) = (v.metrics.model.rmse, v.metrics.naive.rmse);
    let (new, baseline, interval_scores) = match metric {
        PromoteMetric::Rmse => (new_rmse, naive_rmse, None),
        PromoteMetric::IntervalScore => {
            let step = &trained.validation_forecasts[0][0];
            let level = first_level(trained);
            let new = interval_score(step, &trained.forecaster.intervals, level).unwrap_or(f64::NAN);
            let ewma = ewma_interval_score(step, series, level);
            (new, ewma, Some(IntervalScores { level, new, ewma, existing }))
        }
    };
    let span = format!("{} → {}", v.start, v.end);
    let (name, base) = (metric.name(), metric.baseline());
    let (promoted, reason) = if !beats(new, baseline) {
        (
            false,
            format!("the new model does not beat {base} on {span} ({name} {new:.4} vs {base} {baseline:.4})"),
        )
    } else if let Some(old) = existing.filter(|&old| !beats(new, old)) {
        (
            false,
            format!("the new model does not beat the existing one on {span} ({name} {new:.4} vs {old:.4})"),
        )
    } else {
        let against = existing.map(|old| format!(" and the existing model ({old:.4})")).unwrap_or_default();
        (true, format!("the new model ({name} {new:.4}) beats {base} ({baseline:.4}){against} on {span}"))
    };
    let existing_rmse = existing.filter(|_| metric == PromoteMetric::Rmse);
    Promotion { promoted, metric, new_rmse, naive_rmse, existing_rmse, interval_scores, reason }
}

/// True when `score` is lower than `other`; false when either is not a number.
fn beats(score: f64, other: f64) -> bool {
    score < other
}
