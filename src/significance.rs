//! Is a difference real? The Diebold–Mariano test and a block-bootstrap interval for the skill.
//!
//! Every "better than naive" figure the tool prints is a difference of two mean losses over the
//! same days. This module says whether that difference is larger than the day-to-day noise would
//! produce by chance, in two complementary ways:
//!
//! * [`diebold_mariano`]: the Diebold–Mariano (1995) test of equal expected loss, exactly as R's
//!   `forecast::dm.test` computes it. From the loss differential d_t = model_loss_t −
//!   baseline_loss_t, with mean d̄ over n days, the autocovariances
//!   γ_k = (1/n) Σ_{t=k+1..n} (d_t − d̄)(d_{t−k} − d̄) for k = 0 … h − 1 (h the forecast horizon:
//!   h-step errors overlap, so d_t is autocorrelated up to lag h − 1, and the truncation lag grows
//!   with the horizon) give var(d̄) = (γ_0 + 2 Σ_{k=1}^{h−1} γ_k) / n (rectangular weights). DM =
//!   d̄ / √var(d̄), corrected for small samples as Harvey, Leybourne and Newbold (1997) propose:
//!   DM* = DM · √((n + 1 − 2h + h(h − 1)/n) / n), with a two-sided p-value from Student's t with
//!   n − 1 degrees of freedom. **A negative statistic means the model's mean loss is lower.**
//!   The rectangular variance can come out ≤ 0 for h ≥ 2 (R's `dm.test` then fails); here the test
//!   falls back to Newey–West Bartlett weights w_k = 1 − k/h, which are never negative, and says
//!   so in [`DieboldMariano::estimator`].
//! * [`bootstrap_skill`]: a percentile confidence interval for the skill (1 − √(mean model / mean
//!   baseline) for squared losses, 1 − mean model / mean baseline otherwise, see [`SkillForm`])
//!   from a **circular** block bootstrap (Politis and Romano 1992): whole blocks of consecutive
//!   (model, baseline) loss pairs are drawn together, wrapping around the end of the series, so the
//!   interval keeps both the correlation of the two forecasters on a day and the serial
//!   correlation within a block. Blocks are ⌈n^(1/3)⌉ days long, and never shorter than h. The
//!   draws come from a ChaCha8 generator seeded with a fixed constant, so a report is reproducible.
//!
//! What the test assumes, and how to read it:
//!
//! * The loss differential is covariance-stationary with autocorrelation that dies out after
//!   h − 1 lags. Volatility clusters make daily losses far from identically distributed; the test
//!   tolerates that (it needs only stationarity of d_t), but a regime change within the span
//!   weakens it.
//! * The forecasts are taken as given: the test compares the two forecast series actually made,
//!   not the models that produced them, so it says nothing about how a retrained model would do.
//! * The p-value is the chance of a mean loss difference at least this large, in either direction,
//!   if both forecasters had the same expected loss. p < α with a positive skill reads
//!   "significantly better"; p ≥ α reads "no evidence of a difference", not "equally good".
//! * The verdict ([`Significance::verdict`]) comes from the test; the interval says how large the
//!   skill plausibly is. They answer slightly different questions (a mean difference, a ratio of
//!   means) and on the boundary one may exclude 0 while the other does not.
//! * Comparing many tickers or many models at α = 0.05 will find about one in twenty
//!   "significant" by chance alone.
//!
//! Nothing here panics: empty, mismatched, non-finite or constant inputs give `None` from the two
//! tests and NaN fields (null in JSON) with [`Verdict::Unknown`] from [`significance`].

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::exact_float::nan_as_null;

/// Bootstrap resamples [`significance`] draws.
pub const DEFAULT_RESAMPLES: usize = 2000;
/// Confidence level of the skill interval [`significance`] computes.
pub const DEFAULT_LEVEL: f64 = 0.95;
/// Seed of the bootstrap's ChaCha8 generator in [`significance`]: reports are reproducible.
pub const DEFAULT_SEED: u64 = 16;
/// The most resamples [`bootstrap_skill`] accepts (it keeps every resampled skill in memory).
pub const MAX_RESAMPLES: usize = 1_000_000;
/// The usual significance level for [`Significance::verdict`] and [`Significance::describe`].
pub const DEFAULT_ALPHA: f64 = 0.05;

/// Which loss the differential is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// e², the loss behind RMSE.
    Squared,
    /// |e|, the loss behind MAE.
    Absolute,
    /// The interval (Winkler) score of a prediction interval. It is not a function of a point
    /// error: pass the scores themselves as the loss series; [`Loss::of`] gives NaN for it.
    IntervalScore,
}

impl Loss {
    /// The loss of one error (forecast − actual); NaN stays NaN, and [`Loss::IntervalScore`],
    /// which needs the interval, gives NaN.
    pub fn of(self, error: f64) -> f64 {
        match self {
            Loss::Squared => error * error,
            Loss::Absolute => error.abs(),
            Loss::IntervalScore => f64::NAN,
        }
    }

    /// How a skill is formed from this loss: the RMSE ratio for squared errors, the plain ratio of
    /// means otherwise (1 − MAE ratio, 1 − interval-score ratio).
    pub fn skill_form(self) -> SkillForm {
        match self {
            Loss::Squared => SkillForm::Rmse,
            Loss::Absolute | Loss::IntervalScore => SkillForm::MeanRatio,
        }
    }
}

/// How the skill is formed from the two mean losses (> 0: the model is better).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkillForm {
    /// 1 − √(mean model / mean baseline): 1 − RMSE ratio, for squared losses.
    Rmse,
    /// 1 − mean model / mean baseline: for absolute errors (1 − MAE ratio) or interval scores.
    MeanRatio,
}

impl SkillForm {
    /// The skill from the two mean losses; NaN when the baseline's mean is 0 or either is not
    /// finite, or (for [`SkillForm::Rmse`]) when the ratio is negative.
    pub fn skill(self, model_mean: f64, baseline_mean: f64) -> f64 {
        let ratio = model_mean / baseline_mean;
        if !ratio.is_finite() || baseline_mean == 0.0 {
            return f64::NAN;
        }
        match self {
            SkillForm::Rmse => 1.0 - ratio.sqrt(),
            SkillForm::MeanRatio => 1.0 - ratio,
        }
    }
}

/// Which long-run variance estimator the Diebold–Mariano test used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variance {
    /// γ_0 + 2 Σ γ_k, k < h: Diebold–Mariano's and R's `dm.test`'s.
    Rectangular,
    /// γ_0 + 2 Σ (1 − k/h) γ_k: Newey–West, used when the rectangular one is ≤ 0.
    Bartlett,
}

/// The result of a Diebold–Mariano test (with the Harvey–Leybourne–Newbold correction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DieboldMariano {
    /// DM*; negative when the model's mean loss is lower.
    pub statistic: f64,
    /// Two-sided p-value, Student t with n − 1 degrees of freedom.
    pub p_value: f64,
    /// Days compared.
    pub n: usize,
    /// Forecast horizon h in days.
    pub horizon: usize,
    /// Truncation lag of the autocovariances, h − 1.
    pub lag: usize,
    /// d̄, the mean of model loss − baseline loss.
    pub mean_differential: f64,
    /// The estimated variance of d̄ (before the HLN correction).
    pub variance: f64,
    /// Which weights gave [`DieboldMariano::variance`].
    pub estimator: Variance,
}

/// Losses of errors (forecast − actual): `loss` applied to each; NaN stays NaN.
pub fn losses(errors: &[f64], loss: Loss) -> Vec<f64> {
    errors.iter().map(|&e| loss.of(e)).collect()
}

/// Diebold–Mariano test of equal expected loss on two loss series of the same days (model,
/// baseline), for `horizon`-step forecasts; see the module documentation for the formulas.
///
/// `None` when the lengths differ, there are fewer than 2 days or not more days than the horizon,
/// the horizon is 0, a loss is not finite, or the differential has no variance (identical or
/// constantly shifted losses).
pub fn diebold_mariano(model_loss: &[f64], baseline_loss: &[f64], horizon: usize) -> Option<DieboldMariano> {
    let n = model_loss.len();
    if n != baseline_loss.len() || n < 2 || horizon == 0 || horizon >= n {
        return None;
    }
    let d: Vec<f64> = model_loss.iter().zip(baseline_loss).map(|(m, b)| m - b).collect();
    if d.iter().any(|x| !x.is_finite()) || d.iter().all(|&x| x == d[0]) {
        return None;
    }
    let nf = n as f64;
    let mean = d.iter().sum::<f64>() / nf;
    let gamma: Vec<f64> =
        (0..horizon).map(|k| (k..n).map(|t| (d[t] - mean) * (d[t - k] - mean)).sum::<f64>() / nf).collect();
    let rectangular = (gamma[0] + 2.0 * gamma[1..].iter().sum::<f64>()) / nf;
    let (variance, estimator) = if rectangular > 0.0 && rectangular.is_finite() {
        (rectangular, Variance::Rectangular)
    } else {
        let h = horizon as f64;
        let weighted: f64 = gamma.iter().enumerate().skip(1).map(|(k, g)| (1.0 - k as f64 / h) * g).sum();
        ((gamma[0] + 2.0 * weighted) / nf, Variance::Bartlett)
    };
    if !(variance > 0.0 && variance.is_finite()) {
        return None;
    }
    let h = horizon as f64;
    let correction = (nf + 1.0 - 2.0 * h + h * (h - 1.0) / nf) / nf;
    if correction.is_nan() || correction <= 0.0 {
        return None;
    }
    let statistic = mean / variance.sqrt() * correction.sqrt();
    if !statistic.is_finite() {
        return None;
    }
    // The lower tail at −|DM*| keeps full relative precision for tiny p-values.
    let t = StudentsT::new(0.0, 1.0, nf - 1.0).ok()?;
    let p_value = (2.0 * t.cdf(-statistic.abs())).clamp(0.0, 1.0);
    Some(DieboldMariano {
        statistic,
        p_value,
        n,
        horizon,
        lag: horizon - 1,
        mean_differential: mean,
        variance,
        estimator,
    })
}

/// A bootstrap percentile confidence interval for the skill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkillInterval {
    /// Lower end: the (1 − level)/2 quantile of the resampled skills.
    pub low: f64,
    /// Upper end: the (1 + level)/2 quantile of the resampled skills.
    pub high: f64,
    /// Days per block.
    pub block_length: usize,
    /// Number of resamples drawn.
    pub resamples: usize,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
}

/// The bootstrap's block length for `n` days and a `horizon`: ⌈n^(1/3)⌉, at least `horizon`, at
/// most `n` (0 for `n` = 0).
pub fn block_length(n: usize, horizon: usize) -> usize {
    // The smallest b with b³ ≥ n, in integers (no rounding of a floating cube root).
    let mut b = (n as f64).cbrt().floor() as usize;
    while b.saturating_mul(b).saturating_mul(b) < n {
        b += 1;
    }
    while b > 1 && (b - 1).saturating_mul(b - 1).saturating_mul(b - 1) >= n {
        b -= 1;
    }
    b.max(horizon).min(n)
}

/// Circular moving-block bootstrap percentile interval of the skill ([`SkillForm`]) of a model over
/// a baseline from two loss series of the same days.
///
/// Each resample draws ⌈n / b⌉ blocks of b = [`block_length`]`(n, horizon)` consecutive days, each
/// starting at a uniformly drawn day and wrapping around the end of the series, keeps the first n
/// days, and forms the skill from the resampled (model, baseline) pairs, which are always drawn
/// together. The interval's ends are the (1 ∓ level)/2 quantiles of the resampled skills (linear
/// interpolation between order statistics, R's type 7). The same inputs and `seed` give the same
/// interval (ChaCha8).
///
/// `None` when the lengths differ, there are fewer than 2 days or not more days than the horizon,
/// the horizon or `resamples` is 0, `resamples` is above [`MAX_RESAMPLES`], `level` is not
/// strictly between 0 and 1, a loss is not finite, or a skill (the point skill or a resampled
/// one) is not finite, e.g. a baseline with zero loss.
pub fn bootstrap_skill(
    model_loss: &[f64],
    baseline_loss: &[f64],
    form: SkillForm,
    horizon: usize,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Option<SkillInterval> {
    let n = model_loss.len();
    if n != baseline_loss.len()
        || n < 2
        || horizon == 0
        || horizon >= n
        || resamples == 0
        || resamples > MAX_RESAMPLES
        || !strictly_between_0_and_1(level)
        || model_loss.iter().chain(baseline_loss).any(|x| !x.is_finite())
        || !point_skill(model_loss, baseline_loss, form).is_finite()
    {
        return None;
    }
    let block = block_length(n, horizon);
    let blocks = n.div_ceil(block);
    let nf = n as f64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut skills = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let (mut model_sum, mut baseline_sum, mut taken) = (0.0, 0.0, 0);
        for _ in 0..blocks {
            let start = rng.random_range(0..n);
            for j in 0..block.min(n - taken) {
                let i = (start + j) % n;
                model_sum += model_loss[i];
                baseline_sum += baseline_loss[i];
            }
            taken += block.min(n - taken);
        }
        let skill = form.skill(model_sum / nf, baseline_sum / nf);
        if !skill.is_finite() {
            return None;
        }
        skills.push(skill);
    }
    skills.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Some(SkillInterval {
        low: quantile(&skills, tail),
        high: quantile(&skills, 1.0 - tail),
        block_length: block,
        resamples,
        level,
    })
}

/// 0 < x < 1 (false for NaN).
fn strictly_between_0_and_1(x: f64) -> bool {
    x > 0.0 && x < 1.0
}

/// The `p` quantile of sorted, non-empty `values`, interpolating linearly (R's type 7).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The skill from the mean losses of two same-length, non-empty series; NaN otherwise.
fn point_skill(model_loss: &[f64], baseline_loss: &[f64], form: SkillForm) -> f64 {
    if model_loss.is_empty() || model_loss.len() != baseline_loss.len() {
        return f64::NAN;
    }
    let n = model_loss.len() as f64;
    form.skill(model_loss.iter().sum::<f64>() / n, baseline_loss.iter().sum::<f64>() / n)
}

/// Everything a report prints beside a skill. In JSON, a figure that could not be computed is
/// `null` (NaN in memory), both ways.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Significance {
    /// The point skill from the mean losses ([`SkillForm`]); > 0: the model is better.
    #[serde(with = "nan_as_null")]
    pub skill: f64,
    /// Diebold–Mariano statistic DM* (HLN-corrected); negative: the model's loss is lower.
    #[serde(with = "nan_as_null")]
    pub statistic: f64,
    /// Two-sided p-value of the Diebold–Mariano test.
    #[serde(with = "nan_as_null")]
    pub p_value: f64,
    /// Lower end of the bootstrap interval of the skill.
    #[serde(with = "nan_as_null")]
    pub ci_low: f64,
    /// Upper end of the bootstrap interval of the skill.
    #[serde(with = "nan_as_null")]
    pub ci_high: f64,
    /// Confidence level of the interval ([`DEFAULT_LEVEL`]).
    pub level: f64,
    /// The loss the differential was built from.
    pub loss: Loss,
    /// Forecast horizon in days.
    pub horizon: usize,
    /// Days compared (0 when the two series differ in length).
    pub n: usize,
    /// Bootstrap block length in days (0 when no interval was computed).
    pub block_length: usize,
    /// Bootstrap resamples drawn (0 when no interval was computed).
    pub resamples: usize,
}

/// What a [`Significance`] says at a significance level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// p < α and the model's mean loss is lower.
    SignificantlyBetter,
    /// p < α and the model's mean loss is higher.
    SignificantlyWorse,
    /// p ≥ α: no evidence of a difference (which is not evidence of equality).
    NotSignificant,
    /// The test could not be run (too few days, identical losses, NaN, …) or α is not in (0, 1).
    Unknown,
}

impl Verdict {
    /// The verdict in words: "significantly better", "significantly worse", "not significant",
    /// "significance unknown".
    pub fn phrase(self) -> &'static str {
        match self {
            Verdict::SignificantlyBetter => "significantly better",
            Verdict::SignificantlyWorse => "significantly worse",
            Verdict::NotSignificant => "not significant",
            Verdict::Unknown => "significance unknown",
        }
    }
}

/// Runs [`diebold_mariano`] and [`bootstrap_skill`] (with [`DEFAULT_RESAMPLES`], [`DEFAULT_LEVEL`]
/// and [`DEFAULT_SEED`]) on two **loss** series of the same days (use [`losses`] to get them from
/// errors), and fills a [`Significance`]. `loss` records which loss the series hold, and so how
/// the skill is formed ([`Loss::skill_form`]). A part that cannot be computed leaves its fields
/// NaN (and its counts 0); this never panics.
pub fn significance(model_loss: &[f64], baseline_loss: &[f64], loss: Loss, horizon: usize) -> Significance {
    let form = loss.skill_form();
    let same = model_loss.len() == baseline_loss.len();
    let finite = model_loss.iter().chain(baseline_loss).all(|x| x.is_finite());
    let skill = if same && finite { point_skill(model_loss, baseline_loss, form) } else { f64::NAN };
    let dm = diebold_mariano(model_loss, baseline_loss, horizon);
    let ci = bootstrap_skill(
        model_loss,
        baseline_loss,
        form,
        horizon,
        DEFAULT_RESAMPLES,
        DEFAULT_LEVEL,
        DEFAULT_SEED,
    );
    Significance {
        skill,
        statistic: dm.map_or(f64::NAN, |d| d.statistic),
        p_value: dm.map_or(f64::NAN, |d| d.p_value),
        ci_low: ci.map_or(f64::NAN, |c| c.low),
        ci_high: ci.map_or(f64::NAN, |c| c.high),
        level: DEFAULT_LEVEL,
        loss,
        horizon,
        n: if same { model_loss.len() } else { 0 },
        block_length: ci.map_or(0, |c| c.block_length),
        resamples: ci.map_or(0, |c| c.resamples),
    }
}

impl Significance {
    /// The verdict at significance level `alpha` (e.g. [`DEFAULT_ALPHA`]): from the p-value, with
    /// the direction from the sign of the skill. [`Verdict::Unknown`] when the p-value or the skill
    /// is NaN, or `alpha` is not strictly between 0 and 1.
    pub fn verdict(&self, alpha: f64) -> Verdict {
        if !strictly_between_0_and_1(alpha) || !self.p_value.is_finite() || !self.skill.is_finite() {
            return Verdict::Unknown;
        }
        match (self.p_value < alpha, self.skill) {
            (true, s) if s > 0.0 => Verdict::SignificantlyBetter,
            (true, s) if s < 0.0 => Verdict::SignificantlyWorse,
            _ => Verdict::NotSignificant,
        }
    }

    /// The p-value for a table column: 2 significant digits, "<0.001" below 0.001, "n/a" when
    /// it could not be computed.
    pub fn p_text(&self) -> String {
        match self.p_value {
            p if !p.is_finite() => "n/a".to_string(),
            p if p < 0.001 => "<0.001".to_string(),
            p => two_significant(p),
        }
    }

    /// One ASCII phrase for a report:
    /// `"not significant (DM p = 0.61; skill 95% CI -0.4% ... +0.7%)"`,
    /// `"significantly better (DM p < 0.001; skill 95% CI +1.2% ... +3.0%)"`, or
    /// `"significance unknown (DM p = n/a; skill 95% CI n/a)"`.
    ///
    /// The p-value has 2 significant digits ("0.0030", "0.61", "1.0") and reads "p < 0.001" below
    /// 0.001; the interval's ends are percentages with one decimal and always a sign, plain ASCII
    /// "-" for minus, joined by "...".
    pub fn describe(&self, alpha: f64) -> String {
        let p = match self.p_value {
            p if p < 0.001 => "p < 0.001".to_string(),
            _ => format!("p = {}", self.p_text()),
        };
        let level = format!("{:.1}", self.level * 100.0);
        let level = level.strip_suffix(".0").unwrap_or(&level);
        let ci = if self.ci_low.is_finite() && self.ci_high.is_finite() {
            format!("{:+.1}% ... {:+.1}%", 100.0 * self.ci_low, 100.0 * self.ci_high)
        } else {
            "n/a".to_string()
        };
        format!("{} (DM {p}; skill {level}% CI {ci})", self.verdict(alpha).phrase())
    }
}

/// A positive, finite number with 2 significant digits, trailing zeros kept ("0.0030", "0.61").
fn two_significant(x: f64) -> String {
    let decimals = |x: f64| (1 - x.log10().floor() as i32).max(0) as usize;
    let rounded: f64 = format!("{x:.*}", decimals(x)).parse().unwrap_or(x);
    // Rounding may carry into the next power of ten (0.999 → 1.00): count the digits again.
    format!("{rounded:.*}", decimals(rounded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn hand_computed_rectangular_case() {
        // d = [2, 0, 2, 0]: d̄ = 1, γ_0 = 1; h = 1: var = 1/4, DM = 2, HLN √(3/4): DM* = √3.
        // Student t, 3 df: F(√3) = 3/4 + 1/(2π), so p = 1/2 − 1/π.
        let dm = diebold_mariano(&[2.0, 0.0, 2.0, 0.0], &[0.0; 4], 1).unwrap();
        assert!(close(dm.statistic, 3f64.sqrt(), 1e-14), "{dm:?}");
        assert!(close(dm.p_value, 0.5 - std::f64::consts::FRAC_1_PI, 1e-12), "{dm:?}");
        assert_eq!((dm.n, dm.horizon, dm.lag, dm.estimator), (4, 1, 0, Variance::Rectangular));
    }

    #[test]
    fn negative_rectangular_variance_falls_back_to_bartlett() {
        // d = [2, 0, 2, 0], h = 2: γ_1 = −3/4, so γ_0 + 2γ_1 = −1/2 < 0. Bartlett, w_1 = 1/2:
        // γ_0 + 2 · (1/2) · γ_1 = 1/4, var = 1/16, DM = 4, HLN √(1.5/4): DM* = √6.
        // Student t, 3 df: p = 1 − (2/π)(√2/3 + atan √2).
        let dm = diebold_mariano(&[2.0, 0.0, 2.0, 0.0], &[0.0; 4], 2).unwrap();
        assert_eq!(dm.estimator, Variance::Bartlett);
        assert!(close(dm.variance, 1.0 / 16.0, 1e-14), "{dm:?}");
        assert!(close(dm.statistic, 6f64.sqrt(), 1e-14), "{dm:?}");
        let p = 1.0 - 2.0 / std::f64::consts::PI * (2f64.sqrt() / 3.0 + 2f64.sqrt().atan());
        assert!(close(dm.p_value, p, 1e-12), "{} vs {p}", dm.p_value);
    }

    #[test]
    fn sign_follows_the_model() {
        let better = diebold_mariano(&[0.0, 1.0, 0.0, 0.5], &[1.0, 1.5, 1.0, 1.0], 1).unwrap();
        assert!(better.statistic < 0.0);
        let worse = diebold_mariano(&[1.0, 1.5, 1.0, 1.0], &[0.0, 1.0, 0.0, 0.5], 1).unwrap();
        assert_eq!(worse.statistic, -better.statistic);
    }

    #[test]
    fn block_lengths() {
        let cases = [(0, 1, 0), (1, 1, 1), (8, 1, 2), (9, 1, 3), (27, 1, 3), (28, 1, 4), (30, 1, 4)];
        for (n, h, b) in cases {
            assert_eq!(block_length(n, h), b, "n = {n}");
        }
        assert_eq!(block_length(500, 1), 8);
        assert_eq!(block_length(1590, 1), 12);
        assert_eq!(block_length(1590, 20), 20);
        assert_eq!(block_length(5, 9), 5);
        assert_eq!(block_length(1_000_000, 1), 100);
        assert_eq!(block_length(usize::MAX, 1), 2_642_246);
    }

    #[test]
    fn type_7_quantiles() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&x, 0.0), 1.0);
        assert_eq!(quantile(&x, 1.0), 5.0);
        assert_eq!(quantile(&x, 0.5), 3.0);
        assert!(close(quantile(&x, 0.1), 1.4, 1e-15));
        assert_eq!(quantile(&[7.0], 0.025), 7.0);
    }

    #[test]
    fn skill_forms() {
        assert!(close(SkillForm::Rmse.skill(0.81, 1.0), 0.1, 1e-15));
        assert!(close(SkillForm::MeanRatio.skill(0.9, 1.0), 0.1, 1e-15));
        assert!(SkillForm::MeanRatio.skill(1.0, 0.0).is_nan());
        assert!(SkillForm::MeanRatio.skill(0.0, 0.0).is_nan());
        assert!(SkillForm::Rmse.skill(-1.0, 1.0).is_nan());
        assert!(SkillForm::Rmse.skill(f64::NAN, 1.0).is_nan());
        assert_eq!(losses(&[-2.0, 3.0], Loss::Squared), [4.0, 9.0]);
        assert_eq!(losses(&[-2.0, 3.0], Loss::Absolute), [2.0, 3.0]);
        assert!(losses(&[-2.0, 3.0], Loss::IntervalScore).iter().all(|x| x.is_nan()));
    }

    fn with(skill: f64, p_value: f64, ci_low: f64, ci_high: f64) -> Significance {
        Significance {
            skill,
            statistic: f64::NAN,
            p_value,
            ci_low,
            ci_high,
            level: DEFAULT_LEVEL,
            loss: Loss::Squared,
            horizon: 1,
            n: 100,
            block_length: 5,
            resamples: DEFAULT_RESAMPLES,
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(with(0.02, 0.003, 0.01, 0.03).verdict(0.05), Verdict::SignificantlyBetter);
        assert_eq!(with(-0.02, 0.003, -0.03, -0.01).verdict(0.05), Verdict::SignificantlyWorse);
        assert_eq!(with(0.02, 0.05, 0.0, 0.03).verdict(0.05), Verdict::NotSignificant);
        assert_eq!(with(0.02, 0.003, 0.01, 0.03).verdict(0.001), Verdict::NotSignificant);
        assert_eq!(with(f64::NAN, 0.003, 0.01, 0.03).verdict(0.05), Verdict::Unknown);
        assert_eq!(with(0.02, f64::NAN, 0.01, 0.03).verdict(0.05), Verdict::Unknown);
        for alpha in [0.0, 1.0, -0.1, f64::NAN] {
            assert_eq!(with(0.02, 0.003, 0.01, 0.03).verdict(alpha), Verdict::Unknown);
        }
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            with(0.001, 0.6149, -0.004, 0.007).describe(0.05),
            "not significant (DM p = 0.61; skill 95% CI -0.4% ... +0.7%)"
        );
        assert_eq!(
            with(0.02, 0.003, 0.012, 0.03).describe(0.05),
            "significantly better (DM p = 0.0030; skill 95% CI +1.2% ... +3.0%)"
        );
        assert_eq!(
            with(-0.02, 0.0004, -0.03, -0.012).describe(0.05),
            "significantly worse (DM p < 0.001; skill 95% CI -3.0% ... -1.2%)"
        );
        assert_eq!(
            with(f64::NAN, f64::NAN, f64::NAN, f64::NAN).describe(0.05),
            "significance unknown (DM p = n/a; skill 95% CI n/a)"
        );
        let mut s = with(0.02, 0.003, 0.012, 0.03);
        s.level = 0.9;
        assert!(s.describe(0.05).contains("skill 90% CI"), "{}", s.describe(0.05));
        s.level = 0.975;
        assert!(s.describe(0.05).contains("skill 97.5% CI"), "{}", s.describe(0.05));
    }

    #[test]
    fn p_values_with_two_significant_digits() {
        let cases = [
            (1.0, "1.0"),
            (0.999, "1.0"),
            (0.5, "0.50"),
            (0.05, "0.050"),
            (0.0499, "0.050"),
            (0.00999, "0.010"),
            (0.001, "0.0010"),
            (0.123456, "0.12"),
        ];
        for (p, text) in cases {
            assert_eq!(two_significant(p), text, "{p}");
        }
    }
}
