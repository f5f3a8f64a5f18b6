//! Split-conformal prediction intervals per horizon step, in log-return space.
//!
//! On a calibration span the model never trained on, each step's absolute residual
//! |log(actual / forecast)| is collected; the interval half-width at level α is the
//! ⌈(n+1)·α⌉-th smallest of the n residuals (the finite-sample conformal quantile; the largest
//! residual when that rank exceeds n). A forecast close f then gets [f·e^{−q}, f·e^{q}].
//! Calibration uses the validation span, which early stopping also looked at, so coverage can
//! be slightly optimistic; `backtest` measures it on spans no fitted thing has seen.

use crate::inference::StepForecasts;
use serde::{Deserialize, Serialize};

/// Half-widths (log-return space) per step at one level. Stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub level: f64,
    pub half_widths: Vec<f64>,
}

/// Empirical coverage and mean width of one level and step over a span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    pub level: f64,
    pub step: usize,
    pub days: usize,
    /// Share of days whose actual close fell inside the interval.
    pub coverage: f64,
    /// Mean of upper − lower, in price units.
    pub mean_width: f64,
    /// Mean of (upper − lower) / forecast, in percent.
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

/// Calibrates one interval per level from each step's residuals on a calibration span.
pub fn calibrate(steps: &[StepForecasts], levels: &[f64]) -> Vec<Interval> {
    let residuals: Vec<Vec<f64>> =
        steps.iter().map(|s| s.forecast.iter().zip(&s.actual).map(|(f, a)| (a / f).ln()).collect()).collect();
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
            let inside = s.forecast.iter().zip(&s.actual).filter(|(f, a)| (*a / *f).ln().abs() <= q).count();
            let width: f64 = s.forecast.iter().map(|f| f * (q.exp() - (-q).exp())).sum();
            let width_pct: f64 = s.forecast.iter().map(|_| 100.0 * (q.exp() - (-q).exp())).sum();
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
            dates: vec![],
            previous: vec![100.0; 4],
            forecast: vec![100.0; 4],
            actual: vec![100.5, 99.0, 103.0, 100.0],
        };
        let intervals = calibrate(std::slice::from_ref(&step), &[0.5]);
        // |log residuals| ≈ 0.005, 0.01005, 0.0296, 0 → rank ceil(5 · 0.5) = 3 → 0.01005.
        let q = intervals[0].half_widths[0];
        assert!((q - (100.0f64 / 99.0).ln()).abs() < 1e-12);
        let c = &coverage(&[step], &intervals)[0];
        assert_eq!(c.coverage, 0.75);
        assert!((c.mean_width - 100.0 * (q.exp() - (-q).exp())).abs() < 1e-9);
    }
}
