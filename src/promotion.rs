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
use crate::metrics::errors;
use crate::runtime::Runtime;
use crate::significance::{losses, significance, Loss, Significance, DEFAULT_ALPHA};
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
    /// `--min-significance`: the p-value each difference had to be below (absent: not asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_significance: Option<f64>,
    /// The new model against the metric's baseline, and against the existing model, on the same
    /// days (Diebold–Mariano test and skill interval of the metric's loss).
    pub significance: GateTests,
    pub reason: String,
}

/// The gate's two comparisons, each tested.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GateTests {
    pub baseline: Significance,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing: Option<Significance>,
}

/// The interval scores an `interval-score` gate compared.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IntervalScores {
    pub level: f64,
    pub new: f64,
    pub ewma: f64,
    pub existing: Option<f64>,
}

/// Each validation day's loss under a metric (squared error, or interval score), in date order.
pub type DayLosses = Vec<f64>;

/// The existing forecaster's loss under `metric` on each of the new model's validation days of
/// `series`. A model without an interval at the new model's first level cannot be scored for
/// `interval-score`, nor one that cannot forecast every one of those days.
pub fn existing_losses(
    existing: &Forecaster,
    trained: &Trained,
    series: &Series,
    (csv, model): (&Path, &Path),
    runtime: &Runtime,
    metric: PromoteMetric,
) -> Result<DayLosses> {
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
    let days = prepared
        .days_of(dates)
        .ok_or_else(|| crate::error::Error::Usage("it cannot forecast every validation day".into()))?;
    let steps = prepared.score(&days, runtime)?;
    if steps[0].actual.len() != dates.len() {
        return Err(crate::error::Error::Usage("it cannot forecast every validation day".into()));
    }
    match metric {
        PromoteMetric::Rmse => Ok(squared_errors(&steps[0].forecast, &steps[0].actual)),
        PromoteMetric::IntervalScore => {
            let level = first_level(trained);
            interval_scores(&steps[0], &existing.intervals, level).ok_or_else(|| {
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

fn squared_errors(forecast: &[f64], actual: &[f64]) -> DayLosses {
    losses(&errors(forecast, actual), Loss::Squared)
}

/// Each day's interval score of one step's forecasts with the band at `level` of `intervals`.
fn interval_scores(step: &StepForecasts, intervals: &[Interval], level: f64) -> Option<DayLosses> {
    let interval = intervals.iter().find(|i| i.level == level)?;
    let q = *interval.half_widths.get(step.step - 1)?;
    Some(
        (0..step.actual.len())
            .map(|i| {
                let (lower, upper) = band(step.forecast[i], q, step.scale(i));
                winkler(lower, upper, step.actual[i], level)
            })
            .collect(),
    )
}

/// Each day's interval score of the EWMA band at `level` on the days of `step` (step 1).
fn ewma_interval_scores(step: &StepForecasts, series: &Series, level: f64) -> DayLosses {
    let baselines = IntervalBaselines::new(&series.close, &[level]);
    step.days
        .iter()
        .zip(&step.actual)
        .map(|(&day, &actual)| {
            let origin = day - step.step;
            let (lower, upper) = baselines.ewma(origin, step.step).bounds(series.close[origin], 0);
            winkler(lower, upper, actual, level)
        })
        .collect()
}

/// The metric's score from the day losses: RMSE, or the mean interval score.
fn score_of(losses: &[f64], metric: PromoteMetric) -> f64 {
    let mean = losses.iter().sum::<f64>() / losses.len().max(1) as f64;
    match metric {
        PromoteMetric::Rmse => mean.sqrt(),
        PromoteMetric::IntervalScore => mean,
    }
}

/// The test of the new model's day losses against another's on the same days.
fn test(new: &[f64], other: &[f64], metric: PromoteMetric) -> Significance {
    let loss = match metric {
        PromoteMetric::Rmse => Loss::Squared,
        PromoteMetric::IntervalScore => Loss::IntervalScore,
    };
    significance(new, other, loss, 1)
}

/// Decides whether `trained` replaces the existing model under `metric`: it must beat the
/// metric's baseline, and the existing model when there is one that could be scored
/// (`existing`, its day losses from [`existing_losses`]), on the same validation days of
/// `series`; with `min_significance` P, each by a Diebold–Mariano p-value below P. A metric that
/// is not a number never promotes.
pub fn decide(
    trained: &Trained,
    series: &Series,
    existing: Option<&[f64]>,
    metric: PromoteMetric,
    min_significance: Option<f64>,
) -> Promotion {
    let step = &trained.validation_forecasts[0][0];
    let v = &trained.forecaster.validation;
    let (new_rmse, naive_rmse) = (v.metrics.model.rmse, v.metrics.naive.rmse);
    let (new_losses, baseline_losses, level) = match metric {
        PromoteMetric::Rmse => {
            (squared_errors(&step.forecast, &step.actual), squared_errors(&step.previous, &step.actual), None)
        }
        PromoteMetric::IntervalScore => {
            let level = first_level(trained);
            let new = interval_scores(step, &trained.forecaster.intervals, level)
                .unwrap_or_else(|| vec![f64::NAN; step.actual.len()]);
            (new, ewma_interval_scores(step, series, level), Some(level))
        }
    };
    let span = format!("{} → {}", v.start, v.end);
    let Judgement { promoted, reason, tests, scores: (new, baseline, old) } =
        judge(&new_losses, &baseline_losses, existing, (metric, min_significance), &span);
    let interval_scores = level.map(|level| IntervalScores { level, new, ewma: baseline, existing: old });
    let existing_rmse = old.filter(|_| metric == PromoteMetric::Rmse);
    Promotion {
        promoted,
        metric,
        new_rmse,
        naive_rmse,
        existing_rmse,
        interval_scores,
        min_significance,
        significance: tests,
        reason,
    }
}

/// What [`judge`] decided.
#[derive(Debug, Clone)]
struct Judgement {
    promoted: bool,
    reason: String,
    tests: GateTests,
    /// The metric's score of the new model, the baseline and the existing model.
    scores: (f64, f64, Option<f64>),
}

/// The gate on day losses under `metric` over the same days (`span` names them): the new model
/// must have a lower score than the baseline and than the existing model (when there is one),
/// and with `min_significance` P each difference must have a Diebold–Mariano p-value below P.
fn judge(
    new_losses: &[f64],
    baseline_losses: &[f64],
    existing: Option<&[f64]>,
    (metric, min_significance): (PromoteMetric, Option<f64>),
    span: &str,
) -> Judgement {
    let (new, baseline) = (score_of(new_losses, metric), score_of(baseline_losses, metric));
    let old = existing.map(|losses| score_of(losses, metric));
    let tests = GateTests {
        baseline: test(new_losses, baseline_losses, metric),
        existing: existing.map(|losses| test(new_losses, losses, metric)),
    };
    let (name, base) = (metric.name(), metric.baseline());
    // The threshold a test failed to get under, if it did (a p-value that is not a number fails).
    let not_real = |t: &Significance| min_significance.filter(|&p| t.p_value.is_nan() || t.p_value >= p);
    let scores = (new, baseline, old);
    let refused = |reason: String| Judgement { promoted: false, reason, tests, scores };
    if !beats(new, baseline) {
        return refused(format!(
            "the new model does not beat {base} on {span} ({name} {new:.4} vs {base} {baseline:.4})"
        ));
    }
    if let Some(old) = old.filter(|&old| !beats(new, old)) {
        return refused(format!(
            "the new model does not beat the existing one on {span} ({name} {new:.4} vs {old:.4})"
        ));
    }
    if let Some(p) = not_real(&tests.baseline) {
        return refused(format!(
            "the new model beats {base} on {span} ({name} {new:.4} vs {baseline:.4}) but not at --min-significance {p}: {}",
            tests.baseline.describe(p)
        ));
    }
    if let (Some(test), Some(old)) = (tests.existing, old) {
        if let Some(p) = not_real(&test) {
            return refused(format!(
                "the new model beats the existing one on {span} ({name} {new:.4} vs {old:.4}) but not at --min-significance {p}: {}",
                test.describe(p)
            ));
        }
    }
    let against = old.map(|old| format!(" and the existing model ({old:.4})")).unwrap_or_default();
    let tested = match min_significance {
        Some(p) => format!(", each with DM p < {p}"),
        None => format!("; against {base}: {}", tests.baseline.describe(DEFAULT_ALPHA)),
    };
    Judgement {
        promoted: true,
        reason: format!(
            "the new model ({name} {new:.4}) beats {base} ({baseline:.4}){against} on {span}{tested}"
        ),
        tests,
        scores,
    }
}

/// True when `score` is lower than `other`; false when either is not a number.
fn beats(score: f64, other: f64) -> bool {
    score < other
}

#[cfg(test)]
mod tests {
    use super::*;

    /// n standard normal draws (Box–Muller on a fixed ChaCha8 stream).
    fn normals(n: usize, seed: u64) -> Vec<f64> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
                (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
            })
            .collect()
    }

    /// Naive's errors, and a model's that are naive's shrunk by `shrink` plus `noise` × fresh noise.
    fn errors(shrink: f64, noise: f64) -> (Vec<f64>, Vec<f64>) {
        let (naive, fresh) = (normals(250, 1), normals(250, 2));
        let model = naive.iter().zip(&fresh).map(|(e, z)| (1.0 - shrink) * e + noise * z).collect();
        (model, naive)
    }

    const RMSE: PromoteMetric = PromoteMetric::Rmse;

    #[test]
    fn a_small_win_promotes_without_the_flag_and_not_with_it() {
        let (model, naive) = errors(0.003, 0.02);
        let (model, naive) = (losses(&model, Loss::Squared), losses(&naive, Loss::Squared));
        assert!(score_of(&model, RMSE) < score_of(&naive, RMSE), "the case must be a win");
        let plain = judge(&model, &naive, None, (RMSE, None), "the span");
        assert!(plain.promoted, "{}", plain.reason);
        assert!(plain.tests.baseline.p_value > 0.05, "{:?}", plain.tests.baseline);
        let gated = judge(&model, &naive, None, (RMSE, Some(0.05)), "the span");
        assert!(!gated.promoted);
        assert!(gated.reason.contains("beats naive") && gated.reason.contains("--min-significance 0.05"));
        assert!(gated.reason.contains("not significant (DM p = "), "{}", gated.reason);
    }

    #[test]
    fn a_real_win_promotes_with_the_flag() {
        let (model, naive) = errors(0.3, 0.05);
        let gated = judge(
            &losses(&model, Loss::Squared),
            &losses(&naive, Loss::Squared),
            None,
            (RMSE, Some(0.01)),
            "the span",
        );
        assert!(gated.promoted, "{}", gated.reason);
        assert!(gated.reason.ends_with("each with DM p < 0.01"), "{}", gated.reason);
        assert!(gated.tests.baseline.p_value < 1e-6);
    }

    #[test]
    fn the_existing_model_must_be_beaten_significantly_too() {
        let (model, naive) = errors(0.3, 0.05);
        let (model, naive) = (losses(&model, Loss::Squared), losses(&naive, Loss::Squared));
        // The existing model: as good as the new one, give or take some noise.
        // Its mean loss is 1 % higher, exactly; its day losses scatter by 30 % of that mean.
        let (z, mean) = (normals(250, 3), model.iter().sum::<f64>() / 250.0);
        let z_mean = z.iter().sum::<f64>() / 250.0;
        let existing: Vec<f64> =
            model.iter().zip(&z).map(|(l, z)| l + mean * (0.01 + 0.3 * (z - z_mean))).collect();
        assert!(score_of(&model, RMSE) < score_of(&existing, RMSE), "the case must be a win");
        let plain = judge(&model, &naive, Some(&existing), (RMSE, None), "the span");
        assert!(plain.promoted, "{}", plain.reason);
        let against_existing = plain.tests.existing.unwrap();
        assert!(against_existing.p_value > 0.05 && plain.tests.baseline.p_value < 1e-6, "{:?}", plain.tests);
        let gated = judge(&model, &naive, Some(&existing), (RMSE, Some(0.05)), "the span");
        assert!(!gated.promoted);
        assert!(gated.reason.starts_with("the new model beats the existing one"), "{}", gated.reason);
        assert!(gated.reason.contains("--min-significance 0.05"), "{}", gated.reason);
    }

    #[test]
    fn a_loss_that_is_not_a_number_never_promotes() {
        let (model, naive) = errors(0.3, 0.05);
        let mut model = losses(&model, Loss::Squared);
        model[7] = f64::NAN;
        let judged = judge(&model, &losses(&naive, Loss::Squared), None, (RMSE, None), "the span");
        assert!(!judged.promoted, "{}", judged.reason);
    }
}
