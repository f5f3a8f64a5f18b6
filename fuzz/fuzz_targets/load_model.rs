//! Fuzzes model-file loading: bytes that are a real model file — of one series (format 1) or of a
//! watchlist (format 2) — damaged in fuzzer-chosen ways (raw bytes; bit flips; one metadata entry
//! replaced, with the checksum removed as a crafted file would) must give either a `ModelFileError` or a forecaster whose every field is within bounds
//! and whose forecast on a real-looking series is a finite positive price or an error. Any panic,
//! abort or non-number is a bug; crashes found here become tests in src/checkpoint/tests.rs.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use candle_core::Device;
use forecast::calendar::Calendar;
use forecast::checkpoint::{from_bytes, to_bytes};
use forecast::data::features::training_feature_names;
use forecast::data::synthetic::{self, SyntheticConfig};
use forecast::data::{LoadOptions, Scaler, Series};
use forecast::forecaster::{DataInfo, Forecaster, SeriesEntry, Validation};
use forecast::intervals::Interval;
use forecast::limits;
use forecast::metrics::compare;
use forecast::distribution::Distribution;
use forecast::model::{ModelConfig, StockPredictor};
use forecast::train::TrainConfig;
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;

/// Metadata keys a crafted file may change.
const KEYS: [&str; 15] = [
    "series",
    "series_id",
    "model",
    "training",
    "features",
    "target",
    "scaler",
    "seq_len",
    "data",
    "load_options",
    "validation",
    "intervals",
    "calendar",
    "format",
    "format_version",
];

/// A series entry named `id`.
fn entry(id: &str) -> SeriesEntry {
    SeriesEntry {
        id: id.into(),
        data: DataInfo {
            csv: format!("{id}.csv"),
            first_date: "2020-01-01".into(),
            last_date: "2020-02-01".into(),
            rows: 9,
        },
        load_options: LoadOptions::default(),
        scaler: Scaler { mean: vec![0.0; 7], std: vec![0.02; 7], target_mean: 0.0, target_std: 0.02 },
        calendar: Calendar::Nyse,
    }
}

/// The bytes of a real model file: of one series, or of a watchlist of two.
fn base(watchlist: bool) -> &'static Vec<u8> {
    static BASES: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    &BASES.get_or_init(|| [make(&["X"]), make(&["X", "Y"])])[usize::from(watchlist)]
}

fn make(ids: &[&str]) -> Vec<u8> {
    // The default head, so the fuzzer reaches the scale and degrees-of-freedom tensors too.
    let config = ModelConfig {
        input_size: 7,
        hidden_size: 4,
        num_layers: 2,
        horizon: 2,
        dropout: 0.0,
        distribution: Distribution::StudentT,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let network = StockPredictor::init(&config, &mut rng, &Device::Cpu).unwrap();
    let metrics = compare(&[1.0, 2.0], &[1.5, 2.5], &[2.0, 3.0], 1.0);
    let forecaster = Forecaster {
        network,
        features: training_feature_names(true, true),
        seq_len: 4,
        intervals: vec![Interval { level: 0.9, half_widths: vec![0.03, 0.05] }],
        training: TrainConfig {
            epochs: 1,
            batch_size: 1,
            lr: 1e-3,
            val_fraction: 0.1,
            patience: 1,
            seed: 1,
            clip_norm: 1.0,
            windows_per_epoch: None,
        },
        validation: Validation {
            start: "a".into(),
            end: "b".into(),
            windows: 2,
            metrics,
            steps: vec![metrics],
            series: vec![],
        },
        crate_version: "fuzz".into(),
        series: ids.iter().map(|id| entry(id)).collect(),
    };
    to_bytes(&forecaster).unwrap()
}

fn series() -> &'static Series {
    static SERIES: OnceLock<Series> = OnceLock::new();
    SERIES.get_or_init(|| synthetic::series(&SyntheticConfig { days: 60, ..SyntheticConfig::default() }))
}

/// The base file with metadata `key` set to `value` and the checksum removed.
fn crafted(bytes: &[u8], key: &str, value: &str) -> Option<Vec<u8>> {
    let n = u64::from_le_bytes(bytes[..8].try_into().ok()?) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).ok()?;
    let meta = header.get_mut("__metadata__")?.as_object_mut()?;
    meta.remove("checksum");
    meta.insert(key.into(), value.into());
    let mut head = serde_json::to_vec(&header).ok()?;
    head.resize(head.len().next_multiple_of(8), b' ');
    let mut out = (head.len() as u64).to_le_bytes().to_vec();
    out.extend(head);
    out.extend(&bytes[8 + n..]);
    Some(out)
}

fn check(bytes: &[u8]) {
    let Ok(loaded) = from_bytes(bytes, Path::new("fuzz.safetensors"), &Device::Cpu) else { return };
    let f = &loaded.forecaster;
    let c = &f.network.config;
    assert!((1..=limits::MAX_SEQ_LEN).contains(&f.seq_len));
    assert!((1..=limits::MAX_HORIZON).contains(&c.horizon));
    assert!((1..=limits::MAX_HIDDEN).contains(&c.hidden_size));
    assert!((1..=limits::MAX_LAYERS).contains(&c.num_layers));
    assert_eq!(f.features.len(), c.input_size);
    assert!((1..=limits::MAX_SERIES).contains(&f.series.len()));
    for e in &f.series {
        assert!(!e.id.is_empty() && e.id.chars().count() <= limits::MAX_ID_CHARS);
        assert_eq!(e.scaler.mean.len(), c.input_size);
        assert!(e.scaler.std.iter().all(|s| s.is_finite() && *s > 0.0));
        assert!(e.scaler.target_std.is_finite() && e.scaler.target_std > 0.0);
    }
    assert!(f.intervals.iter().all(|i| i.half_widths.len() == c.horizon));
    if f.seq_len > 50 {
        return;
    }
    let csv = Path::new("fuzz.csv");
    for e in f.series.iter().take(3) {
        let Ok(forecast) = f.prepare(series(), &e.scaler, csv, csv).and_then(|p| p.forecast(e.calendar)) else {
            continue;
        };
        for step in &forecast.forecasts {
            assert!(step.close.is_finite() && step.close > 0.0, "{step:?}");
            for band in &step.intervals {
                assert!(band.lower.is_finite() && band.upper.is_finite() && band.lower > 0.0, "{band:?}");
                assert!(band.lower <= band.upper, "{band:?}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let base = base(mode / 3 % 2 == 1);
    match mode % 3 {
        0 => check(rest),
        1 => {
            let mut bytes = base.clone();
            for flip in rest.chunks_exact(3) {
                let pos = u16::from_le_bytes([flip[0], flip[1]]) as usize % bytes.len();
                bytes[pos] ^= flip[2];
            }
            check(&bytes);
        }
        _ => {
            let Some((&key, value)) = rest.split_first() else { return };
            if let Some(bytes) = crafted(base, KEYS[key as usize % KEYS.len()], &String::from_utf8_lossy(value)) {
                check(&bytes);
            }
        }
    }
});
