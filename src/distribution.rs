//! The distribution of a step's log return that the network's head predicts, and its negative
//! log-likelihood (the training loss of a distributional head) with the gradient by hand.
//!
//! Per step the head gives raw outputs; the parameters are
//!
//! ```text
//! location  μ = fc(h)                                      (the head of the squared-error model)
//! scale     σ = b · (softplus(scale(h)) + SIGMA_FLOOR)        normal and student-t
//! df        ν = NU_MIN + softplus(df(h))                    student-t only
//! ```
//!
//! in the units of the scaled target, where b is the window's base scale: the EWMA volatility
//! known at the window's last day in those units (`Windows::base_scale`; 1 in the PyTorch golden
//! cases). The network thus learns how much wider or narrower than RiskMetrics tomorrow is —
//! from the shape of the recent path, the direction of the last moves and the intraday ranges —
//! rather than having to rebuild a long-memory volatility level from a 30-day window. The negative log-likelihood of a target y, z = (y − μ)/σ:
//!
//! ```text
//! normal     log σ + z²/2 + log(2π)/2
//! student-t  lnΓ(ν/2) − lnΓ((ν+1)/2) + log(νπ)/2 + log σ + (ν+1)/2 · log(1 + z²/ν)
//! ```
//!
//! The same formulas, with PyTorch's `softplus`, are the reference in `scripts/make_golden_nll.py`;
//! `tests/golden.rs` checks the loss and every gradient against it.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use statrs::function::gamma::{digamma, ln_gamma};

/// Smallest scale the head can predict (scaled units; the training targets have unit variance).
pub const SIGMA_FLOOR: f64 = 1e-3;
/// Degrees of freedom are above this (the variance of a t with ν ≤ 2 is infinite).
pub const NU_MIN: f64 = 2.0;

/// What the head predicts for each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Distribution {
    /// A point forecast trained by squared error; intervals are a constant conformal band.
    #[default]
    None,
    /// Location and scale of a normal distribution, trained by its negative log-likelihood.
    Normal,
    /// Location, scale and degrees of freedom of a Student-t distribution.
    StudentT,
}

impl Distribution {
    /// The names `--distribution` takes, in the order of the variants.
    pub const NAMES: [&'static str; 3] = ["none", "normal", "student-t"];

    pub fn name(self) -> &'static str {
        match self {
            Distribution::None => "none",
            Distribution::Normal => "normal",
            Distribution::StudentT => "student-t",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Distribution::None),
            "normal" => Some(Distribution::Normal),
            "student-t" => Some(Distribution::StudentT),
            _ => None,
        }
    }

    /// Raw head outputs per step: the location, then the scale, then the degrees of freedom.
    pub fn outputs(self) -> usize {
        match self {
            Distribution::None => 1,
            Distribution::Normal => 2,
            Distribution::StudentT => 3,
        }
    }
}

impl std::fmt::Display for Distribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// log(1 + eˣ), without overflow.
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// A location-scale distribution of a log return: normal, or Student-t with `nu` degrees of
/// freedom. Used for one step's prediction (scaled or in log-return units) and for the
/// baselines' predictive distributions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LocationScale {
    #[serde(with = "crate::exact_float")]
    pub mu: f64,
    #[serde(with = "crate::exact_float")]
    pub sigma: f64,
    /// Degrees of freedom; `None` for a normal distribution.
    #[serde(with = "crate::exact_float::option")]
    pub nu: Option<f64>,
}

impl LocationScale {
    /// The parameters of one step from the head's raw outputs and the window's base scale `base`
    /// (`sigma_raw`, `nu_raw` are ignored where the distribution has no such parameter; `None`
    /// has scale 1).
    pub fn from_raw(distribution: Distribution, [mu, sigma_raw, nu_raw]: [f64; 3], base: f64) -> Self {
        let sigma = base * (softplus(sigma_raw) + SIGMA_FLOOR);
        match distribution {
            Distribution::None => LocationScale { mu, sigma: 1.0, nu: None },
            Distribution::Normal => LocationScale { mu, sigma, nu: None },
            Distribution::StudentT => LocationScale { mu, sigma, nu: Some(NU_MIN + softplus(nu_raw)) },
        }
    }

    /// The log-density at `y`.
    pub fn log_pdf(&self, y: f64) -> f64 {
        let z = (y - self.mu) / self.sigma;
        match self.nu {
            None => -self.sigma.ln() - 0.5 * z * z - 0.5 * (2.0 * std::f64::consts::PI).ln(),
            Some(nu) => {
                ln_gamma((nu + 1.0) / 2.0)
                    - ln_gamma(nu / 2.0)
                    - 0.5 * (nu * std::f64::consts::PI).ln()
                    - self.sigma.ln()
                    - (nu + 1.0) / 2.0 * (z * z / nu).ln_1p()
            }
        }
    }

    /// The `tau`-quantile (0 < tau < 1).
    pub fn quantile(&self, tau: f64) -> f64 {
        self.mu + self.sigma * standard_quantile(self.nu, tau)
    }
}

/// The `tau`-quantile of the standard normal (`nu` None) or of Student's t with `nu` degrees of
/// freedom (location 0, scale 1).
pub fn standard_quantile(nu: Option<f64>, tau: f64) -> f64 {
    let tau = tau.clamp(1e-12, 1.0 - 1e-12);
    match nu {
        None => Normal::standard().inverse_cdf(tau),
        Some(nu) => match StudentsT::new(0.0, 1.0, nu) {
            Ok(t) => t.inverse_cdf(tau),
            Err(_) => f64::NAN,
        },
    }
}

/// The negative log-likelihood of target `y` under the head's raw outputs `(mu, sigma_raw,
/// nu_raw)` with base scale `base`, and its gradient with respect to each raw output (0 for an
/// unused one).
pub fn nll_and_gradient(distribution: Distribution, raw: [f64; 3], base: f64, y: f64) -> (f64, [f64; 3]) {
    let [mu, sigma_raw, nu_raw] = raw;
    let p = LocationScale::from_raw(distribution, raw, base);
    let z = (y - mu) / p.sigma;
    let dsigma_draw = base * sigmoid(sigma_raw);
    // `None` has σ = 1 and no ν: the normal likelihood of its point (training uses the squared
    // error for it and never calls this).
    match p.nu {
        None => {
            let dmu = -z / p.sigma;
            let dsigma = (1.0 - z * z) / p.sigma;
            (-p.log_pdf(y), [dmu, dsigma * dsigma_draw, 0.0])
        }
        Some(nu) => {
            let w = (nu + 1.0) / (nu + z * z);
            let dmu = -w * z / p.sigma;
            let dsigma = (1.0 - w * z * z) / p.sigma;
            let dnu = 0.5 * digamma(nu / 2.0) - 0.5 * digamma((nu + 1.0) / 2.0)
                + 0.5 / nu
                + 0.5 * (z * z / nu).ln_1p()
                - 0.5 * w * z * z / nu;
            (-p.log_pdf(y), [dmu, dsigma * dsigma_draw, dnu * sigmoid(nu_raw)])
        }
    }
}

/// The mean negative log-likelihood of a batch and its gradient with respect to the head's raw
/// outputs. `raw` is (batch, outputs × horizon) row-major, each row `[μ_1…μ_H, σraw_1…σraw_H,
/// νraw_1…νraw_H]`; `targets` is (batch, horizon); `bases` one base scale per row (empty: 1). The
/// mean is over `denominator` values (the whole batch's `batch × horizon` when this is one part
/// of it). Returns the loss and d loss / d raw, in `raw`'s layout.
pub fn batch_nll(
    distribution: Distribution,
    raw: &[f32],
    targets: &[f32],
    bases: &[f32],
    horizon: usize,
    denominator: usize,
) -> (f64, Vec<f32>) {
    let width = distribution.outputs() * horizon;
    let scale = 1.0 / denominator.max(1) as f64;
    let mut loss = 0.0;
    let mut gradient = vec![0f32; raw.len()];
    for (b, row) in raw.chunks(width).enumerate() {
        let base = bases.get(b).map_or(1.0, |&v| v as f64);
        for k in 0..horizon {
            let (l, g) = nll_and_gradient(
                distribution,
                step_raw(distribution, row, horizon, k),
                base,
                targets[b * horizon + k] as f64,
            );
            loss += l * scale;
            for (o, g) in g.iter().enumerate().take(distribution.outputs()) {
                gradient[b * width + o * horizon + k] = (g * scale) as f32;
            }
        }
    }
    (loss, gradient)
}

/// Step `k`'s raw outputs `[μ, σraw, νraw]` from one window's row of head outputs (0 where the
/// distribution has no such output).
pub fn step_raw(distribution: Distribution, row: &[f32], horizon: usize, k: usize) -> [f64; 3] {
    let at = |o: usize| if o < distribution.outputs() { row[o * horizon + k] as f64 } else { 0.0 };
    [at(0), at(1), at(2)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central differences of the loss against the hand-written gradient.
    #[test]
    fn gradients_match_finite_differences() {
        for distribution in [Distribution::Normal, Distribution::StudentT] {
            for (raw, y) in [([0.1, -0.3, 1.2], 2.5), ([-0.4, 0.8, -1.0], -0.2), ([0.0, 2.0, 3.0], 7.0)] {
                let (_, g) = nll_and_gradient(distribution, raw, 0.7, y);
                for i in 0..distribution.outputs() {
                    let h = 1e-6;
                    let (mut up, mut down) = (raw, raw);
                    up[i] += h;
                    down[i] -= h;
                    let numeric = (nll_and_gradient(distribution, up, 0.7, y).0
                        - nll_and_gradient(distribution, down, 0.7, y).0)
                        / (2.0 * h);
                    assert!(
                        (numeric - g[i]).abs() < 1e-6 * numeric.abs().max(1.0),
                        "{distribution} {i}: {numeric} vs {}",
                        g[i]
                    );
                }
            }
        }
    }

    #[test]
    fn log_densities_and_quantiles_against_known_values() {
        let normal = LocationScale { mu: 1.0, sigma: 2.0, nu: None };
        // N(1, 2²) at 3: −log 2 − 1/2 − log(2π)/2.
        let expected = -(2.0f64).ln() - 0.5 - 0.5 * (2.0 * std::f64::consts::PI).ln();
        assert!((normal.log_pdf(3.0) - expected).abs() < 1e-12);
        assert!((normal.quantile(0.975) - (1.0 + 2.0 * 1.959963984540054)).abs() < 1e-9);
        // t with 1 degree of freedom is Cauchy: density 1 / (π (1 + z²)), quantile tan(π (τ − ½)).
        let cauchy = LocationScale { mu: 0.0, sigma: 1.0, nu: Some(1.0) };
        assert!((cauchy.log_pdf(2.0) + (std::f64::consts::PI * 5.0).ln()).abs() < 1e-12);
        assert!((cauchy.quantile(0.9) - (std::f64::consts::PI * 0.4).tan()).abs() < 1e-8);
        // t₄: the 0.975 quantile is 2.776445.
        assert!((standard_quantile(Some(4.0), 0.975) - 2.776445105).abs() < 1e-6);
    }

    #[test]
    fn raw_outputs_map_to_valid_parameters() {
        let p = LocationScale::from_raw(Distribution::StudentT, [0.0, -800.0, -800.0], 1.0);
        assert_eq!(p.sigma, SIGMA_FLOOR);
        assert_eq!(p.nu, Some(NU_MIN));
        let p = LocationScale::from_raw(Distribution::Normal, [0.0, 800.0, 0.0], 2.0);
        assert_eq!(p.sigma, 2.0 * (800.0 + SIGMA_FLOOR));
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-15);
        for name in Distribution::NAMES {
            assert_eq!(Distribution::from_name(name).unwrap().name(), name);
        }
    }

    #[test]
    fn batch_loss_is_the_mean_and_its_gradient_is_laid_out_like_the_outputs() {
        // Two windows, horizon 2, student-t: rows [μ1 μ2 σ1 σ2 ν1 ν2].
        let raw = [0.1f32, 0.2, 0.0, 0.5, 1.0, 2.0, -0.1, 0.0, 0.3, -0.2, 0.0, 4.0];
        let targets = [1.0f32, -1.0, 0.5, 0.0];
        let (loss, g) = batch_nll(Distribution::StudentT, &raw, &targets, &[1.0, 0.5], 2, 4);
        let (_, gk) = nll_and_gradient(Distribution::StudentT, [0.0, -0.2f32 as f64, 4.0], 0.5, 0.0);
        assert!((g[7] as f64 - gk[0] / 4.0).abs() < 1e-7 && (g[9] as f64 - gk[1] / 4.0).abs() < 1e-7);
        assert!((g[11] as f64 - gk[2] / 4.0).abs() < 1e-7);
        let mut total = 0.0;
        for (b, k) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let r = |o: usize| raw[b * 6 + o * 2 + k] as f64;
            let base = [1.0, 0.5][b];
            total +=
                nll_and_gradient(Distribution::StudentT, [r(0), r(1), r(2)], base, targets[b * 2 + k] as f64)
                    .0;
        }
        assert!((loss - total / 4.0).abs() < 1e-12);
    }
}
