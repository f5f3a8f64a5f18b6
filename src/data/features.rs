//! Per-day input features and the training target, computed from a [`Series`] without look-ahead.
//!
//! Row `r` of the feature matrix describes day `d = r + 1` of the series (day 0 has no previous
//! close) using only that day and the day before:
//!
//! ```text
//! log(open_d / close_{d-1}), log(high_d / close_{d-1}), log(low_d / close_{d-1}),
//! log(close_d / close_{d-1}), and, with volume, log((volume_d + 1) / (volume_{d-1} + 1))
//! ```
//!
//! and two volatility features, the inputs of a distributional head, which carry the memory of
//! past turbulence further back than a window reaches (each known at day d's close):
//!
//! ```text
//! log_ewma_vol    ½·log v_d,  v_d = λ·v_{d−1} + (1 − λ)·log(close_d / close_{d−1})²
//! log_ewma_range  ½·log p_d,  p_d = λ·p_{d−1} + (1 − λ)·log(high_d / low_d)² / (4 log 2)   (Parkinson)
//! ```
//!
//! with λ = 0.94 (RiskMetrics); over the first 20 rows v and p are the running means of the squares
//! so far, so no row sees a later day (`volatility::ewma_of_squares`, the EWMA baseline's too);
//! both are floored at 10⁻¹² before the log.
//!
//! The target for a window whose last row is `r` is the next row's close log return,
//! `log(close_{d+1} / close_d)`; the price is rebuilt as `close_d · exp(r̂)`.

use super::Series;
use crate::volatility::{ewma_of_squares, EWMA_LAMBDA};

pub const OPEN_GAP: &str = "log_open_prev_close";
pub const HIGH_GAP: &str = "log_high_prev_close";
pub const LOW_GAP: &str = "log_low_prev_close";
pub const CLOSE_RETURN: &str = "log_close_prev_close";
pub const VOLUME_CHANGE: &str = "log_volume_change";

pub const LOG_EWMA_VOL: &str = "log_ewma_vol";
pub const LOG_EWMA_RANGE: &str = "log_ewma_range";

/// The target the model learns: next day's log return of close.
pub const TARGET: &str = "next_log_return_close";

/// Feature rows for a series: `values` is row-major, `rows × names.len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub names: Vec<String>,
    pub values: Vec<f64>,
    pub rows: usize,
}

impl Features {
    pub fn width(&self) -> usize {
        self.names.len()
    }

    pub fn row(&self, r: usize) -> &[f64] {
        &self.values[r * self.width()..(r + 1) * self.width()]
    }

    /// The close log return of every row: row `r`'s value is log(close_{r+1} / close_r).
    pub fn close_returns(&self) -> Vec<f64> {
        let col = self.names.iter().position(|n| n == CLOSE_RETURN).unwrap_or(3);
        (0..self.rows).map(|r| self.row(r)[col]).collect()
    }
}

/// The default feature names for a series with or without volume.
pub fn default_feature_names(has_volume: bool) -> Vec<String> {
    let mut names = vec![OPEN_GAP, HIGH_GAP, LOW_GAP, CLOSE_RETURN];
    if has_volume {
        names.push(VOLUME_CHANGE);
    }
    names.into_iter().map(String::from).collect()
}

/// The features a model is trained on: the default ones, and with `volatility` (a
/// distributional head) the two volatility features.
pub fn training_feature_names(has_volume: bool, volatility: bool) -> Vec<String> {
    let mut names = default_feature_names(has_volume);
    if volatility {
        names.extend([LOG_EWMA_VOL, LOG_EWMA_RANGE].map(String::from));
    }
    names
}

/// ½·log of the EWMA of `squares` ([`volatility::ewma_of_squares`]), floored at 10⁻¹², of the
/// last `keep` of them (the EWMA runs over all of them).
fn log_ewma_volatility(squares: impl Iterator<Item = f64>, keep: usize) -> Vec<f64> {
    let ewma = ewma_of_squares(squares, EWMA_LAMBDA);
    let first = ewma.len().saturating_sub(keep);
    ewma[first..].iter().map(|v| 0.5 * v.max(1e-12).ln()).collect()
}

/// Computes every feature of `series` (which must have at least two rows to give any): the
/// default ones, then the volatility features.
pub fn compute(series: &Series) -> Features {
    compute_last(series, usize::MAX)
}

/// The last `keep` rows of [`compute`] (all of them when there are fewer), bit for bit: the
/// volatility features still run over the whole series, but the rest is computed for those rows
/// only. A forecast reads one window: `predict` computes its `seq_len` rows, not the history.
pub fn compute_last(series: &Series, keep: usize) -> Features {
    let names = training_feature_names(series.volume.is_some(), true);
    let rows = series.len().saturating_sub(1);
    let first = rows.saturating_sub(keep);
    let returns = (1..series.len()).map(|d| (series.close[d] / series.close[d - 1]).ln().powi(2));
    let vol = log_ewma_volatility(returns, keep);
    let ranges = (1..series.len()).map(|d| (series.high[d] / series.low[d]).ln().powi(2) / (4.0 * 2f64.ln()));
    let range = log_ewma_volatility(ranges, keep);
    let mut values = Vec::with_capacity((rows - first) * names.len());
    for (d, (vol, range)) in (first + 1..series.len()).zip(vol.into_iter().zip(range)) {
        let prev_close = series.close[d - 1];
        values.push((series.open[d] / prev_close).ln());
        values.push((series.high[d] / prev_close).ln());
        values.push((series.low[d] / prev_close).ln());
        values.push((series.close[d] / prev_close).ln());
        if let Some(volume) = &series.volume {
            values.push(((volume[d] + 1.0) / (volume[d - 1] + 1.0)).ln());
        }
        values.push(vol);
        values.push(range);
    }
    Features { names, values, rows: rows - first }
}

/// Selects the named columns from `features`, in the order given. Returns the first missing name
/// when the features lack one (a model trained with volume, a CSV without it).
pub fn select(features: &Features, names: &[String]) -> Result<Features, String> {
    let indices: Vec<usize> = names
        .iter()
        .map(|n| features.names.iter().position(|have| have == n).ok_or_else(|| n.clone()))
        .collect::<Result<_, _>>()?;
    let mut values = Vec::with_capacity(features.rows * names.len());
    for r in 0..features.rows {
        let row = features.row(r);
        values.extend(indices.iter().map(|&i| row[i]));
    }
    Ok(Features { names: names.to_vec(), values, rows: features.rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn series(close: &[f64], volume: Option<Vec<f64>>) -> Series {
        let n = close.len();
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        Series {
            dates: (0..n).map(|i| start + chrono::Days::new(i as u64)).collect(),
            open: close.iter().map(|c| c * 0.99).collect(),
            high: close.iter().map(|c| c * 1.02).collect(),
            low: close.iter().map(|c| c * 0.97).collect(),
            close: close.to_vec(),
            volume,
        }
    }

    #[test]
    fn features_use_only_the_day_and_the_previous_close() {
        let s = series(&[100.0, 110.0, 99.0], Some(vec![9.0, 19.0, 0.0]));
        let f = compute(&s);
        assert_eq!(f.rows, 2);
        assert_eq!(f.width(), 7);
        let r0 = f.row(0);
        assert!((r0[0] - (110.0f64 * 0.99 / 100.0).ln()).abs() < 1e-12);
        assert!((r0[1] - (110.0f64 * 1.02 / 100.0).ln()).abs() < 1e-12);
        assert!((r0[2] - (110.0f64 * 0.97 / 100.0).ln()).abs() < 1e-12);
        assert!((r0[3] - (110.0f64 / 100.0).ln()).abs() < 1e-12);
        assert!((r0[4] - (20.0f64 / 10.0).ln()).abs() < 1e-12);
        // zero volume is fine: the +1 keeps the log finite.
        assert!((f.row(1)[4] - (1.0f64 / 20.0).ln()).abs() < 1e-12);
        assert_eq!(f.close_returns(), vec![(1.1f64).ln(), (99.0f64 / 110.0).ln()]);
    }

    #[test]
    fn no_volume_means_four_features_and_select_reports_the_missing_one() {
        let f = compute(&series(&[1.0, 2.0, 3.0], None));
        assert_eq!(f.names, training_feature_names(false, true));
        assert_eq!(&f.names[..4], default_feature_names(false));
        let err = select(&f, &default_feature_names(true)).unwrap_err();
        assert_eq!(err, VOLUME_CHANGE);
        let picked = select(&f, &[CLOSE_RETURN.to_string()]).unwrap();
        assert_eq!(picked.values, f.close_returns());
    }

    #[test]
    fn volatility_features_are_running_means_then_an_ewma_of_the_past() {
        let close: Vec<f64> = (0..40).map(|i| 100.0 * (1.0 + 0.01 * (i % 3) as f64)).collect();
        let f = compute(&series(&close, None));
        let col = f.names.iter().position(|n| n == LOG_EWMA_VOL).unwrap();
        let squares: Vec<f64> = f.close_returns().iter().map(|r| r * r).collect();
        // Row 2: the mean of the first three squares.
        let mean3 = squares[..3].iter().sum::<f64>() / 3.0;
        assert!((f.row(2)[col] - 0.5 * mean3.ln()).abs() < 1e-12);
        // Row 20 onwards: the EWMA recursion.
        let v19 = (2.0 * f.row(19)[col]).exp();
        let v20 = EWMA_LAMBDA * v19 + (1.0 - EWMA_LAMBDA) * squares[20];
        assert!((f.row(20)[col] - 0.5 * v20.ln()).abs() < 1e-12);
        // Changing a later day leaves every earlier row alone.
        let mut later = close.clone();
        later[30] *= 2.0;
        let g = compute(&series(&later, None));
        assert_eq!(f.values[..29 * f.width()], g.values[..29 * g.width()]);
        // The high/low range of the fixture is a constant log(1.02 / 0.97).
        let range = f.names.iter().position(|n| n == LOG_EWMA_RANGE).unwrap();
        let p = (1.02f64 / 0.97).ln().powi(2) / (4.0 * 2f64.ln());
        assert!((f.row(30)[range] - 0.5 * p.ln()).abs() < 1e-9);
    }

    #[test]
    fn the_last_rows_are_the_tail_of_all_rows_bit_for_bit() {
        let close: Vec<f64> = (0..60).map(|i| 100.0 * (1.0 + 0.013 * ((i * 7) % 5) as f64)).collect();
        let volume = Some((0..60).map(|i| (1000 + 37 * i) as f64).collect());
        let s = series(&close, volume);
        let all = compute(&s);
        for keep in [0, 1, 30, 58, 59, 60, 1000] {
            let last = compute_last(&s, keep);
            let rows = keep.min(all.rows);
            assert_eq!(last.rows, rows, "keep {keep}");
            assert_eq!(last.names, all.names);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&last.values),
                bits(&all.values[(all.rows - rows) * all.width()..]),
                "keep {keep}"
            );
        }
        assert_eq!(compute_last(&series(&[5.0], None), 3).rows, 0);
    }
}
