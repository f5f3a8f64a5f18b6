//! Walk-forward discipline: a fold's model and scaler are fitted on the history before its test
//! span only. Changing the test span's prices wildly must leave them bit-identical.

mod common;
use candle_core::Device;
use forecast::backtest::{fit_fold, fold_spans};
use forecast::calendar::Calendar;
use forecast::data::synthetic::{self, SyntheticConfig};
use forecast::data::{LoadOptions, Series, WindowSpec};
use forecast::forecaster::{Source, Trained, TrainingSeries};
use forecast::runtime::Runtime;
use forecast::train::Settings;
use std::path::Path;

fn series(days: usize) -> Series {
    synthetic::series(&SyntheticConfig { days, ..SyntheticConfig::default() })
}

/// The fold of `series` (a watchlist of them) whose first test date is `first`.
fn fold(series: &[&Series], first: chrono::NaiveDate, settings: &Settings, runtime: &Runtime) -> Trained {
    let members: Vec<TrainingSeries> = series
        .iter()
        .enumerate()
        .map(|(i, s)| TrainingSeries {
            id: format!("S{i}"),
            series: s,
            source: Source {
                csv: Path::new("synthetic"),
                load_options: LoadOptions::default(),
                calendar: Calendar::Weekdays,
            },
        })
        .collect();
    fit_fold(&members, settings, first, runtime, |_| {}).unwrap()
}

fn scalers(fitted: &Trained) -> Vec<forecast::data::Scaler> {
    fitted.forecaster.series.iter().map(|e| e.scaler.clone()).collect()
}

fn weights(fitted: &Trained) -> Vec<Vec<f32>> {
    fitted
        .forecaster
        .network
        .named_parameters()
        .iter()
        .map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .collect()
}

#[test]
fn a_folds_model_never_sees_its_test_span() {
    let settings = Settings { horizon: 3, layers: 2, dropout: 0.1, ..common::small_settings() };
    let runtime = Runtime { device: Device::Cpu, threads: 2 };
    let original = series(400);
    let spec = WindowSpec { seq_len: settings.seq_len, horizon: settings.horizon };
    let spans = fold_spans(spec.windows_with_targets(original.len()), 3, None);
    let last = spans.last().unwrap().clone();
    let first_test_day = spec.target_day(last.start);

    let mut wild = original.clone();
    for d in first_test_day..wild.len() {
        let factor = if d % 2 == 0 { 40.0 } else { 0.01 };
        wild.open[d] *= factor;
        wild.high[d] *= factor;
        wild.low[d] *= factor;
        wild.close[d] *= factor;
        if let Some(v) = wild.volume.as_mut() {
            v[d] *= 1000.0;
        }
    }
    let first = original.dates[first_test_day];
    let a = fold(&[&original], first, &settings, &runtime);
    let b = fold(&[&wild], first, &settings, &runtime);
    assert_eq!(scalers(&a), scalers(&b), "the scaler saw the test span");
    assert_eq!(weights(&a), weights(&b), "the model saw the test span");
    let losses = |f: &Trained| -> Vec<(f64, f64)> {
        f.outcome.history.iter().map(|e| (e.train_loss, e.val_loss)).collect()
    };
    assert_eq!(losses(&a), losses(&b));
    let widths = |f: &Trained| f.forecaster.intervals.clone();
    assert_eq!(widths(&a), widths(&b), "the intervals saw the test span");

    // And the check can fail: a change just before the test span does reach the fold (its
    // early-stopping validation), and one early in the history reaches the scaler and weights.
    let mut earlier = original.clone();
    earlier.close[first_test_day - 1] *= 1.5;
    let c = fold(&[&earlier], first, &settings, &runtime);
    assert_ne!(losses(&a), losses(&c));
    let mut early = original.clone();
    early.close[50] *= 1.5;
    let d = fold(&[&early], first, &settings, &runtime);
    assert_ne!(scalers(&a), scalers(&d));
    assert_ne!(weights(&a), weights(&d));
}

#[test]
fn a_watchlist_fold_never_sees_any_series_test_span() {
    let settings = Settings { horizon: 2, ..common::small_settings() };
    let runtime = Runtime { device: Device::Cpu, threads: 2 };
    let a = series(400);
    // A second series that starts later and ends later: its test span must not leak either.
    let b = synthetic::series(&SyntheticConfig {
        days: 380,
        seed: 7,
        start: a.dates[60],
        start_price: 20.0,
        ..SyntheticConfig::default()
    });
    let first = a.dates[330];
    let base = fold(&[&a, &b], first, &settings, &runtime);
    let mut wild_b = b.clone();
    let from = wild_b.dates.partition_point(|d| *d < first);
    for c in &mut wild_b.close[from..] {
        *c *= 30.0;
    }
    let changed = fold(&[&a, &wild_b], first, &settings, &runtime);
    assert_eq!(scalers(&base), scalers(&changed), "a scaler saw a test span");
    assert_eq!(weights(&base), weights(&changed), "the global model saw a test span");
    assert_eq!(base.forecaster.intervals, changed.forecaster.intervals);
    // The check can fail: the day before the test span is validation, for either series.
    let mut late_b = b.clone();
    late_b.close[from - 1] *= 1.5;
    let moved = fold(&[&a, &late_b], first, &settings, &runtime);
    assert_ne!(base.forecaster.intervals, moved.forecaster.intervals);
}
