//! From a cleaned series to scaled windows: the chronological train/validation split, the scaler
//! fitted on the training span only, and the same transform again at predict time.

use super::features::{self, Features};
use super::{PanelWindows, Scaler, Series, WindowSpec, Windows};
use crate::error::{DataError, ModelFileError};
use chrono::NaiveDate;
use rayon::prelude::*;
use std::ops::Range;
use std::path::Path;

/// Fewest training windows we accept: below this there is nothing to learn from.
pub const MIN_TRAIN_WINDOWS: usize = 20;

/// Panel window indices of each part (see [`PanelWindows`]). Validation is the latest part by
/// date: nothing is shuffled across the split.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Vec<usize>,
    pub val: Vec<usize>,
}

impl Split {
    /// The last `ceil(n × val_fraction)` windows (at least one) of one series are validation.
    pub fn chronological(n_windows: usize, val_fraction: f64) -> Split {
        let n_val = validation_count(n_windows, val_fraction);
        let n_train = n_windows - n_val;
        Split { train: (0..n_train).collect(), val: (n_train..n_windows).collect() }
    }
}

/// How many of `n` windows `val_fraction` holds out: `ceil(n × val_fraction)`, at least one.
fn validation_count(n: usize, val_fraction: f64) -> usize {
    ((n as f64 * val_fraction).ceil() as usize).max(1).min(n)
}

/// One series of a panel to train on, and the file it came from (named in errors).
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub series: &'a Series,
    pub path: &'a Path,
}

/// Everything training needs from a panel of series (one series is a panel of one).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub feature_names: Vec<String>,
    /// The series trained on, as indices into the members given, in panel order.
    pub kept: Vec<usize>,
    /// Members left out, with why (never for a panel of one: its shortfall is the error).
    pub skipped: Vec<(usize, String)>,
    /// Per kept series: its scaler, fitted on its own training span only.
    pub scalers: Vec<Scaler>,
    /// Per kept series: its training windows (windows `0 .. n` of that series).
    pub train_windows: Vec<usize>,
    pub windows: PanelWindows,
    pub split: Split,
    /// The first step-1 target date of validation: every training target of every series is
    /// earlier, every validation target is on or after it.
    pub cutoff: NaiveDate,
}

/// Computes features (with `volatility_features`, the volatility ones too) for every member,
/// splits the panel by one cut-off date — the date before which `1 − val_fraction` of all
/// windows' step-1 targets fall: a window trains when all its targets are before it and
/// validates when its step-1 target is on or after it, so no validation day of any series is
/// earlier than a training target of another — fits each series' scaler on its own training span
/// only and scales its windows with it. Volume is a feature only when every member has it.
///
/// A panel of one series with too few rows is a [`DataError`] that says how many are needed; in
/// a larger panel such series (fewer than [`MIN_TRAIN_WINDOWS`] training windows before the
/// cut-off) are left out and listed in [`Prepared::skipped`], and only a panel with none left is
/// an error.
pub fn prepare_training(
    members: &[Member],
    seq_len: usize,
    horizon: usize,
    val_fraction: f64,
    volatility_features: bool,
) -> Result<Prepared, DataError> {
    let spec = WindowSpec { seq_len, horizon };
    let first_target_dates: Vec<NaiveDate> = members
        .iter()
        .flat_map(|m| {
            (0..spec.windows_with_targets(m.series.len())).map(move |j| m.series.dates[spec.target_day(j)])
        })
        .collect();
    let cutoff = cutoff_date(first_target_dates, val_fraction);
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    let mut parts = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let part = cutoff.map(|c| split_at(m.series, spec, c)).unwrap_or_default();
        if part.0 >= MIN_TRAIN_WINDOWS && !part.1.is_empty() {
            kept.push(i);
            parts.push(part);
        } else if members.len() == 1 {
            return Err(too_few_rows(m, seq_len, horizon, val_fraction));
        } else {
            skipped.push((i, skip_reason(m.series, spec, part.0, cutoff)));
        }
    }
    let Some(cutoff) = cutoff.filter(|_| !kept.is_empty()) else {
        return Err(DataError::new(
            members.first().map_or(Path::new(""), |m| m.path),
            format!(
                "no series has enough rows to train: each needs at least {} rows before the validation span",
                min_rows_to_train(seq_len, val_fraction) + horizon - 1
            ),
        )
        .with_hint("use longer price histories or a smaller --seq-len"));
    };
    let has_volume = kept.iter().all(|&i| members[i].series.volume.is_some());
    let names = features::training_feature_names(has_volume, volatility_features);
    crate::pool::start();
    let prepared: Vec<(Scaler, Windows)> = kept
        .par_iter()
        .zip(&parts)
        .map(|(&i, (n_train, _))| scale_series(members[i], &names, spec, *n_train))
        .collect::<Result<_, DataError>>()?;
    let (scalers, series_windows): (Vec<Scaler>, Vec<Windows>) = prepared.into_iter().unzip();
    let windows = PanelWindows::new(series_windows);
    let mut split = Split { train: Vec::new(), val: Vec::new() };
    for (s, (n_train, val)) in parts.iter().enumerate() {
        split.train.extend((0..*n_train).map(|j| windows.index(s, j)));
        split.val.extend(val.clone().map(|j| windows.index(s, j)));
    }
    let train_windows = parts.iter().map(|p| p.0).collect();
    Ok(Prepared { feature_names: names, kept, skipped, scalers, train_windows, windows, split, cutoff })
}

impl Prepared {
    /// Each kept series' validation windows (its own window indices), in panel order.
    pub fn validation_windows(&self) -> Vec<Vec<usize>> {
        let mut by_series = vec![Vec::new(); self.kept.len()];
        for &g in &self.split.val {
            let (s, j) = self.windows.locate(g);
            by_series[s].push(j);
        }
        by_series
    }
}

/// The date from which `val_fraction` of `dates` (at least one) are on or after it; None when
/// there are none.
fn cutoff_date(mut dates: Vec<NaiveDate>, val_fraction: f64) -> Option<NaiveDate> {
    if dates.is_empty() {
        return None;
    }
    dates.sort_unstable();
    Some(dates[dates.len() - validation_count(dates.len(), val_fraction)])
}

/// One series' training windows before `cutoff` (a prefix: `0 .. n`) and its validation windows
/// (step-1 target on or after `cutoff`).
fn split_at(series: &Series, spec: WindowSpec, cutoff: NaiveDate) -> (usize, Range<usize>) {
    let n = spec.windows_with_targets(series.len());
    let last_target_before = |j: usize| series.dates[spec.target_day(j) + spec.horizon - 1] < cutoff;
    let first_target_before = |j: usize| series.dates[spec.target_day(j)] < cutoff;
    let n_train = partition_point(n, last_target_before);
    let first_val = partition_point(n, first_target_before);
    (n_train, first_val..n)
}

/// The first `j` in `0..n` for which `before(j)` is false (`before` holds for a prefix).
fn partition_point(n: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Why a series of a panel is left out of training.
fn skip_reason(series: &Series, spec: WindowSpec, n_train: usize, cutoff: Option<NaiveDate>) -> String {
    let rows = series.len();
    match cutoff {
        _ if spec.windows_with_targets(rows) == 0 => {
            format!("{rows} rows, too few for one window of --seq-len {}", spec.seq_len)
        }
        Some(c) if n_train < MIN_TRAIN_WINDOWS => {
            format!("{n_train} training windows before the validation cut-off {c}, at least {MIN_TRAIN_WINDOWS} needed")
        }
        Some(c) => format!(
            "no validation day on or after the cut-off {c} (its data ends {})",
            series.dates[rows - 1]
        ),
        None => "no windows".to_string(),
    }
}

/// The error of a lone series too short to train on.
fn too_few_rows(m: &Member, seq_len: usize, horizon: usize, val_fraction: f64) -> DataError {
    let rows = m.series.len();
    let need = min_rows_to_train(seq_len, val_fraction) + horizon - 1;
    DataError::new(
        m.path,
        format!("too few rows to train: {rows} usable rows, --seq-len {seq_len} needs at least {need}"),
    )
    .with_hint(shortfall_hint(rows + 1 - horizon.min(rows + 1), val_fraction))
}

/// One series' scaler, fitted on the rows its first `n_train` windows read, and its scaled windows.
fn scale_series(
    m: Member,
    names: &[String],
    spec: WindowSpec,
    n_train: usize,
) -> Result<(Scaler, Windows), DataError> {
    let all = features::compute(m.series);
    let feats = features::select(&all, names)
        .map_err(|missing| DataError::new(m.path, format!("cannot compute feature {missing}")))?;
    let returns = feats.close_returns();
    // Rows 0 ..= the last training target row are the training span.
    let scaler = fit_scaler(&feats, &returns, spec.rows_read_by(n_train), spec.seq_len);
    let windows = scale_into_windows(&feats, &scaler, &returns, spec.seq_len, spec.horizon);
    Ok((scaler, windows))
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

/// The features a model needs from `series`, checked: a CSV too short for the window is a
/// [`DataError`]; a CSV that lacks a feature the model needs (a model trained with volume, a CSV
/// without it) is a [`ModelFileError`] naming the model file.
/// `keep`: the last rows wanted (all with `usize::MAX`; see [`features::compute_last`]).
fn inference_features(
    series: &Series,
    feature_names: &[String],
    (seq_len, horizon, keep): (usize, usize, usize),
    csv: &Path,
    model: &Path,
) -> crate::error::Result<Features> {
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
    let all = features::compute_last(series, keep);
    Ok(features::select(&all, feature_names).map_err(|missing| {
        ModelFileError::new(
            model,
            format!("the model needs feature {missing}, which {} cannot provide; use a CSV with the same columns as the training data", csv.display()),
        )
    })?)
}

/// The same features and stored scaler at predict time: never refitted (errors as
/// [`inference_features`]).
pub fn prepare_inference(
    series: &Series,
    feature_names: &[String],
    scaler: &Scaler,
    seq_len: usize,
    horizon: usize,
    csv: &Path,
    model: &Path,
) -> crate::error::Result<Windows> {
    let feats = inference_features(series, feature_names, (seq_len, horizon, usize::MAX), csv, model)?;
    Ok(scale_into_windows(&feats, scaler, &feats.close_returns(), seq_len, horizon))
}

/// [`prepare_inference`] for the last window only, which a forecast reads: the last `seq_len`
/// feature rows (the features of the rest of the series are not computed), as windows whose
/// [`Windows::last_window`] is that window, with the same numbers bit for bit.
pub fn prepare_last_window(
    series: &Series,
    feature_names: &[String],
    scaler: &Scaler,
    (seq_len, horizon): (usize, usize),
    csv: &Path,
    model: &Path,
) -> crate::error::Result<Windows> {
    let feats = inference_features(series, feature_names, (seq_len, horizon, seq_len), csv, model)?;
    Ok(scale_into_windows(&feats, scaler, &feats.close_returns(), seq_len, horizon))
}

/// A scaler for a series a global model never saw (a cold start), fitted on all of its rows as
/// training fits one on its training span (errors as [`inference_features`]).
pub fn fit_inference_scaler(
    series: &Series,
    feature_names: &[String],
    seq_len: usize,
    horizon: usize,
    csv: &Path,
    model: &Path,
) -> crate::error::Result<Scaler> {
    let feats = inference_features(series, feature_names, (seq_len, horizon, usize::MAX), csv, model)?;
    Ok(fit_scaler(&feats, &feats.close_returns(), feats.rows, seq_len))
}

/// The scaler of the first `rows` feature rows, and of the targets among them (the returns of
/// rows `seq_len ..`, the first a window can forecast): training's on its training span, a cold
/// start's on all rows.
fn fit_scaler(feats: &Features, returns: &[f64], rows: usize, seq_len: usize) -> Scaler {
    Scaler::fit(&feats.values, feats.width(), rows, &returns[seq_len.min(rows)..rows])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_chronological_with_at_least_one_validation_window() {
        let split = |train: std::ops::Range<usize>, val: std::ops::Range<usize>| Split {
            train: train.collect(),
            val: val.collect(),
        };
        assert_eq!(Split::chronological(100, 0.1), split(0..90, 90..100));
        assert_eq!(Split::chronological(101, 0.1), split(0..90, 90..101));
        assert_eq!(Split::chronological(5, 0.0), split(0..4, 4..5));
        assert_eq!(Split::chronological(0, 0.1), split(0..0, 0..0));
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
        let path = Path::new("x.csv");
        let original = mk(close.clone());
        let a = prepare_training(&[Member { series: &original, path }], 10, 1, 0.2, true).unwrap();
        // Change every price of the validation targets wildly: the scaler must not move.
        let mut wild = close.clone();
        let first_val_day = a.windows.series[0].spec().target_day(a.split.val[0]);
        for c in &mut wild[first_val_day..] {
            *c *= 50.0;
        }
        let changed = mk(wild);
        let b = prepare_training(&[Member { series: &changed, path }], 10, 1, 0.2, true).unwrap();
        assert_eq!(a.scalers, b.scalers);
        assert_eq!(a.split, b.split);
        assert_eq!(a.split.train, (0..a.split.val[0]).collect::<Vec<_>>(), "one series: the old split");
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
        let err = prepare_training(&[Member { series: &s, path: Path::new("short.csv") }], 30, 1, 0.1, false)
            .unwrap_err();
        assert!(err.to_string().contains("too few rows to train: 40 usable rows"), "{err}");
        assert!(err.to_string().contains("--seq-len"), "{err}");
    }

    /// A daily series of `n` days from `start` with closes from `f(day)`.
    fn series_from(start: chrono::NaiveDate, n: usize, f: impl Fn(usize) -> f64) -> Series {
        let close: Vec<f64> = (0..n).map(f).collect();
        Series {
            dates: (0..n).map(|i| start + chrono::Days::new(i as u64)).collect(),
            open: close.clone(),
            high: close.iter().map(|c| c * 1.01).collect(),
            low: close.iter().map(|c| c * 0.99).collect(),
            close,
            volume: None,
        }
    }

    #[test]
    fn a_panel_splits_at_one_date_with_no_look_ahead_between_series() {
        use chrono::NaiveDate;
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        // Three series over different spans: an old one, a recent one and one in between.
        let old = series_from(day(2020, 1, 1), 400, |i| 50.0 + (i as f64 * 0.3).sin());
        let recent = series_from(day(2020, 9, 1), 300, |i| 900.0 + 5.0 * (i as f64 * 0.2).cos());
        let middle = series_from(day(2020, 4, 1), 350, |i| 10.0 + 0.1 * (i as f64 * 0.5).sin());
        let path = Path::new("p.csv");
        let members: Vec<Member> =
            [&old, &recent, &middle].iter().map(|s| Member { series: s, path }).collect();
        for horizon in [1, 3] {
            let p = prepare_training(&members, 10, horizon, 0.2, true).unwrap();
            assert_eq!(p.kept, vec![0, 1, 2]);
            let target_dates = |g: usize, all_steps: bool| -> Vec<NaiveDate> {
                let (s, j) = p.windows.locate(g);
                let series = members[p.kept[s]].series;
                let first = p.windows.series[s].spec().target_day(j);
                let last = if all_steps { first + horizon - 1 } else { first };
                (first..=last).map(|d| series.dates[d]).collect()
            };
            let latest_train = p.split.train.iter().flat_map(|&g| target_dates(g, true)).max().unwrap();
            let earliest_val = p.split.val.iter().flat_map(|&g| target_dates(g, false)).min().unwrap();
            assert!(latest_train < p.cutoff, "{latest_train} trains, cut-off {}", p.cutoff);
            assert_eq!(earliest_val, p.cutoff);
            // Every window with all its targets is in exactly one part, or purged (horizon > 1).
            let total: usize = p.windows.series.iter().map(Windows::len).sum();
            assert_eq!(p.split.train.len() + p.split.val.len(), total - 3 * (horizon - 1));
            // Each series' scaler is its own: fitted on its own prices.
            assert!(p.scalers[0] != p.scalers[1] && p.scalers[1] != p.scalers[2]);
        }
    }

    #[test]
    fn a_panel_leaves_out_series_too_short_and_says_why() {
        use chrono::NaiveDate;
        let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let long = series_from(start, 300, |i| 100.0 + (i as f64).sin());
        let tiny = series_from(start, 8, |i| 100.0 + i as f64);
        let late = series_from(start + chrono::Days::new(280), 20, |i| 100.0 + i as f64);
        let path = Path::new("p.csv");
        let members =
            [Member { series: &long, path }, Member { series: &tiny, path }, Member { series: &late, path }];
        let p = prepare_training(&members, 10, 1, 0.1, false).unwrap();
        assert_eq!(p.kept, vec![0]);
        let skipped: Vec<usize> = p.skipped.iter().map(|s| s.0).collect();
        assert_eq!(skipped, vec![1, 2]);
        assert!(p.skipped[0].1.contains("too few for one window"), "{}", p.skipped[0].1);
        assert!(
            p.skipped[1].1.contains("training windows before the validation cut-off"),
            "{}",
            p.skipped[1].1
        );
        let none = prepare_training(&members[1..], 10, 1, 0.1, false).unwrap_err();
        assert!(none.to_string().contains("no series has enough rows to train"), "{none}");
    }
}
