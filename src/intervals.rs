//! Split-conformal prediction intervals per horizon step, in log-return space, normalised by the
//! predicted scale.
//!
//! On a calibration span the model never trained on, each step's normalised residual
//! |log(actual / forecast)| / S is collected, where S is the scale the head predicted for that day's
//! log return (1 for a squared-error head, which makes this plain split conformal); the multiplier
//! at level α is the ⌈(n+1)·α⌉-th smallest of the n residuals (the finite-sample conformal quantile;
//! the largest residual when that rank exceeds n). A forecast close f with scale S then gets
//! [f·e^{−q·S}, f·e^{q·S}]: a band that breathes with the predicted volatility, with coverage that
//! holds whatever the true shape of the distribution. Calibration uses the validation span, which
//! early stopping also looked at, so coverage can be slightly optimistic; `backtest` measures it on
//! spans no fitted thing has seen.

use crate::inference::StepForecasts;
use serde::{Deserialize, Serialize};

/// Conformal multipliers per step at one level. Stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub level: f64,
    /// One per step: the half-width in log-return space, in units of the step's predicted scale
    /// (for a squared-error head, whose scale is 1, the half-width itself).
    pub half_widths: Vec<f64>,
}

/// The interval [f·e^{−q·scale}, f·e^{q·scale}] around the forecast close `f`.
pub fn band(forecast: f64, q: f64, scale: f64) -> (f64, f64) {
    (forecast * (-q * scale).exp(), forecast * (q * scale).exp())
}

/// Empirical coverage and mean width of one level and step over a span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    #[serde(with = "crate::exact_float")]
    pub level: f64,
    pub step: usize,
    pub days: usize,
    /// Share of days whose actual close fell inside the interval.
    #[serde(with = "crate::exact_float")]
    pub coverage: f64,
    /// Mean of upper − lower, in price units.
    #[serde(with = "crate::exact_float")]
    pub mean_width: f64,
    /// Mean of (upper − lower) / forecast, in percent.
    #[serde(with = "crate::exact_float")]
    pub mean_width_pct: f64,
}

/// The conformal quantile of `residuals` at `level`.
pub fn conformal_quantile(residuals: &[f64], level: f64) -> f64 {
    let mut sorted: Vec<f64> = residuals.iter().map(|r| r.abs()).filter(|r| r.is_finite()).collect();
    if sorted.is_empty() {
        return f64::INFINITY;
    }
    sorted.sort_by(f64::total_cmp);
    let rank = ((sorted.len() + 1) as f64 * level).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Calibrates one interval per level from each step's normalised residuals on a calibration span.
pub fn calibrate(steps: &[StepForecasts], levels: &[f64]) -> Vec<Interval> {
    let residuals: Vec<Vec<f64>> = steps
        .iter()
        .map(|s| (0..s.actual.len()).map(|i| (s.actual[i] / s.forecast[i]).ln() / s.scale(i)).collect())
        .collect();
    levels
        .iter()
        .map(|&level| Interval {
            level,
            half_widths: residuals.iter().map(|r| conformal_quantile(r, level)).collect(),
        })
        .collect()
}

/// How often each level's interval held the actual close, per step, over `steps`.
pub fn coverage(steps: &[StepForecasts], intervals: &[Interval]) -> Vec<Coverage> {
    let mut out = Vec::new();
    for interval in intervals {
        for (k, s) in steps.iter().enumerate() {
            let q = interval.half_widths.get(k).copied().unwrap_or(f64::INFINITY);
            let n = s.actual.len().max(1) as f64;
            let (mut inside, mut width, mut width_pct) = (0usize, 0.0, 0.0);
            for i in 0..s.actual.len() {
                let (lower, upper) = band(s.forecast[i], q, s.scale(i));
                inside += usize::from(lower <= s.actual[i] && s.actual[i] <= upper);
                width += upper - lower;
                width_pct += 100.0 * (upper - lower) / s.forecast[i];
            }
            out.push(Coverage {
                level: interval.level,
                step: s.step,
                days: s.actual.len(),
                coverage: inside as f64 / n,
                mean_width: width / n,
                mean_width_pct: width_pct / n,
            });
        }
    }
    out
}

/// Pools coverage measured on several spans: rates and widths weighted by their days.
pub fn pool(parts: &[Vec<Coverage>]) -> Vec<Coverage> {
    let mut pooled: Vec<Coverage> = Vec::new();
    for part in parts {
        for c in part {
            match pooled.iter_mut().find(|p| p.level == c.level && p.step == c.step) {
                Some(p) => {
                    let total = (p.days + c.days).max(1) as f64;
                    let (a, b) = (p.days as f64 / total, c.days as f64 / total);
                    p.coverage = p.coverage * a + c.coverage * b;
                    p.mean_width = p.mean_width * a + c.mean_width * b;
                    p.mean_width_pct = p.mean_width_pct * a + c.mean_width_pct * b;
                    p.days += c.days;
                }
                None => pooled.push(c.clone()),
            }
        }
    }
    pooled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformal_quantile_uses_the_finite_sample_rank() {
        let residuals: Vec<f64> = (1..=9).map(|i| i as f64 * 0.01).collect();
        // n = 9, level 0.8: rank ceil(10 · 0.8) = 8 → 0.08.
        assert!((conformal_quantile(&residuals, 0.8) - 0.08).abs() < 1e-12);
        // level 0.95: rank ceil(9.5) = 10 > n → the largest.
        assert!((conformal_quantile(&residuals, 0.95) - 0.09).abs() < 1e-12);
        assert!((conformal_quantile(&[-0.05, 0.01], 0.5) - 0.05).abs() < 1e-12);
    }

    #[test]
    fn coverage_counts_actuals_inside_the_band() {
        let step = StepForecasts {
            step: 1,
            days: vec![1, 2, 3, 4],
            previous: vec![100.0; 4],
            forecast: vec![100.0; 4],
            actual: vec![100.5, 99.0, 103.0, 100.0],
            ..Default::default()
        };
        let intervals = calibrate(std::slice::from_ref(&step), &[0.5]);
        // |log residuals| ≈ 0.005, 0.01005, 0.0296, 0 → rank ceil(5 · 0.5) = 3 → 0.01005.
        let q = intervals[0].half_widths[0];
        assert!((q - (100.0f64 / 99.0).ln()).abs() < 1e-12);
        let c = &coverage(&[step], &intervals)[0];
        assert_eq!(c.coverage, 0.75);
        assert!((c.mean_width - 100.0 * (q.exp() - (-q).exp())).abs() < 1e-9);
    }

    #[test]
    fn normalised_residuals_give_bands_that_scale_with_sigma() {
        // Residuals 1 %, 2 %, 4 % with scales 1 %, 2 %, 4 %: every normalised residual is 1.
        let step = StepForecasts {
            step: 1,
            previous: vec![100.0; 3],
            forecast: vec![100.0; 3],
            actual: [0.01f64, -0.02, 0.04].iter().map(|r| 100.0 * r.exp()).collect(),
            sigma: vec![0.01, 0.02, 0.04],
            ..Default::default()
        };
        let intervals = calibrate(std::slice::from_ref(&step), &[0.5]);
        assert!((intervals[0].half_widths[0] - 1.0).abs() < 1e-9);
        // A calm day's band is a quarter of a turbulent day's.
        let (l1, u1) = band(100.0, 1.0, 0.01);
        let (l4, u4) = band(100.0, 1.0, 0.04);
        assert!(((u4 - l4) / (u1 - l1) - 4.0).abs() < 0.01);
        let wider = [Interval { level: 0.5, half_widths: vec![1.0 + 1e-9] }];
        assert_eq!(coverage(&[step], &wider)[0].coverage, 1.0);
    }
}
