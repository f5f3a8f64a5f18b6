//! Walk-forward discipline: a fold's model and scaler are fitted on the history before its test
//! span only. Changing the test span's prices wildly must leave them bit-identical.

mod common;
use candle_core::Device;
use forecast::backtest::{fit_fold, fold_spans};
use forecast::data::synthetic::{self, SyntheticConfig};
use forecast::data::{Series, WindowSpec};
use forecast::forecaster::Trained;
use forecast::runtime::Runtime;
use forecast::train::Settings;
use std::path::Path;

fn series(days: usize) -> Series {
    synthetic::series(&SyntheticConfig { days, ..SyntheticConfig::default() })
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
    let csv = Path::new("synthetic");
    let a = fit_fold(&original, &settings, &last, &runtime, csv, |_| {}).unwrap();
    let b = fit_fold(&wild, &settings, &last, &runtime, csv, |_| {}).unwrap();
    assert_eq!(a.forecaster.scaler, b.forecaster.scaler, "the scaler saw the test span");
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
    let c = fit_fold(&earlier, &settings, &last, &runtime, csv, |_| {}).unwrap();
    assert_ne!(losses(&a), losses(&c));
    let mut early = original.clone();
    early.close[50] *= 1.5;
    let d = fit_fold(&early, &settings, &last, &runtime, csv, |_| {}).unwrap();
    assert_ne!(a.forecaster.scaler, d.forecaster.scaler);
    assert_ne!(weights(&a), weights(&d));
}
