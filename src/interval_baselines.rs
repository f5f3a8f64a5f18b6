//! The interval baselines a model's intervals are judged against, fitted on a fold's history only
//! and forecast from the same origins as the model:
//!
//! - **constant band** (the squared-error model's method): the model's point forecast ± the
//!   split-conformal quantile of |log(actual / forecast)| on the validation span, one width per
//!   step whatever the market does; its quantiles (for the pinball loss) are those of a normal
//!   with the root-mean-square validation residual as its scale;
//! - **EWMA** (RiskMetrics, λ = 0.94): centred on naive, normal with variance k·σ̂²_{t+1} at step k;
//! - **GARCH(1,1)-t**: centred on naive, fitted by maximum likelihood on up to
//!   [`GARCH_HISTORY`] daily returns before the fold's first test day; the step-k log return is
//!   a standardised t with the fit's ν and the sum of the k forecast variances.
//!
//! EWMA and GARCH intervals are their distributions' central intervals, not conformalised.

use crate::distribution::{standard_quantile, LocationScale};
use crate::inference::StepForecasts;
use crate::interval_metrics::DayPrediction;
use crate::intervals::conformal_quantile;
use crate::volatility::{ewma_variances, fit_garch_t, GarchT, EWMA_LAMBDA};

/// Most daily returns a GARCH fit sees (the latest before the fold's first test day).
pub const GARCH_HISTORY: usize = 2500;

/// The interval methods, in the order their scores and prediction columns appear.
pub const METHODS: [&str; 4] = ["model", "constant", "ewma", "garch-t"];

/// The baselines of one fold.
#[derive(Debug, Clone)]
pub struct IntervalBaselines {
    levels: Vec<f64>,
    /// Per step: the constant band's half-width per level and its normal scale (empty until
    /// [`Self::with_constant`]).
    constant: Vec<(Vec<f64>, f64)>,
    /// `ewma[o]`: variance of day o + 1's log return known at day o's close.
    ewma: Vec<f64>,
    /// The fit and its one-step variances, indexed like `ewma`; None when the fit failed or was
    /// not asked for.
    garch: Option<(GarchT, Vec<f64>)>,
    /// The series' daily log returns.
    returns: Vec<f64>,
}

/// Daily log returns of `closes`: `r[t] = log(closes[t + 1] / closes[t])`.
pub fn log_returns(closes: &[f64]) -> Vec<f64> {
    closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
}

impl IntervalBaselines {
    /// The EWMA band for forecasts made from `closes` (the whole series: the filter only ever uses
    /// returns before each origin) at `levels`; add the others with [`Self::with_garch`] and
    /// [`Self::with_constant`].
    pub fn new(closes: &[f64], levels: &[f64]) -> Self {
        let returns = log_returns(closes);
        IntervalBaselines {
            levels: levels.to_vec(),
            constant: Vec::new(),
            ewma: ewma_variances(&returns, EWMA_LAMBDA),
            garch: None,
            returns,
        }
    }

    /// Adds GARCH(1,1)-t, fitted on up to [`GARCH_HISTORY`] returns before `first_test_day` (left
    /// out when the fit fails).
    pub fn with_garch(mut self, first_test_day: usize) -> Self {
        let history = &self.returns[..first_test_day.saturating_sub(1).min(self.returns.len())];
        let history = &history[history.len().saturating_sub(GARCH_HISTORY)..];
        self.garch = fit_garch_t(history).ok().map(|g| {
            let v = g.variances(&self.returns);
            (g, v)
        });
        self
    }

    /// Adds the constant band, calibrated on `validation`, the fold model's validation forecasts.
    pub fn with_constant(mut self, validation: &[StepForecasts]) -> Self {
        self.constant = validation
            .iter()
            .map(|s| {
                let residuals: Vec<f64> =
                    (0..s.actual.len()).map(|i| (s.actual[i] / s.forecast[i]).ln()).collect();
                let rms =
                    (residuals.iter().map(|r| r * r).sum::<f64>() / residuals.len().max(1) as f64).sqrt();
                (self.levels.iter().map(|&l| conformal_quantile(&residuals, l)).collect(), rms)
            })
            .collect();
        self
    }

    /// The EWMA volatility of the day after `origin`, known at its close: the ranking key of the
    /// calm and turbulent fifths.
    pub fn ewma_volatility(&self, origin: usize) -> f64 {
        self.ewma[origin].sqrt()
    }

    /// The constant band around the model's forecast log return `location`, at `step` (1-based;
    /// needs [`Self::with_constant`]).
    pub fn constant(&self, step: usize, location: f64) -> DayPrediction {
        let (half_widths, rms) = self.constant[step - 1].clone();
        DayPrediction { distribution: LocationScale { mu: location, sigma: rms, nu: None }, half_widths }
    }

    /// The EWMA normal band from `origin`, `step` days ahead.
    pub fn ewma(&self, origin: usize, step: usize) -> DayPrediction {
        let sigma = (step as f64 * self.ewma[origin]).sqrt();
        self.central(LocationScale { mu: 0.0, sigma, nu: None })
    }

    /// The GARCH(1,1)-t band from `origin`, `step` days ahead (None without a fit).
    pub fn garch(&self, origin: usize, step: usize) -> Option<DayPrediction> {
        let (g, v) = self.garch.as_ref()?;
        let variance: f64 = g.step_variances(v[origin], step).iter().sum();
        // A standardised t has variance 1: its scale is √((ν − 2) / ν).
        let sigma = (variance * (g.nu - 2.0) / g.nu).sqrt();
        Some(self.central(LocationScale { mu: 0.0, sigma, nu: Some(g.nu) }))
    }

    /// A distribution's central intervals at every level.
    fn central(&self, distribution: LocationScale) -> DayPrediction {
        let half_widths = self
            .levels
            .iter()
            .map(|&l| distribution.sigma * standard_quantile(distribution.nu, (1.0 + l) / 2.0))
            .collect();
        DayPrediction { distribution, half_widths }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines_see_only_the_past_of_each_origin() {
        let closes: Vec<f64> =
            (0..400).map(|i| 100.0 * (1.0 + 0.01 * ((i * 37 % 11) as f64 - 5.0) / 5.0)).collect();
        let a = IntervalBaselines::new(&closes, &[0.9]).with_garch(300);
        let mut changed = closes.clone();
        for c in &mut changed[301..] {
            *c *= 3.0;
        }
        let b = IntervalBaselines::new(&changed, &[0.9]).with_garch(300);
        // The variance known at day 299 (forecasting day 300) cannot move when later days do.
        assert_eq!(a.ewma(299, 1), b.ewma(299, 1));
        assert_eq!(a.garch(299, 1), b.garch(299, 1));
        assert!(a.garch(299, 1).is_some());
        // The normal band's half-width at 0.9 is 1.645 σ, and σ grows as √k for EWMA.
        let one = a.ewma(299, 1);
        assert!((one.half_widths[0] / one.distribution.sigma - 1.6448536).abs() < 1e-6);
        assert!((a.ewma(299, 4).distribution.sigma / one.distribution.sigma - 2.0).abs() < 1e-12);
    }
}
