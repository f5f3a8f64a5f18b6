//! The trained forecaster end to end, as a hostile or careless user meets it: training that
//! cannot give a usable model fails and keeps the old file; a model file that was damaged or
//! crafted is refused with exit 4; no forecast that is not a finite positive price is ever
//! printed; the promotion gate survives an existing model of another horizon.

mod common;

use candle_core::Device;
use common::{forecast, s, sample_csv, small_settings, FAST};
use forecast::calendar::Calendar;
use forecast::data::synthetic::{series, SyntheticConfig};
use forecast::data::{LoadOptions, Series};
use forecast::exit::Exit;
use forecast::forecaster::{fit, Source, TrainingSeries};
use forecast::runtime::Runtime;
use std::path::Path;

/// A CSV of `days` weekdays from 2020-01-01 with closes from `close(day)`.
fn csv(dir: &Path, name: &str, days: usize, close: impl Fn(usize) -> f64) -> String {
    let mut text = String::from("Date,Open,High,Low,Close,Volume\n");
    let mut date = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    for d in 0..days {
        while chrono::Datelike::weekday(&date).number_from_monday() > 5 {
            date = date.succ_opt().unwrap();
        }
        let c = close(d);
        text.push_str(&format!("{date},{c},{c},{c},{c},{}\n", 1000 + d % 7));
        date = date.succ_opt().unwrap();
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    s(&path).to_string()
}

fn no_non_numbers(stdout: &str) {
    for bad in ["NaN", "nan", "inf", "null"] {
        assert!(!stdout.contains(bad), "stdout holds {bad}:\n{stdout}");
    }
}

#[test]
fn a_constant_price_trains_a_model_its_own_predict_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let flat = csv(dir.path(), "flat.csv", 200, |_| 100.0);
    let train = [&["train", "--csv", &flat, "--out", "m.safetensors", "--format", "json"], FAST].concat();
    let run = forecast(dir.path(), &train).ok();
    let close = run.json()["forecast"]["forecasts"][0]["close"].as_f64().unwrap();
    assert!(close.is_finite() && close > 0.0, "{run}");
    let run = forecast(dir.path(), &["predict", "--model", "m.safetensors"]).ok();
    no_non_numbers(&run.stdout);
}

#[test]
fn a_diverging_train_fails_and_keeps_the_old_model() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    let train = [&["train", "--csv", s(&sample), "--out", "m.safetensors"], FAST].concat();
    forecast(dir.path(), &train).ok();
    let before = std::fs::read(dir.path().join("m.safetensors")).unwrap();
    // The flag is bounded now; the library's guard below is what a diverging run meets.
    let wild = [&train[..], &["--lr", "1e9"]].concat();
    forecast(dir.path(), &wild).fails_with(2, &["--lr", "must be"]);
    assert_eq!(std::fs::read(dir.path().join("m.safetensors")).unwrap(), before);
    forecast(dir.path(), &["predict", "--model", "m.safetensors"]).ok();

    let series = synthetic(400);
    let mut settings = small_settings();
    settings.train.lr = 1e9;
    settings.train.clip_norm = 1e9;
    let runtime = Runtime { device: Device::Cpu, threads: 1 };
    let source = Source {
        csv: Path::new("synthetic"),
        load_options: LoadOptions::default(),
        calendar: Calendar::Weekdays,
    };
    let members = [TrainingSeries { id: "synthetic".into(), series: &series, source }];
    let err = fit(&members, &settings, &runtime, |_| {}).expect_err("a diverging fit gave a model");
    assert_eq!(err.exit_code(), Exit::Internal);
    assert!(err.to_string().contains("diverged"), "{err}");
}

fn synthetic(days: usize) -> Series {
    series(&SyntheticConfig { days, ..SyntheticConfig::default() })
}

#[test]
fn a_price_near_the_largest_float_never_prints_a_non_number() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    let train = [&["train", "--csv", s(&sample), "--out", "m.safetensors"], FAST].concat();
    forecast(dir.path(), &train).ok();
    let huge = csv(dir.path(), "huge.csv", 60, |d| if d == 59 { 1.79e308 } else { 100.0 + d as f64 });
    let run =
        forecast(dir.path(), &["predict", "--model", "m.safetensors", "--csv", &huge, "--log", "l.csv"]);
    assert_eq!(run.code, 3, "{run}");
    no_non_numbers(&run.stdout);
    assert!(!dir.path().join("l.csv").exists(), "a non-number reached the ledger");
    // Training on it fails too, and writes nothing.
    let run = forecast(dir.path(), &[&["train", "--csv", &huge, "--out", "h.safetensors"], FAST].concat());
    assert_ne!(run.code, 0, "{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
    no_non_numbers(&run.stdout);
    assert!(!dir.path().join("h.safetensors").exists());
}

#[test]
fn the_gate_scores_an_existing_model_of_another_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    let base = [&["train", "--csv", s(&sample), "--out", "m.safetensors"], FAST].concat();
    forecast(dir.path(), &[&base[..], &["--horizon", "5"]].concat()).ok();
    let run = forecast(
        dir.path(),
        &[&base[..], &["--horizon", "1", "--promote-if-better", "--format", "json"]].concat(),
    );
    assert!(run.code == 0 || run.code == 6, "{run}");
    assert!(!run.stderr.contains("cannot score"), "{run}");
    assert!(run.json()["promotion"]["existing_rmse"].as_f64().is_some(), "{run}");
}

#[test]
fn a_damaged_model_file_is_exit_4_and_an_old_one_without_checksum_loads_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    forecast(dir.path(), &[&["train", "--csv", s(&sample), "--out", "m.safetensors"], FAST].concat()).ok();
    let bytes = std::fs::read(dir.path().join("m.safetensors")).unwrap();
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    std::fs::write(dir.path().join("flipped.safetensors"), &flipped).unwrap();
    forecast(dir.path(), &["predict", "--model", "flipped.safetensors"])
        .fails_with(4, &["checksum mismatch"]);

    // The same file as written before checksums: the entry removed from the header.
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header["__metadata__"].as_object_mut().unwrap().remove("checksum");
    let mut head = serde_json::to_vec(&header).unwrap();
    head.resize(head.len().next_multiple_of(8), b' ');
    let mut old = (head.len() as u64).to_le_bytes().to_vec();
    old.extend(head);
    old.extend(&bytes[8 + n..]);
    std::fs::write(dir.path().join("old.safetensors"), &old).unwrap();
    let run = forecast(dir.path(), &["predict", "--model", "old.safetensors"]).ok();
    assert!(run.stderr.contains("checksum"), "{run}");
}

#[test]
fn what_is_not_a_model_file_is_exit_4_at_once() {
    let dir = tempfile::tempdir().unwrap();
    forecast(dir.path(), &["predict", "--model", "/dev/zero"]).fails_with(4, &["not a regular file"]);
    forecast(dir.path(), &["predict", "--model", "."]).fails_with(4, &["not a regular file"]);
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    forecast(dir.path(), &["predict", "--model", "fifo"]).fails_with(4, &["not a regular file"]);
    let sample = sample_csv();
    forecast(dir.path(), &["predict", "--model", s(&sample)]).fails_with(4, &["safetensors"]);
}

#[test]
fn the_next_forecast_from_the_last_window_alone_is_the_full_preparation_bit_for_bit() {
    for distribution in [forecast::distribution::Distribution::StudentT, Default::default()] {
        let mut settings = small_settings();
        (settings.distribution, settings.horizon, settings.train.epochs) = (distribution, 3, 2);
        let series = synthetic(400);
        let runtime = Runtime { device: Device::Cpu, threads: 1 };
        let csv = Path::new("synthetic");
        let source = Source { csv, load_options: LoadOptions::default(), calendar: Calendar::Weekdays };
        let members = [TrainingSeries { id: "synthetic".into(), series: &series, source }];
        let f = fit(&members, &settings, &runtime, |_| {}).unwrap().forecaster;
        let scaler = &f.series[0].scaler;
        let full = f.prepare(&series, scaler, csv, csv).unwrap().forecast(Calendar::Weekdays).unwrap();
        let next = f.forecast_next(&series, scaler, Calendar::Weekdays, (csv, csv)).unwrap();
        assert_eq!(full.forecasts.len(), 3);
        // Debug prints each f64 so that it reads back to the same bits.
        assert_eq!(format!("{next:?}"), format!("{full:?}"), "{distribution:?}");
        // Too short for one window: the same error either way.
        let short = series.head(settings.seq_len);
        let err = f.forecast_next(&short, scaler, Calendar::Weekdays, (csv, csv)).unwrap_err();
        let full_err = f.prepare(&short, scaler, csv, csv).unwrap_err();
        assert_eq!(err.to_string(), full_err.to_string());
    }
}
