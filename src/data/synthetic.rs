//! Synthetic daily OHLCV data for demos and tests — **not real market data**.
//!
//! The series is a seeded random walk in log price whose daily returns follow a GARCH(1,1) process,
//! so calm and turbulent stretches alternate (volatility clustering) as in real equity prices:
//!
//! ```text
//! r_t       = mu + sigma_t * z_t,                  z_t ~ N(0, 1)
//! sigma_t^2 = omega + alpha * (r_{t-1} - mu)^2 + beta * sigma_{t-1}^2
//! omega     = mean_vol^2 * (1 - alpha - beta)      (so the long-run daily vol is `mean_vol`)
//! ```
//!
//! `close_t = close_{t-1} * exp(r_t)`. Each bar's open is the previous close times a small overnight
//! gap, high and low extend beyond the open/close by a random intraday range proportional to
//! `sigma_t`, and volume is lognormal with its log rising with `|r_t - mu|` (heavier trading on big
//! moves). Only weekdays are produced (no holidays are skipped).
//!
//! Normal draws come from Box–Muller on uniforms taken directly from a
//! [`ChaCha8Rng`](rand_chacha::ChaCha8Rng) seeded with [`SyntheticConfig::seed`], so the output is
//! bit-for-bit reproducible for a given seed and configuration.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;

/// Trading days per year, used to turn the annual drift into a daily one.
const TRADING_DAYS_PER_YEAR: f64 = 252.0;

/// Parameters of the synthetic series. [`Default`] gives about ten years of weekdays from a Monday.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticConfig {
    /// Seed of the ChaCha8 random number generator.
    pub seed: u64,
    /// First date; if it falls on a weekend the series starts on the following Monday.
    pub start: NaiveDate,
    /// Number of bars (weekdays) to produce.
    pub days: usize,
    /// Close of the (virtual) day before the first bar; the first open is gapped from it.
    pub start_price: f64,
    /// Expected log return per year (e.g. 0.07 for about 7%).
    pub annual_drift: f64,
    /// Long-run (unconditional) standard deviation of daily log returns.
    pub mean_vol: f64,
    /// GARCH weight on the previous squared shock.
    pub alpha: f64,
    /// GARCH weight on the previous variance; `alpha + beta` must be below 1.
    pub beta: f64,
    /// Standard deviation of the overnight gap, as a fraction of the day's `sigma_t`.
    pub gap_vol: f64,
    /// Scale of the intraday range beyond open/close, as a fraction of the day's `sigma_t`.
    pub range_vol: f64,
    /// Median volume on a day with an average-sized move.
    pub base_volume: f64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            seed: 42,
            start: NaiveDate::from_ymd_opt(2015, 1, 5).expect("valid date"),
            days: 2610,
            start_price: 100.0,
            annual_drift: 0.07,
            mean_vol: 0.015,
            alpha: 0.08,
            beta: 0.90,
            gap_vol: 0.2,
            range_vol: 0.5,
            base_volume: 2_000_000.0,
        }
    }
}

/// One synthetic daily bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticBar {
    pub date: NaiveDate,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: u64,
}

/// Standard-normal draws from a ChaCha8 stream, using only `next_u64` so the numbers do not depend on
/// how a `rand` version maps bits to floats.
struct Normals {
    rng: ChaCha8Rng,
    spare: Option<f64>,
}

impl Normals {
    fn new(seed: u64) -> Self {
        Normals { rng: ChaCha8Rng::seed_from_u64(seed), spare: None }
    }

    /// A uniform draw in (0, 1]: 53 random bits, shifted away from zero so `ln` is finite.
    fn uniform(&mut self) -> f64 {
        ((self.rng.next_u64() >> 11) as f64 + 1.0) * (1.0 / (1u64 << 53) as f64)
    }

    /// The next standard-normal draw (Box–Muller; the second value of each pair is kept for later).
    fn next(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let radius = (-2.0 * self.uniform().ln()).sqrt();
        let angle = std::f64::consts::TAU * self.uniform();
        self.spare = Some(radius * angle.sin());
        radius * angle.cos()
    }
}

/// The first weekday on or after `date`.
fn first_weekday(date: NaiveDate) -> NaiveDate {
    match date.weekday() {
        Weekday::Sat => date + Duration::days(2),
        Weekday::Sun => date + Duration::days(1),
        _ => date,
    }
}

/// The weekday after `date` (Friday → Monday).
fn next_weekday(date: NaiveDate) -> NaiveDate {
    first_weekday(date + Duration::days(1))
}

/// The bars of [`generate`] as a [`Series`](crate::data::Series) (with volume).
pub fn series(config: &SyntheticConfig) -> crate::data::Series {
    let bars = generate(config);
    crate::data::Series {
        dates: bars.iter().map(|b| b.date).collect(),
        open: bars.iter().map(|b| b.open).collect(),
        high: bars.iter().map(|b| b.high).collect(),
        low: bars.iter().map(|b| b.low).collect(),
        close: bars.iter().map(|b| b.close).collect(),
        volume: Some(bars.iter().map(|b| b.volume as f64).collect()),
    }
}

/// Generates `config.days` weekday bars. Deterministic: the same config always gives the same bars.
///
/// # Panics
/// If `start_price` or `mean_vol` is not positive, or `alpha`/`beta` are negative or sum to 1 or more.
pub fn generate(config: &SyntheticConfig) -> Vec<SyntheticBar> {
    assert!(config.start_price > 0.0, "start_price must be positive");
    assert!(config.mean_vol > 0.0, "mean_vol must be positive");
    assert!(
        config.alpha >= 0.0 && config.beta >= 0.0 && config.alpha + config.beta < 1.0,
        "GARCH needs alpha, beta >= 0 and alpha + beta < 1"
    );
    let mu = config.annual_drift / TRADING_DAYS_PER_YEAR;
    let long_run_var = config.mean_vol * config.mean_vol;
    let omega = long_run_var * (1.0 - config.alpha - config.beta);

    let mut normals = Normals::new(config.seed);
    let mut bars = Vec::with_capacity(config.days);
    let mut date = first_weekday(config.start);
    let mut prev_close = config.start_price;
    let mut variance = long_run_var;
    for _ in 0..config.days {
        let sigma = variance.sqrt();
        let shock = sigma * normals.next();
        let close = prev_close * (mu + shock).exp();
        let open = prev_close * (config.gap_vol * sigma * normals.next()).exp();
        let range = config.range_vol * sigma;
        let high = open.max(close) * (range * normals.next().abs()).exp();
        let low = open.min(close) * (-range * normals.next().abs()).exp();
        let volume = draw_volume(config, shock, normals.next());
        bars.push(SyntheticBar { date, open, high, low, close, volume });

        variance = omega + config.alpha * shock * shock + config.beta * variance;
        prev_close = close;
        date = next_weekday(date);
    }
    bars
}

/// Lognormal volume whose log grows with the size of the day's shock relative to the long-run vol.
fn draw_volume(config: &SyntheticConfig, shock: f64, z: f64) -> u64 {
    let log_volume = config.base_volume.ln() + 0.4 * (shock.abs() / config.mean_vol - 0.8) + 0.25 * z;
    log_volume.exp().round() as u64
}

/// Writes `bars` as CSV: header `Date,Open,High,Low,Close,Volume`, ISO dates, prices with 4 decimals,
/// integer volume, LF line endings.
pub fn write_csv(bars: &[SyntheticBar], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "Date,Open,High,Low,Close,Volume")?;
    for bar in bars {
        writeln!(
            out,
            "{},{:.4},{:.4},{:.4},{:.4},{}",
            bar.date.format("%Y-%m-%d"),
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.volume
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn closes(bars: &[SyntheticBar]) -> Vec<f64> {
        bars.iter().map(|b| b.close).collect()
    }

    fn log_returns(bars: &[SyntheticBar]) -> Vec<f64> {
        bars.windows(2).map(|w| (w[1].close / w[0].close).ln()).collect()
    }

    /// Sample autocorrelation of `x` at `lag`.
    fn autocorrelation(x: &[f64], lag: usize) -> f64 {
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let var: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
        let cov: f64 = x.windows(lag + 1).map(|w| (w[0] - mean) * (w[lag] - mean)).sum();
        cov / var
    }

    #[test]
    fn same_seed_same_bars_different_seed_different_bars() {
        let config = SyntheticConfig { days: 300, ..SyntheticConfig::default() };
        assert_eq!(generate(&config), generate(&config));
        let other = SyntheticConfig { seed: 43, ..config.clone() };
        assert_ne!(closes(&generate(&config)), closes(&generate(&other)));
    }

    #[test]
    fn only_weekdays_increasing_and_correct_count() {
        let config = SyntheticConfig::default();
        let bars = generate(&config);
        assert_eq!(bars.len(), config.days);
        assert_eq!(bars[0].date, config.start);
        assert!(bars.iter().all(|b| !matches!(b.date.weekday(), Weekday::Sat | Weekday::Sun)));
        assert!(bars.windows(2).all(|w| w[0].date < w[1].date));
        // Consecutive bars are at most a weekend apart.
        assert!(bars.windows(2).all(|w| (w[1].date - w[0].date).num_days() <= 3));
    }

    #[test]
    fn weekend_start_moves_to_monday() {
        let saturday = NaiveDate::from_ymd_opt(2015, 1, 3).unwrap();
        let config = SyntheticConfig { start: saturday, days: 3, ..SyntheticConfig::default() };
        let bars = generate(&config);
        assert_eq!(bars[0].date, NaiveDate::from_ymd_opt(2015, 1, 5).unwrap());
    }

    #[test]
    fn ohlc_consistent_positive_and_finite() {
        for bar in generate(&SyntheticConfig::default()) {
            let prices = [bar.open, bar.high, bar.low, bar.close];
            assert!(prices.iter().all(|p| p.is_finite() && *p > 0.0), "{bar:?}");
            assert!(bar.low <= bar.open.min(bar.close), "{bar:?}");
            assert!(bar.high >= bar.open.max(bar.close), "{bar:?}");
            assert!(bar.volume > 0, "{bar:?}");
        }
    }

    #[test]
    fn returns_have_plausible_scale_and_volatility_clusters() {
        let returns = log_returns(&generate(&SyntheticConfig::default()));
        let mean = returns.iter().sum::<f64>() / returns.len() as f64;
        let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / returns.len() as f64).sqrt();
        assert!((0.008..0.025).contains(&std), "daily vol {std}");
        let squared: Vec<f64> = returns.iter().map(|r| r * r).collect();
        let rho = autocorrelation(&squared, 1);
        assert!(rho > 0.05, "lag-1 autocorrelation of squared returns {rho}");
    }

    #[test]
    fn volume_is_higher_on_big_moves() {
        let bars = generate(&SyntheticConfig::default());
        let abs_returns: Vec<f64> = log_returns(&bars).iter().map(|r| r.abs()).collect();
        let log_volumes: Vec<f64> = bars[1..].iter().map(|b| (b.volume as f64).ln()).collect();
        let n = abs_returns.len() as f64;
        let (ma, mv) = (abs_returns.iter().sum::<f64>() / n, log_volumes.iter().sum::<f64>() / n);
        let cov: f64 = abs_returns.iter().zip(&log_volumes).map(|(a, v)| (a - ma) * (v - mv)).sum();
        assert!(cov > 0.0);
    }

    #[test]
    fn csv_format() {
        let config = SyntheticConfig { days: 2, ..SyntheticConfig::default() };
        let mut out = Vec::new();
        write_csv(&generate(&config), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        assert_eq!(lines[0], "Date,Open,High,Low,Close,Volume");
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("2015-01-05,"));
        assert!(lines[2].starts_with("2015-01-06,"));
        assert!(!text.contains('\r'));
        let fields: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(fields.len(), 6);
        assert!(fields[1..5].iter().all(|f| f.split('.').nth(1).map(str::len) == Some(4)));
        assert!(fields[5].parse::<u64>().is_ok());
    }

    #[test]
    fn committed_sample_matches_default_config() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample.csv");
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let mut generated = Vec::new();
        write_csv(&generate(&SyntheticConfig::default()), &mut generated).unwrap();
        assert!(
            committed == generated,
            "{} differs from the default synthetic series; regenerate it with \
             `cargo run --example make_sample -- data/sample.csv`",
            path.display()
        );
    }
}
