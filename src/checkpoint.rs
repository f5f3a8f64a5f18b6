//! The model file: a [`Forecaster`] as one safetensors file, weights under their PyTorch names
//! and a `__metadata__` map holding everything else.
//!
//! Metadata keys (values are strings; structured values are JSON):
//!
//! | key | value |
//! |---|---|
//! | `format` | `forecast-model` |
//! | `format_version` | `1` for a model of one series, `2` for a global model of several |
//! | `crate_version` | version of forecast that wrote the file |
//! | `model` | JSON [`ModelConfig`] |
//! | `training` | JSON [`TrainConfig`] |
//! | `features` | JSON list of input feature names, in column order |
//! | `target` | what the head predicts (`next_log_return_close`) |
//! | `seq_len` | window length in days |
//! | `validation` | JSON [`Validation`]: the validation span and metrics vs naive |
//! | `intervals` | JSON list of [`Interval`]: conformal half-widths per level and step |
//!
//! Version 1 (one series) then has, for its series:
//!
//! | key | value |
//! |---|---|
//! | `series_id` | the series' id (ticker or file stem; files written before it derive it) |
//! | `scaler` | JSON [`Scaler`] fitted on the training span |
//! | `data` | JSON [`DataInfo`]: training CSV's absolute path, date range, rows |
//! | `load_options` | JSON of the CSV load flags training used; predict reuses them |
//! | `calendar` | the trading calendar of forecast dates: `weekdays`, `nyse` or `crypto` |
//!
//! Version 2 (a global model) has instead `series`: a JSON list of [`SeriesEntry`], each with
//! `id`, `data`, `load_options`, `scaler` and `calendar` as above (ids unique, at most
//! [`limits::MAX_SERIES`]).
//! | `checksum` | `sha256:` + hex SHA-256 of every other metadata entry and the tensor bytes |
//!
//! Loading validates every field before anything runs (sizes within `limits`, shapes consistent
//! with the config, finite numbers, positive standard deviations, one interval width per step,
//! the checksum): a file that fails is a [`ModelFileError`] (exit 4) naming the field and what it
//! holds. The file is written with keys in sorted order and no timestamps, so the same training
//! run gives the same bytes; it is replaced atomically.

use crate::atomic::write_atomic;
use crate::data::features::{training_feature_names, TARGET};
use crate::data::{LoadOptions, Scaler};
use crate::distribution::Distribution;
use crate::error::{Error, ModelFileError, Result};
use crate::forecaster::{DataInfo, Forecaster, SeriesEntry, Validation};
use crate::intervals::Interval;
use crate::limits;
use crate::model::{parameter_shapes, ModelConfig, StockPredictor};
use crate::train::TrainConfig;
use candle_core::{Device, Tensor};
use safetensors::SafeTensors;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

pub const FORMAT: &str = "forecast-model";
/// The version of a model of one series; older forecasts read it.
pub const FORMAT_VERSION: u32 = 1;
/// The version of a global model (several series).
pub const PANEL_FORMAT_VERSION: u32 = 2;
const CHECKSUM: &str = "checksum";

/// A model file's forecaster, and whether its checksum was there to verify (files written before
/// checksums existed load without one; the caller says so on stderr).
#[derive(Debug)]
pub struct Loaded {
    pub forecaster: Forecaster,
    pub checksum_verified: bool,
}

fn json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("cannot encode the model file: {e}")))
}

/// The metadata map of `f`, without the checksum.
fn metadata(f: &Forecaster) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("crate_version".to_string(), f.crate_version.clone()),
        ("model".to_string(), json(&f.network.config)?),
        ("training".to_string(), json(&f.training)?),
        ("features".to_string(), json(&f.features)?),
        ("target".to_string(), TARGET.to_string()),
        ("seq_len".to_string(), f.seq_len.to_string()),
        ("validation".to_string(), json(&f.validation)?),
        ("intervals".to_string(), json(&f.intervals)?),
    ]);
    match f.series.as_slice() {
        [one] => map.extend([
            ("format_version".to_string(), FORMAT_VERSION.to_string()),
            ("series_id".to_string(), one.id.clone()),
            ("scaler".to_string(), json(&one.scaler)?),
            ("data".to_string(), json(&one.data)?),
            ("load_options".to_string(), one.load_options.to_json()),
            ("calendar".to_string(), json(&one.calendar)?),
        ]),
        many => map.extend([
            ("format_version".to_string(), PANEL_FORMAT_VERSION.to_string()),
            ("series".to_string(), json(&many)?),
        ]),
    }
    Ok(map)
}

/// SHA-256 over every metadata entry but the checksum (sorted by key) and the tensor bytes.
fn checksum<'a>(entries: impl Iterator<Item = (&'a String, &'a String)>, data: &[u8]) -> String {
    let mut sorted: Vec<(&String, &String)> = entries.filter(|(k, _)| k.as_str() != CHECKSUM).collect();
    sorted.sort();
    let mut hash = Sha256::new();
    for (key, value) in sorted {
        hash.update(key.as_bytes());
        hash.update([0]);
        hash.update(value.as_bytes());
        hash.update([0]);
    }
    hash.update(data);
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The file's bytes: safetensors layout (u64 header length, JSON header, raw little-endian f32
/// data), weights in state_dict order, header keys sorted.
pub fn to_bytes(f: &Forecaster) -> Result<Vec<u8>> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, var) in f.network.named_parameters() {
        let values = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            name,
            serde_json::json!({ "dtype": "F32", "shape": var.dims(), "data_offsets": [start, data.len()] }),
        );
    }
    let mut meta = metadata(f)?;
    let sum = checksum(meta.iter(), &data);
    meta.insert(CHECKSUM.to_string(), sum);
    header.insert("__metadata__".to_string(), serde_json::json!(meta));
    let mut header_bytes = serde_json::to_vec(&header)
        .map_err(|e| Error::Internal(format!("cannot encode the model file: {e}")))?;
    // Pad the header with spaces so the data starts 8-byte aligned, as safetensors writers do.
    header_bytes.resize(header_bytes.len().next_multiple_of(8), b' ');
    // A file `read` would refuse is never written: say so instead (a watchlist of tens of
    // thousands of series, each with its validation record and tests).
    let (header_len, limit) = (header_bytes.len() as u64, limits::MAX_MODEL_HEADER_BYTES);
    if header_len > limit || 8 + header_len + data.len() as u64 > limits::MAX_MODEL_FILE_BYTES {
        return Err(Error::Usage(format!(
            "the model file would have a {header_len}-byte header ({limit} at most) and {} bytes of weights; \
             train fewer series per model (--each, or several watchlists)",
            data.len()
        )));
    }
    let mut bytes = Vec::with_capacity(8 + header_bytes.len() + data.len());
    bytes.extend((header_bytes.len() as u64).to_le_bytes());
    bytes.extend(header_bytes);
    bytes.extend(data);
    Ok(bytes)
}

/// Writes the model file atomically.
pub fn save(path: &Path, f: &Forecaster) -> Result<()> {
    let bytes = to_bytes(f)?;
    write_atomic(path, &bytes).map_err(|e| Error::output(format!("model file {}", path.display()), e))
}

/// Reads and validates a model file written by [`save`].
pub fn load(path: &Path, device: &Device) -> Result<Loaded, ModelFileError> {
    from_bytes(&read(path)?, path, device)
}

/// The model file's bytes. Refuses what is not a regular file (a FIFO would block, a device
/// would never end) and a file over [`limits::MAX_MODEL_FILE_BYTES`], before reading it.
pub fn read(path: &Path) -> Result<Vec<u8>, ModelFileError> {
    let fail = |message: String| ModelFileError::new(path, message);
    let meta = std::fs::metadata(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "; train one first with `forecast train --out`"
        } else {
            ""
        };
        fail(format!("cannot read model file: {e}{hint}"))
    })?;
    if !meta.is_file() {
        return Err(fail(
            "not a regular file; give the path of a model file written by `forecast train`".into(),
        ));
    }
    let limit = limits::MAX_MODEL_FILE_BYTES;
    if meta.len() > limit {
        return Err(fail(format!("{} bytes is larger than any model file ({limit} at most)", meta.len())));
    }
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read model file: {e}")))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| fail(format!("cannot read model file: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(fail(format!("larger than any model file ({limit} bytes at most)")));
    }
    Ok(bytes)
}

/// Decodes and validates a model file read by [`read`]; `path` names it in errors. Never
/// panics, whatever the bytes.
pub fn from_bytes(bytes: &[u8], path: &Path, device: &Device) -> Result<Loaded, ModelFileError> {
    let fail = |message: String| ModelFileError::new(path, message);
    let damaged = |e: safetensors::SafeTensorError| {
        fail(format!("not a valid safetensors file ({e}); the file is damaged or incomplete"))
    };
    let header_len = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()));
    if header_len.is_some_and(|n| n > limits::MAX_MODEL_HEADER_BYTES) {
        return Err(fail(
            "not a safetensors model file (its header length is implausible); the file is damaged or is not a model"
                .into(),
        ));
    }
    let (data_start, header) = SafeTensors::read_metadata(bytes).map_err(damaged)?;
    let empty = HashMap::new();
    let map = header.metadata().as_ref().unwrap_or(&empty);
    let fields = Fields { map, path };
    fields.check_format()?;
    let checksum_verified = match map.get(CHECKSUM) {
        None => false,
        Some(stored) => {
            let data = bytes.get(8 + data_start..).unwrap_or_default();
            if *stored != checksum(map.iter(), data) {
                return Err(fail(
                    "checksum mismatch: the file was changed or damaged after it was written; retrain or restore it"
                        .into(),
                ));
            }
            true
        }
    };
    let config: ModelConfig = fields.parse("model")?;
    check_config(&config).map_err(|e| fail(format!("metadata \"model\": {e}")))?;
    let seq_len: usize = fields.parse("seq_len")?;
    in_range("seq_len", seq_len, limits::MAX_SEQ_LEN).map_err(|e| fail(format!("metadata {e}")))?;
    let features: Vec<String> = fields.parse("features")?;
    check_features(&features, config.input_size).map_err(|e| fail(format!("metadata \"features\": {e}")))?;
    let target = fields.get("target")?;
    if target != TARGET {
        return Err(fail(format!("metadata \"target\" is {}, expected {TARGET}", quote(target))));
    }
    let intervals: Vec<Interval> = fields.parse("intervals")?;
    check_intervals(&intervals, &config).map_err(|e| fail(format!("metadata \"intervals\": {e}")))?;
    let training: TrainConfig = fields.parse("training")?;
    check_training(&training).map_err(|e| fail(format!("metadata \"training\": {e}")))?;
    let series = match fields.version()? {
        FORMAT_VERSION => vec![fields.single_series(features.len())?],
        _ => fields.panel_series(features.len())?,
    };
    let network = network(bytes, &config, path, device)?;
    Ok(Loaded {
        forecaster: Forecaster {
            network,
            features,
            seq_len,
            intervals,
            training,
            validation: fields.parse::<Validation>("validation")?,
            crate_version: fields.get("crate_version")?.clone(),
            series,
        },
        checksum_verified,
    })
}

/// The metadata map of one file, with errors that name the file and the key.
struct Fields<'a> {
    map: &'a HashMap<String, String>,
    path: &'a Path,
}

impl Fields<'_> {
    fn get(&self, key: &str) -> Result<&String, ModelFileError> {
        self.map.get(key).ok_or_else(|| {
            ModelFileError::new(
                self.path,
                format!("metadata has no \"{key}\"; the file is damaged or was not written by forecast"),
            )
        })
    }

    fn parse<T: DeserializeOwned>(&self, key: &str) -> Result<T, ModelFileError> {
        let text = self.get(key)?;
        serde_json::from_str(text).map_err(|e| {
            ModelFileError::new(
                self.path,
                format!("metadata \"{key}\" cannot be read ({}); the file is damaged", quote(&e.to_string())),
            )
        })
    }

    fn fail(&self, message: String) -> ModelFileError {
        ModelFileError::new(self.path, message)
    }

    /// The format version, already checked by [`Fields::check_format`].
    fn version(&self) -> Result<u32, ModelFileError> {
        Ok(self.get("format_version")?.parse::<u32>().unwrap_or(FORMAT_VERSION))
    }

    /// The series of a version-1 file, from its top-level keys (its id derived from its ticker
    /// or CSV name when the file predates `series_id`).
    fn single_series(&self, width: usize) -> Result<SeriesEntry, ModelFileError> {
        let scaler: Scaler = self.parse("scaler")?;
        check_scaler(&scaler, width).map_err(|e| self.fail(format!("metadata \"scaler\": {e}")))?;
        let load_options = LoadOptions::from_json(self.get("load_options")?).map_err(|e| {
            self.fail(format!(
                "metadata \"load_options\" cannot be read ({}); the file is damaged",
                quote(&e.to_string())
            ))
        })?;
        let data: DataInfo = self.parse("data")?;
        let id = match self.map.get("series_id") {
            Some(id) => id.clone(),
            None => load_options.ticker.clone().unwrap_or_else(|| crate::paths::stem(Path::new(&data.csv))),
        };
        check_id(&id).map_err(|e| self.fail(format!("metadata \"series_id\": {e}")))?;
        Ok(SeriesEntry { id, data, load_options, scaler, calendar: self.parse("calendar")? })
    }

    /// The series of a version-2 (global) file: each with a valid id, scaler and options.
    fn panel_series(&self, width: usize) -> Result<Vec<SeriesEntry>, ModelFileError> {
        let text = self.get("series")?;
        let series: Vec<SeriesEntry> = serde_json::from_str(text).map_err(|e| {
            self.fail(format!(
                "metadata \"series\" cannot be read ({}); the file is damaged",
                quote(&e.to_string())
            ))
        })?;
        if series.is_empty() || series.len() > limits::MAX_SERIES {
            return Err(self.fail(format!(
                "metadata \"series\" lists {} series, must be 1 to {}",
                series.len(),
                limits::MAX_SERIES
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, entry) in series.iter().enumerate() {
            let at = |e: String| self.fail(format!("metadata \"series\"[{i}]: {e}"));
            check_id(&entry.id).map_err(at)?;
            if !seen.insert(entry.id.as_str()) {
                return Err(at(format!("id {} is listed twice", quote(&entry.id))));
            }
            check_scaler(&entry.scaler, width).map_err(|e| at(format!("scaler: {e}")))?;
        }
        Ok(series)
    }

    fn check_format(&self) -> Result<(), ModelFileError> {
        let format = self.get("format")?;
        if format != FORMAT {
            return Err(ModelFileError::new(
                self.path,
                format!("not a forecast model (format {})", quote(format)),
            ));
        }
        let version = self.get("format_version")?;
        if !matches!(version.parse::<u32>(), Ok(FORMAT_VERSION | PANEL_FORMAT_VERSION)) {
            let version = match version.parse::<u32>() {
                Ok(n) => n.to_string(),
                Err(_) => quote(version),
            };
            return Err(ModelFileError::new(
                self.path,
                format!(
                    "unknown model format version {version} (this forecast reads versions {FORMAT_VERSION} and {PANEL_FORMAT_VERSION}); retrain the model with this version"
                ),
            ));
        }
        Ok(())
    }
}

/// A short, escaped excerpt of text from a file, quoted, for messages.
fn quote(text: &str) -> String {
    format!("\"{}\"", crate::text::excerpt(text, 60))
}

fn in_range(name: &str, value: usize, max: usize) -> Result<(), String> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!("\"{name}\" is {value}, must be between 1 and {max}"))
    }
}

/// A series id: 1 to [`limits::MAX_ID_CHARS`] printable characters.
fn check_id(id: &str) -> Result<(), String> {
    let printable = !id.is_empty() && id.chars().all(|c| !c.is_control());
    if printable && id.chars().count() <= limits::MAX_ID_CHARS {
        Ok(())
    } else {
        Err(format!("id {} must be 1 to {} printable characters", quote(id), limits::MAX_ID_CHARS))
    }
}

fn check_config(c: &ModelConfig) -> Result<(), String> {
    in_range("input_size", c.input_size, limits::MAX_FEATURES)?;
    in_range("hidden_size", c.hidden_size, limits::MAX_HIDDEN)?;
    in_range("num_layers", c.num_layers, limits::MAX_LAYERS)?;
    in_range("horizon", c.horizon, limits::MAX_HORIZON)?;
    if !(0.0..1.0).contains(&c.dropout) {
        return Err(format!("\"dropout\" is {}, must be in [0, 1)", c.dropout));
    }
    Ok(())
}

/// The training settings are a record, not used to forecast, but a file is either sound or
/// refused: every number finite and in the range its flag allows.
fn check_training(t: &TrainConfig) -> Result<(), String> {
    let real = |name: &str, v: f64, ok: bool| if ok { Ok(()) } else { Err(format!("\"{name}\" is {v}")) };
    real("lr", t.lr, t.lr.is_finite() && t.lr > 0.0)?;
    real("val_fraction", t.val_fraction, t.val_fraction > 0.0 && t.val_fraction < 1.0)?;
    real("clip_norm", t.clip_norm, t.clip_norm.is_finite() && t.clip_norm > 0.0)
}

fn check_features(features: &[String], input_size: usize) -> Result<(), String> {
    if features.len() != input_size {
        return Err(format!("{} names for input_size {input_size}", features.len()));
    }
    let known = training_feature_names(true, true);
    for (i, name) in features.iter().enumerate() {
        if !known.contains(name) {
            return Err(format!("unknown feature {} (known: {})", quote(name), known.join(", ")));
        }
        if features[..i].contains(name) {
            return Err(format!("feature {name} is listed twice"));
        }
    }
    Ok(())
}

/// Largest |mean| and std a feature's scaler may hold (the features are log ratios).
const MAX_FEATURE_STAT: f64 = 1e3;
/// Largest |mean| and std of the target, a daily log return (e^10 is a 22,000-fold move).
const MAX_TARGET_STAT: f64 = 10.0;

fn check_scaler(s: &Scaler, width: usize) -> Result<(), String> {
    if s.mean.len() != width || s.std.len() != width {
        return Err(format!(
            "{} means and {} standard deviations for {width} features",
            s.mean.len(),
            s.std.len()
        ));
    }
    let stat = |name: &str, i: Option<usize>, v: f64, positive: bool, max: f64| -> Result<(), String> {
        let ok = v.is_finite() && v.abs() <= max && (!positive || v > 1e-12);
        if ok {
            return Ok(());
        }
        let at = i.map(|i| format!("[{i}]")).unwrap_or_default();
        let need = if positive { format!("in (0, {max}]") } else { format!("within ±{max}") };
        Err(format!("{name}{at} is {v}, must be {need}"))
    };
    for i in 0..width {
        stat("mean", Some(i), s.mean[i], false, MAX_FEATURE_STAT)?;
        stat("std", Some(i), s.std[i], true, MAX_FEATURE_STAT)?;
    }
    stat("target_mean", None, s.target_mean, false, MAX_TARGET_STAT)?;
    stat("target_std", None, s.target_std, true, MAX_TARGET_STAT)
}

/// Largest interval half-width, in log-return space.
const MAX_HALF_WIDTH: f64 = 10.0;
/// Largest half-width of a distributional model, in units of its predicted scale.
const MAX_SCALE_MULTIPLE: f64 = 1e9;

fn check_intervals(intervals: &[Interval], config: &ModelConfig) -> Result<(), String> {
    let horizon = config.horizon;
    // A squared-error head's half-widths are log returns; a distributional head's are multiples
    // of its predicted scale, which a series that barely moves can make large (the forecast's
    // bounds are still checked to be finite before they are printed).
    let most = if config.distribution == Distribution::None { MAX_HALF_WIDTH } else { MAX_SCALE_MULTIPLE };
    if intervals.len() > limits::MAX_LEVELS {
        return Err(format!("{} levels, at most {}", intervals.len(), limits::MAX_LEVELS));
    }
    for (i, interval) in intervals.iter().enumerate() {
        if !(interval.level > 0.0 && interval.level < 1.0) {
            return Err(format!("level {} is not in (0, 1)", interval.level));
        }
        if intervals[..i].iter().any(|o| o.level == interval.level) {
            return Err(format!("level {} is listed twice", interval.level));
        }
        if interval.half_widths.len() != horizon {
            return Err(format!(
                "level {} has {} half-widths for horizon {horizon}",
                interval.level,
                interval.half_widths.len()
            ));
        }
        if let Some(w) = interval.half_widths.iter().find(|w| !(w.is_finite() && (0.0..=most).contains(*w))) {
            return Err(format!("level {} has half-width {w}, must be in [0, {most}]", interval.level));
        }
    }
    Ok(())
}

/// The network from the file's tensors: exactly the parameters the config names, with their
/// shapes, F32, every value finite.
fn network(
    bytes: &[u8],
    config: &ModelConfig,
    path: &Path,
    device: &Device,
) -> Result<StockPredictor, ModelFileError> {
    let fail = |message: String| ModelFileError::new(path, message);
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| {
        fail(format!("not a valid safetensors file ({e}); the file is damaged or incomplete"))
    })?;
    let expected: HashMap<String, Vec<usize>> = parameter_shapes(config).into_iter().collect();
    let mut named = HashMap::new();
    for (name, view) in tensors.tensors() {
        let Some(shape) = expected.get(&name) else {
            return Err(fail(format!("unexpected tensor {} for the model config", quote(&name))));
        };
        if view.shape() != shape.as_slice() {
            return Err(fail(format!(
                "tensor {name} has shape {:?}, the model config needs {shape:?}",
                view.shape()
            )));
        }
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(fail(format!("tensor {name} is {:?}, expected F32", view.dtype())));
        }
        let values: Vec<f32> =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(fail(format!(
                "tensor {name} holds {} at index {i}; the weights are unusable",
                values[i]
            )));
        }
        let tensor = Tensor::from_vec(values, view.shape(), device).map_err(|e| fail(e.to_string()))?;
        named.insert(name, tensor);
    }
    if let Some(missing) = expected.keys().find(|k| !named.contains_key(*k)) {
        return Err(fail(format!("tensor {missing} is missing")));
    }
    StockPredictor::from_tensors(config, &named)
        .map_err(|e| fail(format!("weights do not match the model config: {e}")))
}

#[cfg(test)]
mod tests;
