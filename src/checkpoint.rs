//! The model file: one safetensors file holding the weights under their PyTorch names and a
//! `__metadata__` map describing everything predict needs to reproduce training's inputs.
//!
//! Metadata keys (values are strings; structured values are JSON):
//!
//! | key | value |
//! |---|---|
//! | `format` | `forecast-model` |
//! | `format_version` | `1` |
//! | `crate_version` | version of forecast that wrote the file |
//! | `model` | JSON [`ModelConfig`] |
//! | `training` | JSON [`TrainConfig`] |
//! | `features` | JSON list of input feature names, in column order |
//! | `target` | what the head predicts (`next_log_return_close`) |
//! | `scaler` | JSON [`Scaler`] fitted on the training span |
//! | `seq_len` | window length in days |
//! | `data` | JSON [`DataInfo`]: training CSV's absolute path, date range, rows |
//! | `load_options` | JSON of the CSV load flags training used (ticker, columns, date format…); predict reuses them |
//! | `validation` | JSON [`Validation`]: the validation span and metrics vs naive |
//! | `intervals` | JSON list of [`Interval`]: conformal half-widths per level and step |
//! | `calendar` | the trading calendar of forecast dates: `weekdays`, `nyse` or `crypto` |
//!
//! The file is written with keys in sorted order and no timestamps, so the same training run gives
//! the same bytes; it is replaced atomically.

use crate::atomic::write_atomic;
use crate::calendar::Calendar;
use crate::data::Scaler;
use crate::error::{Error, ModelFileError, Result};
use crate::intervals::Interval;
use crate::metrics::Comparison;
use crate::model::{ModelConfig, StockPredictor};
use crate::train::TrainConfig;
use candle_core::{Device, Tensor};
use safetensors::SafeTensors;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

pub const FORMAT: &str = "forecast-model";
pub const FORMAT_VERSION: u32 = 1;

/// Where the training data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    /// Absolute path of the training CSV; predict re-reads it when --csv is not given.
    pub csv: String,
    pub first_date: String,
    pub last_date: String,
    pub rows: usize,
}

/// The validation span (target dates of step 1) and the model's metrics on it beside naive's:
/// `metrics` for step 1, `steps` for every step of the horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    pub start: String,
    pub end: String,
    pub windows: usize,
    pub metrics: Comparison,
    pub steps: Vec<Comparison>,
}

/// Everything in the file except the weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMeta {
    pub crate_version: String,
    pub model: ModelConfig,
    pub training: TrainConfig,
    pub features: Vec<String>,
    pub target: String,
    pub scaler: Scaler,
    pub seq_len: usize,
    pub data: DataInfo,
    /// The load flags training read its CSV with, as JSON (`LoadOptions::to_json`).
    pub load_options: String,
    pub validation: Validation,
    /// Split-conformal interval half-widths, per level and step.
    pub intervals: Vec<Interval>,
    /// The calendar forecast dates use (the --calendar given to train, or the one detected).
    pub calendar: Calendar,
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl ModelMeta {
    fn to_map(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("format_version".to_string(), FORMAT_VERSION.to_string()),
            ("crate_version".to_string(), self.crate_version.clone()),
            ("model".to_string(), json(&self.model)),
            ("training".to_string(), json(&self.training)),
            ("features".to_string(), json(&self.features)),
            ("target".to_string(), self.target.clone()),
            ("scaler".to_string(), json(&self.scaler)),
            ("seq_len".to_string(), self.seq_len.to_string()),
            ("data".to_string(), json(&self.data)),
            ("load_options".to_string(), self.load_options.clone()),
            ("validation".to_string(), json(&self.validation)),
            ("intervals".to_string(), json(&self.intervals)),
            ("calendar".to_string(), json(&self.calendar)),
        ])
    }

    fn from_map(
        map: &HashMap<String, String>,
        path: &Path,
    ) -> std::result::Result<ModelMeta, ModelFileError> {
        let get = |key: &str| {
            map.get(key).ok_or_else(|| {
                ModelFileError::new(
                    path,
                    format!("metadata has no \"{key}\"; the file is damaged or was not written by forecast"),
                )
            })
        };
        fn parse<T: DeserializeOwned>(
            path: &Path,
            key: &str,
            text: &str,
        ) -> std::result::Result<T, ModelFileError> {
            serde_json::from_str(text).map_err(|e| {
                ModelFileError::new(
                    path,
                    format!("metadata \"{key}\" cannot be read ({e}); the file is damaged"),
                )
            })
        }
        let format = get("format")?;
        if format != FORMAT {
            return Err(ModelFileError::new(path, format!("not a forecast model (format \"{format}\")")));
        }
        let version = get("format_version")?;
        if version.parse::<u32>().ok() != Some(FORMAT_VERSION) {
            return Err(ModelFileError::new(
                path,
                format!("unknown model format version {version} (this forecast reads version {FORMAT_VERSION}); retrain the model with this version"),
            ));
        }
        Ok(ModelMeta {
            crate_version: get("crate_version")?.clone(),
            model: parse(path, "model", get("model")?)?,
            training: parse(path, "training", get("training")?)?,
            features: parse(path, "features", get("features")?)?,
            target: get("target")?.clone(),
            scaler: parse(path, "scaler", get("scaler")?)?,
            seq_len: parse(path, "seq_len", get("seq_len")?)?,
            data: parse(path, "data", get("data")?)?,
            load_options: get("load_options")?.clone(),
            validation: parse(path, "validation", get("validation")?)?,
            intervals: parse(path, "intervals", get("intervals")?)?,
            calendar: parse(path, "calendar", get("calendar")?)?,
        })
    }
}

/// The file's bytes: safetensors layout (u64 header length, JSON header, raw little-endian f32
/// data), weights in state_dict order, header keys sorted.
pub fn to_bytes(model: &StockPredictor, meta: &ModelMeta) -> Result<Vec<u8>> {
    let encode = |e: serde_json::Error| Error::Internal(format!("cannot encode the model file: {e}"));
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".to_string(), serde_json::to_value(meta.to_map()).map_err(encode)?);
    let mut data = Vec::new();
    for (name, var) in model.named_parameters() {
        let values = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            name,
            serde_json::json!({ "dtype": "F32", "shape": var.dims(), "data_offsets": [start, data.len()] }),
        );
    }
    let mut header_bytes = serde_json::to_vec(&header).map_err(encode)?;
    // Pad the header with spaces so the data starts 8-byte aligned, as safetensors writers do.
    header_bytes.resize(header_bytes.len().next_multiple_of(8), b' ');
    let mut bytes = Vec::with_capacity(8 + header_bytes.len() + data.len());
    bytes.extend((header_bytes.len() as u64).to_le_bytes());
    bytes.extend(header_bytes);
    bytes.extend(data);
    Ok(bytes)
}

/// Writes the model file atomically.
pub fn save(path: &Path, model: &StockPredictor, meta: &ModelMeta) -> Result<()> {
    let bytes = to_bytes(model, meta)?;
    write_atomic(path, &bytes).map_err(|e| Error::output(format!("model file {}", path.display()), e))
}

/// Reads a model file written by [`save`].
pub fn load(
    path: &Path,
    device: &Device,
) -> std::result::Result<(StockPredictor, ModelMeta), ModelFileError> {
    from_bytes(&read(path)?, path, device)
}

/// The model file's bytes, with a model-file error (exit 4) that says what to do when it is missing.
pub fn read(path: &Path) -> std::result::Result<Vec<u8>, ModelFileError> {
    std::fs::read(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "; train one first with `forecast train --out`"
        } else {
            ""
        };
        ModelFileError::new(path, format!("cannot read model file: {e}{hint}"))
    })
}

/// Decodes a model file read by [`read`]; `path` names it in errors.
pub fn from_bytes(
    bytes: &[u8],
    path: &Path,
    device: &Device,
) -> std::result::Result<(StockPredictor, ModelMeta), ModelFileError> {
    let damaged = |e: safetensors::SafeTensorError| {
        ModelFileError::new(
            path,
            format!("not a valid safetensors file ({e}); the file is damaged or incomplete"),
        )
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(damaged)?;
    let empty = HashMap::new();
    let meta = ModelMeta::from_map(header.metadata().as_ref().unwrap_or(&empty), path)?;
    let tensors = SafeTensors::deserialize(bytes).map_err(damaged)?;
    let mut named = HashMap::new();
    for (name, view) in tensors.tensors() {
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(ModelFileError::new(
                path,
                format!("tensor {name} is {:?}, expected F32", view.dtype()),
            ));
        }
        let values: Vec<f32> =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let tensor = Tensor::from_vec(values, view.shape(), device)
            .map_err(|e| ModelFileError::new(path, e.to_string()))?;
        named.insert(name, tensor);
    }
    let model = StockPredictor::from_tensors(&meta.model, &named)
        .map_err(|e| ModelFileError::new(path, format!("weights do not match the model config: {e}")))?;
    Ok((model, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;
    use crate::metrics::compare;
    use rand::SeedableRng;

    fn meta(config: &ModelConfig) -> ModelMeta {
        let metrics = compare(&[1.0, 2.0], &[1.5, 2.5], &[2.0, 3.0], 1.0);
        ModelMeta {
            crate_version: "test".into(),
            model: config.clone(),
            training: TrainConfig {
                epochs: 1,
                batch_size: 1,
                lr: 1e-3,
                val_fraction: 0.1,
                patience: 1,
                seed: 1,
                clip_norm: 1.0,
            },
            features: vec!["a".into(), "b".into()],
            target: "t".into(),
            scaler: Scaler { mean: vec![0.0, 0.0], std: vec![1.0, 1.0], target_mean: 0.0, target_std: 1.0 },
            seq_len: 3,
            data: DataInfo {
                csv: "x.csv".into(),
                first_date: "2020-01-01".into(),
                last_date: "2020-02-01".into(),
                rows: 9,
            },
            load_options: "{}".into(),
            validation: Validation {
                start: "a".into(),
                end: "b".into(),
                windows: 2,
                metrics,
                steps: vec![metrics],
            },
            intervals: vec![],
            calendar: Calendar::Weekdays,
        }
    }

    #[test]
    fn round_trip_and_readers_never_see_a_half_written_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let config = ModelConfig { input_size: 2, hidden_size: 16, num_layers: 2, horizon: 1, dropout: 0.0 };
        let models: Vec<StockPredictor> = (0..2)
            .map(|seed| {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
                StockPredictor::init(&config, &mut rng, &Device::Cpu).unwrap()
            })
            .collect();
        let m = meta(&config);
        save(&path, &models[0], &m).unwrap();
        let (loaded, loaded_meta) = load(&path, &Device::Cpu).unwrap();
        assert_eq!(loaded_meta, m);
        assert_eq!(to_bytes(&loaded, &m).unwrap(), to_bytes(&models[0], &m).unwrap());
        // One thread replaces the file over and over while another reads it: every read is whole.
        let expected: Vec<Vec<u8>> = models.iter().map(|x| to_bytes(x, &m).unwrap()).collect();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for i in 0..200 {
                    save(&path, &models[i % 2], &m).unwrap();
                }
            });
            for _ in 0..200 {
                let (model, _) = load(&path, &Device::Cpu).expect("a reader saw a broken file");
                assert!(expected.contains(&to_bytes(&model, &m).unwrap()));
            }
        });
    }
}
