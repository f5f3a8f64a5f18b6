//! Scores of interval and distribution forecasts over a span of days, for the model and every
//! interval baseline alike.
//!
//! Each method predicts, for each day, the log return r = log(actual / origin) from the forecast
//! origin's close: a location M, a scale S (and degrees of freedom ν for a t), and a half-width
//! h_α per level in log-return space, so the interval is [origin·e^{M−h_α}, origin·e^{M+h_α}] and
//! the τ-quantile is origin·e^{M + S·F⁻¹(τ)}. With y the actual close, L and U the bounds,
//! α = 1 − level and n days:
//!
//! ```text
//! coverage              share of days with L ≤ y ≤ U
//! low/high-vol coverage the same over the fifth of days with the lowest / highest EWMA volatility
//!                       known at the origin (the day before a one-step target)
//! relative width        mean of (U − L) / origin
//! interval score        mean of (U − L) + (2/α)(L − y)·[y < L] + (2/α)(y − U)·[y > U]   (Winkler)
//! pinball loss          mean over days and τ ∈ {0.05 0.1 0.25 0.5 0.75 0.9 0.95} of
//!                       (y − q_τ)·τ if y ≥ q_τ, else (q_τ − y)·(1 − τ)
//! log-likelihood        mean of log p(r) under the predicted distribution of r (nats)
//! ```
//!
//! Interval score and pinball loss are in price units; the report also gives them divided by the
//! naive forecast's mean absolute error over the same days, which makes files comparable.

use crate::distribution::LocationScale;
use crate::metrics::by_date;
use crate::significance::{significance, Loss, Significance, Verdict, DEFAULT_ALPHA};
use serde::{Deserialize, Serialize};

/// The quantiles the pinball loss averages over.
pub const PINBALL_QUANTILES: [f64; 7] = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95];

/// Share of days in each of the calm and the turbulent groups.
pub const VOLATILITY_FIFTH: f64 = 0.2;

/// One method's prediction of one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayPrediction {
    /// The predictive distribution of the log return from the origin.
    pub distribution: LocationScale,
    /// Half-width of the interval around `distribution.mu`, per level, in log-return space.
    #[serde(with = "crate::exact_float::vec")]
    pub half_widths: Vec<f64>,
}

impl DayPrediction {
    /// The bounds of level `l` (an index into the levels) around the origin close.
    pub fn bounds(&self, origin: f64, l: usize) -> (f64, f64) {
        let (mu, h) = (self.distribution.mu, self.half_widths[l]);
        (origin * (mu - h).exp(), origin * (mu + h).exp())
    }

    /// The `tau`-quantile of the close.
    pub fn quantile(&self, origin: f64, tau: f64) -> f64 {
        origin * self.distribution.quantile(tau).exp()
    }
}

/// One day as scored: origin close, actual close, and the volatility it is ranked by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredDay {
    pub origin: f64,
    pub actual: f64,
    /// The EWMA volatility known at the origin.
    pub ranking_volatility: f64,
}

/// Scores of one level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LevelScores {
    pub level: f64,
    pub coverage: f64,
    /// Coverage over the calmest fifth of days.
    pub coverage_low_vol: f64,
    /// Coverage over the most volatile fifth of days.
    pub coverage_high_vol: f64,
    /// Mean of (upper − lower) / origin close.
    pub relative_width: f64,
    /// Mean Winkler interval score, in price units.
    pub interval_score: f64,
}

/// Scores of one method over one span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodScores {
    pub method: String,
    pub levels: Vec<LevelScores>,
    /// Mean pinball loss over [`PINBALL_QUANTILES`], in price units.
    pub pinball: f64,
    /// Mean log-likelihood of the log returns (nats); absent for a method without a distribution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_likelihood: Option<f64>,
}

/// Whether the model's interval scores (`model`, one a forecast) differ for real from a
/// baseline's (`baseline`, on the same forecasts) — the forecasts dated `dates` (pooled by date,
/// see [`by_date`]), `horizon` steps ahead; the skill is 1 − mean model / mean baseline.
pub fn interval_significance<K: Ord + Copy>(
    model: &[f64],
    baseline: &[f64],
    dates: &[K],
    horizon: usize,
) -> Significance {
    let (model, baseline) = (by_date(dates, model), by_date(dates, baseline));
    significance(&model, &baseline, Loss::IntervalScore, horizon)
}

/// The Winkler interval score of one day at level `level`.
pub fn winkler(lower: f64, upper: f64, actual: f64, level: f64) -> f64 {
    let alpha = 1.0 - level;
    let below = if actual < lower { 2.0 / alpha * (lower - actual) } else { 0.0 };
    let above = if actual > upper { 2.0 / alpha * (actual - upper) } else { 0.0 };
    upper - lower + below + above
}

/// The pinball (quantile) loss of quantile forecast `q` at `tau`.
pub fn pinball(q: f64, actual: f64, tau: f64) -> f64 {
    if actual >= q {
        (actual - q) * tau
    } else {
        (q - actual) * (1.0 - tau)
    }
}

/// Indices of the calmest and the most volatile [`VOLATILITY_FIFTH`] of `days` by their ranking
/// volatility (ties broken by position, so the split is deterministic).
pub fn volatility_fifths(days: &[ScoredDay]) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..days.len()).collect();
    order.sort_by(|&a, &b| days[a].ranking_volatility.total_cmp(&days[b].ranking_volatility).then(a.cmp(&b)));
    let fifth = ((days.len() as f64) * VOLATILITY_FIFTH).round() as usize;
    let high = order[days.len() - fifth..].to_vec();
    order.truncate(fifth);
    (order, high)
}

/// Scores `predictions` (one per day of `days`, the same length) at `levels`. `likelihood` says whether the
/// method's distribution is a real forecast (false for the constant band, whose distribution only
/// gives its quantiles).
pub fn score(
    method: &str,
    days: &[ScoredDay],
    predictions: &[DayPrediction],
    levels: &[f64],
    likelihood: bool,
) -> MethodScores {
    let n = days.len().max(1) as f64;
    let (low, high) = volatility_fifths(days);
    let levels = levels
        .iter()
        .enumerate()
        .map(|(l, &level)| {
            let inside: Vec<bool> = days
                .iter()
                .zip(predictions)
                .map(|(d, p)| {
                    let (lower, upper) = p.bounds(d.origin, l);
                    lower <= d.actual && d.actual <= upper
                })
                .collect();
            let share = |group: &[usize]| {
                group.iter().filter(|&&i| inside[i]).count() as f64 / group.len().max(1) as f64
            };
            let (mut width, mut score) = (0.0, 0.0);
            for (d, p) in days.iter().zip(predictions) {
                let (lower, upper) = p.bounds(d.origin, l);
                width += (upper - lower) / d.origin;
                score += winkler(lower, upper, d.actual, level);
            }
            LevelScores {
                level,
                coverage: inside.iter().filter(|&&x| x).count() as f64 / n,
                coverage_low_vol: share(&low),
                coverage_high_vol: share(&high),
                relative_width: width / n,
                interval_score: score / n,
            }
        })
        .collect();
    let mut pinball_sum = 0.0;
    for (d, p) in days.iter().zip(predictions) {
        for tau in PINBALL_QUANTILES {
            pinball_sum += pinball(p.quantile(d.origin, tau), d.actual, tau);
        }
    }
    let log_likelihood = likelihood.then(|| {
        days.iter()
            .zip(predictions)
            .map(|(d, p)| p.distribution.log_pdf((d.actual / d.origin).ln()))
            .sum::<f64>()
            / n
    });
    MethodScores {
        method: method.to_string(),
        levels,
        pinball: pinball_sum / (n * PINBALL_QUANTILES.len() as f64),
        log_likelihood,
    }
}

/// How much lower `model`'s interval score is than `baseline`'s at level index `l` (a share:
/// 0.031 is 3.1 % better; negative is worse).
pub fn interval_skill(model: &MethodScores, baseline: &MethodScores, l: usize) -> f64 {
    1.0 - model.levels[l].interval_score / baseline.levels[l].interval_score
}

/// One plain line per level: is the model's interval better than `baseline`'s, and is the
/// difference real? `test(level)`: the test of the two at that level, when there is one.
pub fn verdicts<'a>(
    model: &MethodScores,
    baseline: &MethodScores,
    test: impl Fn(f64) -> Option<&'a Significance>,
) -> Vec<String> {
    (0..model.levels.len())
        .map(|l| {
            let level = model.levels[l].level;
            let comparison = comparison(interval_skill(model, baseline, l), &baseline.method, test(level));
            format!("intervals at {:.0}%: {comparison}", level * 100.0)
        })
        .collect()
}

/// "better than X by 3.1% interval score" or "worse than X by 3.1% interval score: use X", for an
/// interval-score `skill` (see [`interval_skill`]) against the method named `baseline`; with its
/// `test`, whether the difference is real ("…, not significant (DM p = 0.41; …)"). Only a
/// significant gain keeps the model's intervals.
pub fn comparison(skill: f64, baseline: &str, test: Option<&Significance>) -> String {
    let name = display_name(baseline);
    let tested = test.map(|t| format!(", {}", t.describe(DEFAULT_ALPHA))).unwrap_or_default();
    let real = test.is_none_or(|t| t.verdict(DEFAULT_ALPHA) == Verdict::SignificantlyBetter);
    if skill > 0.0 && real {
        format!("better than {name} by {:.1}% interval score{tested}", skill * 100.0)
    } else if skill > 0.0 {
        format!(
            "better than {name} by {:.1}% interval score{tested}: no evidence of a real gain",
            skill * 100.0
        )
    } else {
        format!("worse than {name} by {:.1}% interval score{tested}: use {name}", -skill * 100.0)
    }
}

/// How a method is named in sentences.
pub fn display_name(method: &str) -> &str {
    match method {
        "garch-t" => "GARCH(1,1)-t",
        "ewma" => "EWMA",
        "constant" => "the constant band",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winkler_and_pinball_against_hand_computed_values() {
        // Level 0.8 → α = 0.2, penalty 2/α = 10 per unit outside.
        assert!((winkler(90.0, 110.0, 100.0, 0.8) - 20.0).abs() < 1e-12);
        assert!((winkler(90.0, 110.0, 88.0, 0.8) - (20.0 + 20.0)).abs() < 1e-12);
        assert!((winkler(90.0, 110.0, 111.0, 0.8) - (20.0 + 10.0)).abs() < 1e-12);
        assert!((pinball(100.0, 104.0, 0.9) - 3.6).abs() < 1e-12);
        assert!((pinball(100.0, 96.0, 0.9) - 0.4).abs() < 1e-12);
    }

    #[test]
    fn coverage_splits_calm_and_turbulent_days() {
        // Ten days; the five volatile ones (ranking 10…14) miss a narrow band, the calm ones hit.
        let days: Vec<ScoredDay> = (0..10)
            .map(|i| ScoredDay {
                origin: 100.0,
                actual: if i < 5 { 100.1 } else { 105.0 },
                ranking_volatility: i as f64,
            })
            .collect();
        let band = DayPrediction {
            distribution: LocationScale { mu: 0.0, sigma: 0.01, nu: None },
            half_widths: vec![0.01],
        };
        let s = score("x", &days, &vec![band.clone(); 10], &[0.8], true);
        let l = s.levels[0];
        assert_eq!((l.coverage, l.coverage_low_vol, l.coverage_high_vol), (0.5, 1.0, 0.0));
        assert!((l.relative_width - (0.01f64.exp() - (-0.01f64).exp())).abs() < 1e-12);
        assert!(s.log_likelihood.is_some() && s.pinball > 0.0);
        assert_eq!(score("x", &days, &vec![band; 10], &[0.8], false).log_likelihood, None);
    }

    #[test]
    fn the_fifths_are_a_fifth_each_and_never_overlap() {
        let days: Vec<ScoredDay> = (0..23)
            .map(|i| ScoredDay { origin: 1.0, actual: 1.0, ranking_volatility: ((i * 7) % 23) as f64 })
            .collect();
        let (low, high) = volatility_fifths(&days);
        assert_eq!((low.len(), high.len()), (5, 5));
        assert!(low.iter().all(|i| days[*i].ranking_volatility < 5.0));
        assert!(high.iter().all(|i| days[*i].ranking_volatility >= 18.0));
    }

    #[test]
    fn verdicts_say_better_or_worse_plainly() {
        let scores = |method: &str, score: f64| MethodScores {
            method: method.into(),
            levels: vec![LevelScores {
                level: 0.8,
                coverage: 0.8,
                coverage_low_vol: 0.8,
                coverage_high_vol: 0.8,
                relative_width: 0.1,
                interval_score: score,
            }],
            pinball: 0.0,
            log_likelihood: None,
        };
        let garch = scores("garch-t", 10.0);
        assert_eq!(
            verdicts(&scores("model", 9.69), &garch, |_| None),
            ["intervals at 80%: better than GARCH(1,1)-t by 3.1% interval score"]
        );
        assert_eq!(
            verdicts(&scores("model", 10.5), &garch, |_| None),
            ["intervals at 80%: worse than GARCH(1,1)-t by 5.0% interval score: use GARCH(1,1)-t"]
        );
        // With the test: a gain that is not significant is said to be no evidence.
        let noisy: Vec<f64> = (0..100).map(|i| 10.0 + 3.0 * (i as f64 * 2.1).sin()).collect();
        let slightly_better: Vec<f64> =
            noisy.iter().enumerate().map(|(i, v)| v - 0.31 + 4.0 * (i as f64 * 1.7).cos()).collect();
        let test = interval_significance(&slightly_better, &noisy, &(0..100).collect::<Vec<_>>(), 1);
        assert!(test.p_value > 0.05, "{test:?}");
        let line =
            verdicts(&scores("model", 9.69), &garch, |level| (level == 0.8).then_some(&test)).remove(0);
        assert!(
            line.starts_with(
                "intervals at 80%: better than GARCH(1,1)-t by 3.1% interval score, not significant (DM p = "
            ),
            "{line}"
        );
        assert!(line.ends_with(": no evidence of a real gain"), "{line}");
        let clear: Vec<f64> = noisy.iter().map(|v| v * 0.9).collect();
        let test = interval_significance(&clear, &noisy, &(0..100).collect::<Vec<_>>(), 1);
        let line = verdicts(&scores("model", 9.69), &garch, |_| Some(&test)).remove(0);
        assert!(
            line.contains(
                "by 3.1% interval score, significantly better (DM p < 0.001; skill 95% CI +10.0% ... +10.0%)"
            ),
            "{line}"
        );
    }
}
