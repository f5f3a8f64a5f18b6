//! Round trips, and every class of damaged or crafted model file refused with exit 4 naming the
//! field — never a panic, never a forecast.

use super::*;
use crate::data::features::default_feature_names;
use crate::distribution::Distribution;
use crate::forecaster::Validation;
use crate::metrics::compare;
use rand::SeedableRng;

fn forecaster(config: &ModelConfig, seed: u64) -> Forecaster {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let network = StockPredictor::init(config, &mut rng, &Device::Cpu).unwrap();
    let metrics = compare(&[1.0, 2.0], &[1.5, 2.5], &[2.0, 3.0], 1.0);
    let features = default_feature_names(false)[..config.input_size].to_vec();
    let scaler = Scaler {
        mean: vec![0.0; features.len()],
        std: vec![1.0; features.len()],
        target_mean: 0.0,
        target_std: 0.01,
    };
    Forecaster {
        network,
        features,
        seq_len: 3,
        intervals: vec![Interval { level: 0.9, half_widths: vec![0.02; config.horizon] }],
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
        crate_version: "test".into(),
        series: vec![SeriesEntry {
            id: "x".into(),
            data: DataInfo {
                csv: "x.csv".into(),
                first_date: "2020-01-01".into(),
                last_date: "2020-02-01".into(),
                rows: 9,
            },
            load_options: LoadOptions::default(),
            scaler,
            calendar: crate::calendar::Calendar::Weekdays,
        }],
    }
}

fn config() -> ModelConfig {
    ModelConfig {
        input_size: 2,
        hidden_size: 16,
        num_layers: 2,
        horizon: 1,
        dropout: 0.0,
        distribution: Default::default(),
    }
}

fn decode(bytes: &[u8]) -> Result<Loaded, ModelFileError> {
    from_bytes(bytes, Path::new("m.safetensors"), &Device::Cpu)
}

/// `f`'s file with its metadata map changed by `edit` (which also sees the tensor bytes).
fn edit_metadata(
    f: &Forecaster,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>, &[u8]),
) -> Vec<u8> {
    let bytes = to_bytes(f).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    edit(header["__metadata__"].as_object_mut().unwrap(), data);
    let mut header_bytes = serde_json::to_vec(&header).unwrap();
    header_bytes.resize(header_bytes.len().next_multiple_of(8), b' ');
    let mut out = (header_bytes.len() as u64).to_le_bytes().to_vec();
    out.extend(header_bytes);
    out.extend(data);
    out
}

/// The file with one metadata entry replaced (and, when `reseal`, the checksum recomputed, as a
/// crafted file would have it).
fn with_metadata(f: &Forecaster, key: &str, value: &str, reseal: bool) -> Vec<u8> {
    edit_metadata(f, |meta, data| {
        meta.insert(key.into(), value.into());
        if reseal {
            let map: BTreeMap<String, String> =
                meta.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
            meta.insert(CHECKSUM.into(), checksum(map.iter(), data).into());
        }
    })
}

fn refused(bytes: &[u8], needles: &[&str]) {
    let err = decode(bytes).expect_err("a bad file loaded");
    let text = err.to_string();
    for needle in needles {
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    }
    assert!(!text.contains('\n'), "{text:?}");
}

#[test]
fn round_trip_and_readers_never_see_a_half_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let models = [forecaster(&config(), 0), forecaster(&config(), 1)];
    save(&path, &models[0]).unwrap();
    let loaded = load(&path, &Device::Cpu).unwrap();
    assert!(loaded.checksum_verified);
    assert_eq!(to_bytes(&loaded.forecaster).unwrap(), to_bytes(&models[0]).unwrap());
    // One thread replaces the file over and over while another reads it: every read is whole.
    let expected: Vec<Vec<u8>> = models.iter().map(|x| to_bytes(x).unwrap()).collect();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..200 {
                save(&path, &models[i % 2]).unwrap();
            }
        });
        for _ in 0..200 {
            let loaded = load(&path, &Device::Cpu).expect("a reader saw a broken file");
            assert!(expected.contains(&to_bytes(&loaded.forecaster).unwrap()));
        }
    });
}

#[test]
fn a_flipped_bit_anywhere_is_refused() {
    let bytes = to_bytes(&forecaster(&config(), 0)).unwrap();
    // Every bit of the last 64 bytes (tensor data) and a sample of the whole file.
    let positions: Vec<usize> = (bytes.len() - 64..bytes.len()).chain((8..bytes.len()).step_by(97)).collect();
    for pos in positions {
        for bit in [0, 3, 7] {
            let mut damaged = bytes.clone();
            damaged[pos] ^= 1 << bit;
            if let Ok(loaded) = decode(&damaged) {
                // Only the header's padding or JSON whitespace may change without meaning.
                assert_eq!(
                    to_bytes(&loaded.forecaster).unwrap(),
                    bytes,
                    "a flip at byte {pos} bit {bit} loaded as a different model"
                );
            }
        }
    }
    let mut last = bytes.clone();
    *last.last_mut().unwrap() ^= 1;
    refused(&last, &["checksum mismatch"]);
}

#[test]
fn a_file_without_a_checksum_still_loads_and_says_so() {
    let old = edit_metadata(&forecaster(&config(), 0), |meta, _| {
        meta.remove(CHECKSUM);
    });
    let loaded = decode(&old).unwrap();
    assert!(!loaded.checksum_verified);
}

#[test]
fn crafted_metadata_is_refused_naming_the_field() {
    let f = forecaster(&config(), 0);
    let cases: &[(&str, &str, &[&str])] = &[
        ("features", "[]", &["\"features\"", "0 names for input_size 2"]),
        ("features", r#"["log_open_prev_close","bogus"]"#, &["unknown feature \"bogus\""]),
        ("features", r#"["log_open_prev_close","log_open_prev_close"]"#, &["listed twice"]),
        ("scaler", r#"{"mean":[],"std":[],"target_mean":0,"target_std":1}"#, &["\"scaler\"", "0 means"]),
        ("scaler", r#"{"mean":[0],"std":[1,1],"target_mean":0,"target_std":1}"#, &["\"scaler\""]),
        ("scaler", r#"{"mean":[0,0],"std":[0,1],"target_mean":0,"target_std":1}"#, &["std[0] is 0"]),
        ("scaler", r#"{"mean":[0,0],"std":[1,1],"target_mean":0,"target_std":1e300}"#, &["target_std"]),
        ("scaler", r#"{"mean":[0,0],"std":[1,1],"target_mean":0,"target_std":-1}"#, &["target_std"]),
        ("seq_len", "18446744073709551615", &["seq_len", "between 1 and"]),
        ("seq_len", "0", &["seq_len"]),
        (
            "model",
            r#"{"input_size":2,"hidden_size":16,"num_layers":100000,"horizon":1,"dropout":0}"#,
            &["num_layers"],
        ),
        (
            "model",
            r#"{"input_size":2,"hidden_size":0,"num_layers":2,"horizon":1,"dropout":0}"#,
            &["hidden_size"],
        ),
        (
            "model",
            r#"{"input_size":2,"hidden_size":16,"num_layers":2,"horizon":0,"dropout":0}"#,
            &["horizon"],
        ),
        ("model", r#"{"input_size":2,"hidden_size":8,"num_layers":2,"horizon":1,"dropout":0}"#, &["shape"]),
        (
            "model",
            r#"{"input_size":2,"hidden_size":16,"num_layers":2,"horizon":1,"dropout":1.5}"#,
            &["dropout"],
        ),
        (
            "model",
            r#"{"input_size":2,"hidden_size":16,"num_layers":2,"horizon":1,"dropout":0,"distribution":"student-t"}"#,
            &["is missing"],
        ),
        (
            "model",
            r#"{"input_size":2,"hidden_size":16,"num_layers":2,"horizon":1,"dropout":0,"distribution":"cauchy"}"#,
            &["\"model\""],
        ),
        ("intervals", r#"[{"level":0.9,"half_widths":[]}]"#, &["\"intervals\"", "0 half-widths"]),
        ("intervals", r#"[{"level":0.9,"half_widths":[-0.1]}]"#, &["half-width -0.1"]),
        ("intervals", r#"[{"level":1.5,"half_widths":[0.1]}]"#, &["level 1.5"]),
        ("intervals", r#"[{"level":0.9,"half_widths":[null]}]"#, &["\"intervals\""]),
        ("calendar", r#""mars""#, &["\"calendar\""]),
        (
            "training",
            r#"{"epochs":1,"batch_size":1,"lr":-1,"val_fraction":0.1,"patience":1,"seed":1,"clip_norm":1}"#,
            &["\"training\"", "lr"],
        ),
        ("format_version", "3", &["format version"]),
        ("format", "other\n\u{1b}[31m", &["not a forecast model", "\\n"]),
        ("target", "price", &["\"target\""]),
        ("load_options", r#"{"tickr":"A"}"#, &["\"load_options\""]),
    ];
    for (key, value, needles) in cases {
        refused(&with_metadata(&f, key, value, true), needles);
        // Without resealing, the checksum catches it first (or the field check does).
        assert!(decode(&with_metadata(&f, key, value, false)).is_err(), "{key} = {value}");
    }
}

#[test]
fn non_finite_or_unexpected_weights_are_refused_naming_the_tensor() {
    let mut f = forecaster(&config(), 0);
    let nan = Tensor::full(f32::NAN, (1, 16), &Device::Cpu).unwrap();
    f.network.fc_weight = candle_core::Var::from_tensor(&nan).unwrap();
    refused(&to_bytes(&f).unwrap(), &["tensor fc.weight holds NaN"]);
    let mut f = forecaster(&config(), 0);
    let inf = Tensor::full(f32::INFINITY, 1, &Device::Cpu).unwrap();
    f.network.fc_bias = candle_core::Var::from_tensor(&inf).unwrap();
    refused(&to_bytes(&f).unwrap(), &["tensor fc.bias holds inf"]);
}

#[test]
fn garbage_and_truncation_are_refused() {
    let bytes = to_bytes(&forecaster(&config(), 0)).unwrap();
    for cut in [0, 4, 8, 9, 100, bytes.len() / 2, bytes.len() - 1] {
        assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut huge_header = bytes.clone();
    huge_header[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    refused(&huge_header, &["header"]);
    refused(b"Date,Open,High,Low,Close\n2020-01-01,1,1,1,1\n", &["m.safetensors"]);
}

#[test]
fn read_refuses_what_is_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = read(dir.path()).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let err = read(Path::new("/dev/zero")).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let err = read(&dir.path().join("missing.safetensors")).unwrap_err();
    assert!(err.to_string().contains("forecast train --out"), "{err}");
}

#[test]
fn a_distributional_model_round_trips_and_its_heads_are_checked() {
    let config = ModelConfig { distribution: Distribution::StudentT, ..config() };
    let f = forecaster(&config, 3);
    let bytes = to_bytes(&f).unwrap();
    let loaded = decode(&bytes).unwrap();
    assert_eq!(loaded.forecaster.network.config.distribution, Distribution::StudentT);
    let names: Vec<String> =
        loaded.forecaster.network.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert!(
        names.ends_with(&["scale.weight", "scale.bias", "df.weight", "df.bias"].map(String::from)),
        "{names:?}"
    );
    assert_eq!(to_bytes(&loaded.forecaster).unwrap(), bytes);
    // A student-t file that claims to be normal has a df head too many.
    refused(
        &with_metadata(
            &f,
            "model",
            r#"{"input_size":2,"hidden_size":16,"num_layers":2,"horizon":1,"dropout":0,"distribution":"normal"}"#,
            true,
        ),
        &["unexpected tensor", "df."],
    );
    // A NaN in the scale head is refused like any other weight.
    let mut bad = forecaster(&config, 3);
    let nan = Tensor::full(f32::NAN, 1, &Device::Cpu).unwrap();
    bad.network.extra_heads[0].1 = candle_core::Var::from_tensor(&nan).unwrap();
    refused(&to_bytes(&bad).unwrap(), &["tensor scale.bias holds NaN"]);
}

#[test]
fn a_file_too_large_to_read_back_is_never_written() {
    let mut f = forecaster(&config(), 1);
    // As a watchlist of tens of thousands of series makes it: metadata past the header limit.
    f.validation.start = "x".repeat(limits::MAX_MODEL_HEADER_BYTES as usize);
    let error = to_bytes(&f).unwrap_err().to_string();
    assert!(error.contains("header") && error.contains("fewer series"), "{error}");
    let tmp = tempfile::tempdir().unwrap();
    assert!(save(&tmp.path().join("m.safetensors"), &f).is_err());
    assert!(!tmp.path().join("m.safetensors").exists());
}
