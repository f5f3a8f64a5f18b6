//! Volatility baselines for prediction intervals of daily log returns, used by the walk-forward backtest: an
//! EWMA (RiskMetrics, λ = 0.94) variance and a zero-mean GARCH(1,1) with standardized Student-t innovations fitted
//! by maximum likelihood. Both produce one-step-ahead conditional variances `v[t]` of `returns[t]` computed from
//! `returns[..t]` only (plus the start value, documented on each function), and GARCH also gives the k-step
//! variance forecasts that prediction intervals over a horizon need. The GARCH fit uses a small, deterministic
//! Nelder–Mead search over unconstrained coordinates; it is checked against Python's `arch` package
//! (`scripts/garch_reference.py`, `tests/fixtures/garch/xom_reference.json`).

use statrs::function::gamma::ln_gamma;

/// The RiskMetrics decay factor for daily data.
pub const EWMA_LAMBDA: f64 = 0.94;

/// Over how many leading squares an EWMA is a running mean instead.
pub const EWMA_START_DAYS: usize = 20;

/// Fewest returns `fit_garch_t` accepts.
const GARCH_MIN_RETURNS: usize = 100;

/// Upper bound of the GARCH persistence α + β.
const MAX_PERSISTENCE: f64 = 0.9999;

/// Bounds of the Student-t degrees of freedom: 2 < ν ≤ 200.
const NU_MIN: f64 = 2.0;
const NU_MAX: f64 = 200.0;

/// Floor of a conditional variance before its logarithm is taken.
const VARIANCE_FLOOR: f64 = 1e-300;

/// Start of the GARCH search: α, β and ν (ω follows from the mean square of the returns).
const START_ALPHA: f64 = 0.08;
const START_BETA: f64 = 0.9;
const START_NU: f64 = 8.0;

/// Nelder–Mead settings for the GARCH fit (coordinates are the unconstrained ones of `GarchCoords`).
const FIT_STEP: f64 = 0.5;
const FIT_MAX_ITER: usize = 2_000;
const FIT_TOL: f64 = 1e-7;
const FIT_RESTARTS: usize = 2;

/// The EWMA of `squares` after each one: running means over the first [`EWMA_START_DAYS`] (so no
/// value sees a later square), then `e[i] = λ·e[i−1] + (1−λ)·squares[i]`. The one EWMA of the crate:
/// the volatility features (`data::features`) and the EWMA baseline both use it.
pub fn ewma_of_squares(squares: impl Iterator<Item = f64>, lambda: f64) -> Vec<f64> {
    let mut e = 0.0;
    squares
        .enumerate()
        .map(|(i, x)| {
            e = if i < EWMA_START_DAYS {
                (e * i as f64 + x) / (i + 1) as f64
            } else {
                lambda * e + (1.0 - lambda) * x
            };
            e
        })
        .collect()
}

/// EWMA (RiskMetrics) variances of daily log returns.
///
/// `returns[t]` are daily log returns. Returns `v` with `v.len() == returns.len() + 1` where `v[t]` is the variance
/// of `returns[t]` forecast from `returns[..t]` only (`v[returns.len()]` is the forecast for the next, unseen day):
/// [`ewma_of_squares`] of the returns up to `t − 1`, so `v[t+1] = λ·v[t] + (1−λ)·returns[t]²` from day 20 on.
///
/// Start value: `v[0]`, which has no past, is `returns[0]²` (the only look-ahead, one day at the very start).
/// With no returns the result is `[0.0]` (no information). `lambda` is clamped to `[0, 1]`; returns must be finite.
pub fn ewma_variances(returns: &[f64], lambda: f64) -> Vec<f64> {
    let lambda = if lambda.is_nan() { EWMA_LAMBDA } else { lambda.clamp(0.0, 1.0) };
    let known = ewma_of_squares(returns.iter().map(|r| r * r), lambda);
    let mut variances = Vec::with_capacity(returns.len() + 1);
    variances.push(known.first().copied().unwrap_or(0.0));
    variances.extend(known);
    variances
}

/// A fitted zero-mean GARCH(1,1) with standardized Student-t innovations:
/// `r[t] = sqrt(h[t])·z[t]`, `h[t+1] = ω + α·r[t]² + β·h[t]`, `z` Student-t with ν degrees of freedom scaled to
/// unit variance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GarchT {
    /// Constant of the variance recursion, in the units of the squared returns given to the fit.
    pub omega: f64,
    /// Weight of the last squared return.
    pub alpha: f64,
    /// Weight of the last conditional variance.
    pub beta: f64,
    /// degrees of freedom (> 2)
    pub nu: f64,
    /// log-likelihood of the fit (nats, over the fitted returns, in the units of the returns given)
    pub log_likelihood: f64,
}

/// Fits a zero-mean GARCH(1,1)-t by maximum likelihood.
///
/// Fits on `returns` (daily log returns, NOT multiplied by 100; the search works on `ln ω` relative to the mean
/// square of the returns, so no rescaling is needed, and `omega` is reported in the units of the returns given).
/// The likelihood starts the variance recursion as [`GarchT::variances`] does, from the unconditional variance.
/// Constraints: ω > 0, α ≥ 0, β ≥ 0, α + β < 0.9999, 2 < ν ≤ 200. The search starts from α = 0.08, β = 0.9, ν = 8
/// and ω = mean square of the returns (the zero-mean sample variance) · (1 − α − β).
///
/// Err(String) when there are fewer than 100 returns, a return is not finite, all returns are zero, or the
/// search ends without a finite likelihood.
pub fn fit_garch_t(returns: &[f64]) -> Result<GarchT, String> {
    fit_with_start(returns, VarianceStart::Unconditional)
}

impl GarchT {
    /// Conditional variances. Like [`ewma_variances`]: `v[t]` is the conditional variance of `returns[t]` given
    /// `returns[..t]`; `v.len() == returns.len() + 1` (the last is the forecast for the next, unseen day).
    ///
    /// The recursion starts from the unconditional variance `ω/(1−α−β)`, which uses no returns at all. Should
    /// `α + β ≥ 1` (never so for a fitted model), it starts from the mean of the squared returns instead, a
    /// look-ahead over the whole series that only such hand-made models get.
    pub fn variances(&self, returns: &[f64]) -> Vec<f64> {
        let start = if self.alpha + self.beta < 1.0 {
            VarianceStart::Unconditional
        } else {
            VarianceStart::Fixed(mean_square(returns))
        };
        let mut h = start.first(self.omega, self.alpha, self.beta);
        let mut variances = Vec::with_capacity(returns.len() + 1);
        variances.push(h);
        for &r in returns {
            h = self.omega + self.alpha * r * r + self.beta * h;
            variances.push(h);
        }
        variances
    }

    /// Variances of the next `horizon` daily returns given the next day's variance `next`: the k-step GARCH
    /// forecast `σ̄² + (α+β)^(k−1)·(next − σ̄²)`, k = 1..=horizon, with `σ̄² = ω/(1−α−β)`. It is computed by the
    /// equivalent recursion `v[k+1] = ω + (α+β)·v[k]`, which also holds when `α + β ≥ 1`.
    pub fn step_variances(&self, next: f64, horizon: usize) -> Vec<f64> {
        let persistence = self.alpha + self.beta;
        let mut variances = Vec::with_capacity(horizon);
        let mut v = next;
        for _ in 0..horizon {
            variances.push(v);
            v = self.omega + persistence * v;
        }
        variances
    }
}

/// Where the GARCH variance recursion starts, `h[0]`.
#[derive(Debug, Clone, Copy)]
enum VarianceStart {
    /// `h[0] = ω/(1−α−β)`; uses no data.
    Unconditional,
    /// `h[0]` is this value.
    Fixed(f64),
    /// The `arch` package's convention: `h[0] = ω + (α+β)·backcast`, where the backcast is an exponentially
    /// weighted mean of the first 75 squared returns. Only the reference test uses it.
    #[cfg_attr(not(test), allow(dead_code))]
    Backcast(f64),
}

impl VarianceStart {
    /// The first conditional variance for these parameters.
    fn first(self, omega: f64, alpha: f64, beta: f64) -> f64 {
        match self {
            VarianceStart::Unconditional => omega / (1.0 - alpha - beta),
            VarianceStart::Fixed(h) => h,
            VarianceStart::Backcast(backcast) => omega + (alpha + beta) * backcast,
        }
    }
}

/// Mean of the squares (0 for an empty slice).
fn mean_square(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64
}

/// The logistic function, written to stay finite for any finite `x`.
fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Inverse of [`logistic`] for `p` in (0, 1).
fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// The unconstrained coordinates the optimiser moves, and their map to the constrained GARCH parameters:
/// `ω = exp(x0)·s²` (s² the mean square of the returns), `α + β = 0.9999·logistic(x1)`,
/// `α = (α + β)·logistic(x2)`, `β = (α + β) − α`, `ν = 2 + 198·logistic(x3)`.
struct GarchCoords {
    /// Mean square of the fitted returns, the unit of ω.
    scale: f64,
}

impl GarchCoords {
    /// (ω, α, β, ν) for the coordinates `x` (length 4).
    fn params(&self, x: &[f64]) -> (f64, f64, f64, f64) {
        let omega = x[0].exp() * self.scale;
        let persistence = MAX_PERSISTENCE * logistic(x[1]);
        let alpha = persistence * logistic(x[2]);
        let beta = persistence - alpha;
        let nu = NU_MIN + (NU_MAX - NU_MIN) * logistic(x[3]);
        (omega, alpha, beta, nu)
    }

    /// Coordinates of (ω, α, β, ν); the parameters must lie strictly inside the constraints.
    fn coords(&self, omega: f64, alpha: f64, beta: f64, nu: f64) -> Vec<f64> {
        let persistence = alpha + beta;
        vec![
            (omega / self.scale).ln(),
            logit(persistence / MAX_PERSISTENCE),
            logit(alpha / persistence),
            logit((nu - NU_MIN) / (NU_MAX - NU_MIN)),
        ]
    }
}

/// Log-likelihood (nats) of zero-mean GARCH(1,1) returns with standardized Student-t innovations: the sum over t of
/// `lnΓ((ν+1)/2) − lnΓ(ν/2) − ½·ln(π(ν−2)h) − (ν+1)/2 · ln(1 + r²/((ν−2)h))`. Variances are floored at 1e-300
/// before their logarithm; the result is `-inf` when the parameters are outside the model (ν ≤ 2, ω ≤ 0, negative
/// weights, a start variance that is not positive) and may be `-inf` when a term overflows, never NaN for finite
/// returns and parameters.
fn log_likelihood(returns: &[f64], omega: f64, alpha: f64, beta: f64, nu: f64, start: VarianceStart) -> f64 {
    if !(nu > NU_MIN && omega > 0.0 && alpha >= 0.0 && beta >= 0.0) {
        return f64::NEG_INFINITY;
    }
    let first = start.first(omega, alpha, beta);
    if first.is_nan() || first <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let k = nu - 2.0;
    let half_nu1 = 0.5 * (nu + 1.0);
    let constant = ln_gamma(half_nu1) - ln_gamma(0.5 * nu) - 0.5 * (std::f64::consts::PI * k).ln();
    let mut h = first;
    let mut sum = 0.0;
    for &r in returns {
        let hf = h.max(VARIANCE_FLOOR);
        let r2 = r * r;
        sum -= 0.5 * hf.ln() + half_nu1 * (r2 / (k * hf)).ln_1p();
        h = omega + alpha * r2 + beta * hf;
    }
    let total = returns.len() as f64 * constant + sum;
    if total.is_nan() {
        f64::NEG_INFINITY
    } else {
        total
    }
}

/// The fit behind [`fit_garch_t`], with the variance start as a parameter (the reference test fits with `arch`'s
/// backcast start to compare like with like).
fn fit_with_start(returns: &[f64], start: VarianceStart) -> Result<GarchT, String> {
    if returns.len() < GARCH_MIN_RETURNS {
        return Err(format!("GARCH fit needs at least {GARCH_MIN_RETURNS} returns, got {}", returns.len()));
    }
    if let Some(t) = returns.iter().position(|r| !r.is_finite()) {
        return Err(format!("GARCH fit: return {t} is not finite ({})", returns[t]));
    }
    let scale = mean_square(returns);
    if !(scale > 0.0 && scale.is_finite()) {
        return Err(format!("GARCH fit: the mean square of the returns is {scale}, not a positive number"));
    }
    let coords = GarchCoords { scale };
    let objective = |x: &[f64]| {
        let (omega, alpha, beta, nu) = coords.params(x);
        -log_likelihood(returns, omega, alpha, beta, nu, start)
    };
    let x0 = coords.coords(scale * (1.0 - START_ALPHA - START_BETA), START_ALPHA, START_BETA, START_NU);
    let (mut best_x, mut best_f) = nelder_mead(objective, &x0, FIT_STEP, FIT_MAX_ITER, FIT_TOL);
    for _ in 0..FIT_RESTARTS {
        let (x, f) = nelder_mead(objective, &best_x, FIT_STEP, FIT_MAX_ITER, FIT_TOL);
        let improved = f < best_f - FIT_TOL;
        if f < best_f {
            best_x = x;
            best_f = f;
        }
        if !improved {
            break;
        }
    }
    if !best_f.is_finite() {
        return Err("GARCH fit: the search found no finite likelihood".to_string());
    }
    let (omega, alpha, beta, nu) = coords.params(&best_x);
    Ok(GarchT { omega, alpha, beta, nu, log_likelihood: -best_f })
}

/// Nelder–Mead minimisation of `f` from `start`, deterministic.
///
/// The first simplex is `start` and `start + step·e_i` for each coordinate i. Each iteration orders the vertices,
/// reflects the worst through the centroid of the others (coefficient 1), expands (2), contracts outside or inside
/// (0.5) or shrinks everything towards the best vertex (0.5), the standard coefficients. It stops when both the
/// spread of the function values and the largest coordinate distance of a vertex from the best one are ≤ `tol`,
/// or after `max_iter` iterations. NaN values of `f` count as +∞. Returns the best vertex and its value.
fn nelder_mead<F: Fn(&[f64]) -> f64>(
    f: F,
    start: &[f64],
    step: f64,
    max_iter: usize,
    tol: f64,
) -> (Vec<f64>, f64) {
    const REFLECT: f64 = 1.0;
    const EXPAND: f64 = 2.0;
    const CONTRACT: f64 = 0.5;
    const SHRINK: f64 = 0.5;

    let eval = |x: &[f64]| {
        let y = f(x);
        if y.is_nan() {
            f64::INFINITY
        } else {
            y
        }
    };
    let n = start.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((start.to_vec(), eval(start)));
    for i in 0..n {
        let mut x = start.to_vec();
        x[i] += step;
        let y = eval(&x);
        simplex.push((x, y));
    }
    if n == 0 {
        return simplex.swap_remove(0);
    }
    // x = a + t·(b − a)
    let towards = |a: &[f64], b: &[f64], t: f64| -> Vec<f64> {
        a.iter().zip(b).map(|(&ai, &bi)| ai + t * (bi - ai)).collect()
    };

    for _ in 0..max_iter {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[n].1);
        let spread = if worst == best { 0.0 } else { worst - best };
        let size = simplex[1..]
            .iter()
            .flat_map(|(x, _)| x.iter().zip(&simplex[0].0).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if spread <= tol && size <= tol {
            break;
        }

        let mut centroid = vec![0.0; n];
        for (x, _) in &simplex[..n] {
            for (c, xi) in centroid.iter_mut().zip(x) {
                *c += xi / n as f64;
            }
        }
        let reflected = towards(&centroid, &simplex[n].0, -REFLECT);
        let f_reflected = eval(&reflected);
        if f_reflected < best {
            let expanded = towards(&centroid, &reflected, EXPAND);
            let f_expanded = eval(&expanded);
            simplex[n] =
                if f_expanded < f_reflected { (expanded, f_expanded) } else { (reflected, f_reflected) };
            continue;
        }
        if f_reflected < simplex[n - 1].1 {
            simplex[n] = (reflected, f_reflected);
            continue;
        }
        let (contracted, f_contracted, accept) = if f_reflected < worst {
            let x = towards(&centroid, &reflected, CONTRACT);
            let y = eval(&x);
            (x, y, y <= f_reflected)
        } else {
            let x = towards(&centroid, &simplex[n].0, CONTRACT);
            let y = eval(&x);
            (x, y, y < worst)
        };
        if accept {
            simplex[n] = (contracted, f_contracted);
            continue;
        }
        let best_x = simplex[0].0.clone();
        for vertex in simplex.iter_mut().skip(1) {
            let x = towards(&best_x, &vertex.0, SHRINK);
            let y = eval(&x);
            *vertex = (x, y);
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    fn assert_all_close(got: &[f64], want: &[f64], rel: f64) {
        assert_eq!(got.len(), want.len(), "lengths: {got:?} vs {want:?}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(close(*g, *w, rel), "[{i}]: got {g:e}, want {w:e}");
        }
    }

    #[test]
    fn ewma_recursion_by_hand() {
        let returns = [0.01, -0.02, 0.03, 0.0];
        // Running means of the squares so far; v[0] (no past) is the first square.
        let want = [1e-4, 1e-4, 2.5e-4, 14e-4 / 3.0, 3.5e-4];
        assert_all_close(&ewma_variances(&returns, EWMA_LAMBDA), &want, 1e-12);
    }

    #[test]
    fn ewma_start_sees_no_later_return_and_then_recurses() {
        let mut returns = vec![0.01; 20];
        returns.extend([0.5; 5]);
        let v = ewma_variances(&returns, EWMA_LAMBDA);
        assert_eq!(v.len(), 26);
        assert!(v[..=20].iter().all(|&x| close(x, 1e-4, 1e-12)), "{v:?}");
        assert!(close(v[21], 0.94 * 1e-4 + 0.06 * 0.25, 1e-12), "v[21] = {:e}", v[21]);
        assert!(close(v[25], 0.94 * v[24] + 0.06 * 0.25, 1e-12));
        assert_eq!(ewma_variances(&[], EWMA_LAMBDA), vec![0.0]);
    }

    #[test]
    fn step_variances_match_the_closed_form() {
        let g = GarchT { omega: 1e-6, alpha: 0.1, beta: 0.8, nu: 5.0, log_likelihood: 0.0 };
        // sigma_bar^2 = 1e-6 / 0.1 = 1e-5; v_k = 1e-5 + 0.9^(k-1) * (3e-5 - 1e-5).
        let want = [3e-5, 2.8e-5, 2.62e-5, 2.458e-5, 2.3122e-5];
        assert_all_close(&g.step_variances(3e-5, 5), &want, 1e-12);
        let long = g.step_variances(3e-5, 40);
        for (k, v) in long.iter().enumerate() {
            let closed = 1e-5 + 0.9f64.powi(k as i32) * 2e-5;
            assert!(close(*v, closed, 1e-12), "k = {}: {v:e} vs {closed:e}", k + 1);
        }
        assert!(g.step_variances(3e-5, 0).is_empty());
    }

    #[test]
    fn garch_variances_by_hand() {
        let g = GarchT { omega: 1e-6, alpha: 0.1, beta: 0.8, nu: 5.0, log_likelihood: 0.0 };
        // v0 = 1e-6 / 0.1; v1 = 1e-6 + 0.1 * 1e-4 + 0.8 * 1e-5; v2 = 1e-6 + 0.1 * 4e-4 + 0.8 * 1.9e-5;
        // v3 = 1e-6 + 0.1 * 2.5e-5 + 0.8 * 5.62e-5.
        let want = [1e-5, 1.9e-5, 5.62e-5, 4.846e-5];
        assert_all_close(&g.variances(&[0.01, -0.02, 0.005]), &want, 1e-12);
    }

    #[test]
    fn nelder_mead_finds_the_rosenbrock_minimum() {
        let rosenbrock = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let (x, fx) = nelder_mead(rosenbrock, &[-1.2, 1.0], 0.5, 10_000, 1e-12);
        assert!((x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6, "x = {x:?}");
        assert!(fx < 1e-12, "f = {fx:e}");
    }

    /// SplitMix64: a small seeded generator for the simulation.
    struct SplitMix64(u64);

    impl SplitMix64 {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in (0, 1).
        fn uniform(&mut self) -> f64 {
            ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }

        /// Standard normal (Box–Muller).
        fn normal(&mut self) -> f64 {
            let (u, v) = (self.uniform(), self.uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }

        /// Student-t with an integer number of degrees of freedom, scaled to unit variance.
        fn standardized_t(&mut self, nu: u32) -> f64 {
            let chi2: f64 = (0..nu).map(|_| self.normal().powi(2)).sum();
            let nu = f64::from(nu);
            self.normal() / (chi2 / nu).sqrt() * ((nu - 2.0) / nu).sqrt()
        }
    }

    fn simulate_garch_t(n: usize, omega: f64, alpha: f64, beta: f64, nu: u32, seed: u64) -> Vec<f64> {
        let mut rng = SplitMix64(seed);
        let burn_in = 500;
        let mut h = omega / (1.0 - alpha - beta);
        let mut returns = Vec::with_capacity(n);
        for t in 0..burn_in + n {
            let r = h.sqrt() * rng.standardized_t(nu);
            if t >= burn_in {
                returns.push(r);
            }
            h = omega + alpha * r * r + beta * h;
        }
        returns
    }

    #[test]
    fn fit_recovers_simulated_parameters() {
        let returns = simulate_garch_t(5_000, 1e-6, 0.1, 0.85, 6, 20_240_601);
        let fit = fit_garch_t(&returns).expect("fit");
        assert!((fit.alpha - 0.1).abs() < 0.05, "{fit:?}");
        assert!((fit.beta - 0.85).abs() < 0.05, "{fit:?}");
        assert!((fit.nu - 6.0).abs() < 2.5, "{fit:?}");
        assert!(fit.omega > 0.0 && fit.omega < 1e-5, "{fit:?}");
        let truth = log_likelihood(&returns, 1e-6, 0.1, 0.85, 6.0, VarianceStart::Unconditional);
        assert!(fit.log_likelihood >= truth, "fit {} below the true parameters' {truth}", fit.log_likelihood);
    }

    #[test]
    fn fit_rejects_short_or_degenerate_series() {
        assert!(fit_garch_t(&[0.01; 99]).is_err());
        assert!(fit_garch_t(&[0.0; 200]).is_err());
        let mut returns = simulate_garch_t(200, 1e-6, 0.1, 0.85, 6, 7);
        returns[50] = f64::NAN;
        assert!(fit_garch_t(&returns).is_err());
    }

    const XOM_CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/XOM_kaggle-sp500-5yr.csv");
    const XOM_REFERENCE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/garch/xom_reference.json");

    /// Daily log returns of the `close` column (rows are in date order).
    fn xom_returns() -> Vec<f64> {
        let text = std::fs::read_to_string(XOM_CSV).expect("read the XOM CSV");
        let mut lines = text.lines();
        let header = lines.next().expect("header");
        let col = header.split(',').position(|h| h.trim() == "close").expect("a close column");
        let closes: Vec<f64> = lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split(',').nth(col).expect("close field").trim().parse::<f64>().expect("a number"))
            .collect();
        closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
    }

    fn number(json: &serde_json::Value, key: &str) -> f64 {
        json[key].as_f64().unwrap_or_else(|| panic!("reference field {key}"))
    }

    fn reference() -> serde_json::Value {
        let text = std::fs::read_to_string(XOM_REFERENCE).expect("read the GARCH reference");
        serde_json::from_str(&text).expect("reference JSON")
    }

    /// Our likelihood at arch's optimum, with arch's start, is arch's likelihood: checks the t density exactly.
    #[test]
    fn likelihood_matches_arch_at_its_optimum() {
        let (returns, refv) = (xom_returns(), reference());
        assert_eq!(returns.len() as f64, number(&refv, "n"));
        let ll = log_likelihood(
            &returns,
            number(&refv, "omega"),
            number(&refv, "alpha"),
            number(&refv, "beta"),
            number(&refv, "nu"),
            VarianceStart::Backcast(number(&refv, "backcast")),
        );
        let want = number(&refv, "log_likelihood");
        assert!((ll - want).abs() < 1e-6, "ours {ll} vs arch {want}");
    }

    /// With arch's start our search reaches arch's maximum.
    #[test]
    fn fit_with_arch_start_matches_arch() {
        let (returns, refv) = (xom_returns(), reference());
        let fit = fit_with_start(&returns, VarianceStart::Backcast(number(&refv, "backcast"))).expect("fit");
        let want = number(&refv, "log_likelihood");
        assert!(fit.log_likelihood > want - 1e-3, "ours {} vs arch {want}", fit.log_likelihood);
        assert!(fit.log_likelihood < want + 0.05, "ours {} vs arch {want}", fit.log_likelihood);
        assert!((fit.alpha - number(&refv, "alpha")).abs() < 2e-3, "{fit:?}");
        assert!((fit.beta - number(&refv, "beta")).abs() < 2e-3, "{fit:?}");
        assert!((fit.nu - number(&refv, "nu")).abs() < 0.05, "{fit:?}");
        assert!(close(fit.omega, number(&refv, "omega"), 0.02), "{fit:?}");
    }

    /// The public fit (unconditional start) against arch (a different start, about 1.5 nats apart on this series)
    /// and against scipy's maximum of the very same likelihood.
    #[test]
    fn fit_matches_the_reference() {
        let (returns, refv) = (xom_returns(), reference());
        let fit = fit_garch_t(&returns).expect("fit");
        let arch_ll = number(&refv, "log_likelihood");
        assert!(
            fit.log_likelihood < arch_ll && fit.log_likelihood > arch_ll - 2.5,
            "{fit:?} vs arch {arch_ll}"
        );
        assert!((fit.alpha - number(&refv, "alpha")).abs() < 0.01, "{fit:?}");
        assert!((fit.beta - number(&refv, "beta")).abs() < 0.01, "{fit:?}");
        assert!((fit.nu - number(&refv, "nu")).abs() < 0.5, "{fit:?}");

        let same = &refv["unconditional_start"];
        let want = number(same, "log_likelihood");
        assert!((fit.log_likelihood - want).abs() < 1e-3, "ours {} vs scipy {want}", fit.log_likelihood);
        assert!((fit.alpha - number(same, "alpha")).abs() < 2e-3, "{fit:?}");
        assert!((fit.beta - number(same, "beta")).abs() < 2e-3, "{fit:?}");
        assert!((fit.nu - number(same, "nu")).abs() < 0.05, "{fit:?}");
        assert!(close(fit.omega, number(same, "omega"), 0.02), "{fit:?}");
        let v = fit.variances(&returns);
        assert_eq!(v.len(), returns.len() + 1);
        assert!(v.iter().all(|h| h.is_finite() && *h > 0.0));
    }
}
