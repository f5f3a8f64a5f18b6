//! From a cleaned series to scaled windows: the chronological train/validation split, the scaler
//! fitted on the training span only, and the same transform again at predict time.

use super::features::{self, Features};
use super::{Scaler, Series, WindowSpec, Windows};
use crate::error::{DataError, ModelFileError};
use std::ops::Range;
use std::path::Path;

/// Fewest training windows we accept: below this there is nothing to learn from.
pub const MIN_TRAIN_WINDOWS: usize = 20;

/// Window indices of each part. Validation is the last part: nothing is shuffled across the split.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Range<usize>,
    pub val: Range<usize>,
}

impl Split {
    /// The last `ceil(n × val_fraction)` windows (at least one) are validation.
    pub fn chronological(n_windows: usize, val_fraction: f64) -> Split {
        let n_val = ((n_windows as f64 * val_fraction).ceil() as usize).max(1).min(n_windows);
        let n_train = n_windows - n_val;
        Split { train: 0..n_train, val: n_train..n_windows }
    }
}

/// Everything training needs from one series.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub feature_names: Vec<String>,
    pub scaler: Scaler,
    pub windows: Windows,
    pub split: Split,
}

/// Computes features (with `volatility_features`, the volatility ones too), splits
/// chronologically, fits the scaler on the training span only and scales everything with it.
pub fn prepare_training(
    series: &Series,
    seq_len: usize,
    horizon: usize,
    val_fraction: f64,
    volatility_features: bool,
    path: &Path,
) -> Result<Prepared, DataError> {
    let all = features::compute(series);
    let names = features::training_feature_names(series.volume.is_some(), volatility_features);
    let feats = features::select(&all, &names)
        .map_err(|missing| DataError::new(path, format!("cannot compute feature {missing}")))?;
    let n_windows = WindowSpec { seq_len, horizon }.windows_with_targets(series.len());
    let split = Split::chronological(n_windows, val_fraction);
    if n_windows == 0 || split.train.len() < MIN_TRAIN_WINDOWS {
        let need = min_rows_to_train(seq_len, val_fraction) + horizon - 1;
        return Err(DataError::new(
            path,
            format!(
                "too few rows to train: {} usable rows, --seq-len {seq_len} needs at least {need}",
                series.len()
            ),
        )
        .with_hint(shortfall_hint(series.len() + 1 - horizon.min(series.len() + 1), val_fraction)));
    }
    let returns = feats.close_returns();
    // Rows 0 ..= the last training target row are the training span.
    let fit_rows = WindowSpec { seq_len, horizon }.rows_read_by(split.train.end);
    let train_targets = &returns[seq_len..fit_rows];
    let scaler = Scaler::fit(&feats.values, feats.width(), fit_rows, train_targets);
    let windows = scale_into_windows(&feats, &scaler, &returns, seq_len, horizon);
    Ok(Prepared { feature_names: feats.names, scaler, windows, split })
}

/// Fewest series rows that `prepare_training` accepts for `seq_len` and `val_fraction`.
pub fn min_rows_to_train(seq_len: usize, val_fraction: f64) -> usize {
    WindowSpec { seq_len, horizon: 1 }.days_needed(min_windows(val_fraction))
}

/// Windows needed so that at least [`MIN_TRAIN_WINDOWS`] remain after the validation split.
fn min_windows(val_fraction: f64) -> usize {
    ((MIN_TRAIN_WINDOWS as f64) / (1.0 - val_fraction)).ceil() as usize + 1
}

/// What to do about too few rows: a smaller --seq-len when one would do, else more history.
fn shortfall_hint(rows: usize, val_fraction: f64) -> String {
    match rows.checked_sub(min_windows(val_fraction) + 1) {
        Some(max_seq_len) if max_seq_len >= 1 => {
            format!("use a longer history or --seq-len {max_seq_len} or less")
        }
        _ => "use a longer price history".to_string(),
    }
}

fn scale_into_windows(
    feats: &Features,
    scaler: &Scaler,
    returns: &[f64],
    seq_len: usize,
    horizon: usize,
) -> Windows {
    let scaled = scaler.transform(&feats.values);
    let scaled_returns: Vec<f64> = returns.iter().map(|&r| scaler.transform_target(r)).collect();
    let windows = Windows::new(&scaled, feats.width(), &scaled_returns, seq_len, horizon);
    // The EWMA volatility (unscaled: ½·log variance) in scaled-target units.
    match feats.names.iter().position(|n| n == features::LOG_EWMA_VOL) {
        Some(c) => windows.with_base_scales(
            (0..feats.rows).map(|r| (feats.row(r)[c].exp() / scaler.target_std) as f32).collect(),
        ),
        None => windows,
    }
}

/// The same features and stored scaler at predict time: never refitted. A CSV too short for the
/// window is a [`DataError`]; a CSV that lacks a feature the model needs (a model trained with
/// volume, a CSV without it) is a [`ModelFileError`] naming the model file.
#[allow(clippy::too_many_arguments)]
pub fn prepare_inference(
    series: &Series,
    feature_names: &[String],
    scaler: &Scaler,
    seq_len: usize,
    horizon: usize,
    csv: &Path,
    model: &Path,
) -> crate::error::Result<Windows> {
    let need = WindowSpec { seq_len, horizon }.days_needed(0);
    if series.len() < need {
        return Err(DataError::new(
            csv,
            format!(
                "too few rows to predict: {} usable rows, the model's seq-len {seq_len} needs at least {need}",
                series.len(),
            ),
        )
        .into());
    }
    let all = features::compute(series);
    let feats = features::select(&all, feature_names).map_err(|missing| {
        ModelFileError::new(
            model,
            format!("the model needs feature {missing}, which {} cannot provide; use a CSV with the same columns as the training data", csv.display()),
        )
    })?;
    Ok(scale_into_windows(&feats, scaler, &feats.close_returns(), seq_len, horizon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_chronological_with_at_least_one_validation_window() {
        assert_eq!(Split::chronological(100, 0.1), Split { train: 0..90, val: 90..100 });
        assert_eq!(Split::chronological(101, 0.1), Split { train: 0..90, val: 90..101 });
        assert_eq!(Split::chronological(5, 0.0), Split { train: 0..4, val: 4..5 });
        assert_eq!(Split::chronological(0, 0.1), Split { train: 0..0, val: 0..0 });
    }

    #[test]
    fn scaler_never_sees_the_validation_span() {
        use chrono::NaiveDate;
        let n = 200;
        let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let close: Vec<f64> = (0..n).map(|i| 100.0 + (i as f64 * 0.7).sin()).collect();
        let mk = |close: Vec<f64>| Series {
            dates: (0..n).map(|i| start + chrono::Days::new(i as u64)).collect(),
            open: close.clone(),
            high: close.iter().map(|c| c * 1.01).collect(),
            low: close.iter().map(|c| c * 0.99).collect(),
            close,
            volume: None,
        };
        let a = prepare_training(&mk(close.clone()), 10, 1, 0.2, true, Path::new("x.csv")).unwrap();
        // Change every price of the validation targets wildly: the scaler must not move.
        let mut wild = close.clone();
        let first_val_day = a.windows.spec().target_day(a.split.val.start);
        for c in &mut wild[first_val_day..] {
            *c *= 50.0;
        }
        let b = prepare_training(&mk(wild), 10, 1, 0.2, true, Path::new("x.csv")).unwrap();
        assert_eq!(a.scaler, b.scaler);
        assert_eq!(a.split, b.split);
    }

    #[test]
    fn too_few_rows_is_a_data_error_that_says_how_many_are_needed() {
        use chrono::NaiveDate;
        let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let s = Series {
            dates: (0..40).map(|i| start + chrono::Days::new(i)).collect(),
            open: vec![1.0; 40],
            high: vec![1.0; 40],
            low: vec![1.0; 40],
            close: vec![1.0; 40],
            volume: None,
        };
        let err = prepare_training(&s, 30, 1, 0.1, false, Path::new("short.csv")).unwrap_err();
        assert!(err.to_string().contains("too few rows to train: 40 usable rows"), "{err}");
        assert!(err.to_string().contains("--seq-len"), "{err}");
    }
}
