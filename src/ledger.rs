//! The forecast ledger: `predict --log FILE` keeps every forecast a cron job made, one CSV row per
//! step and level, so that `forecast score` can later join them with the actual closes.
//!
//! Columns: `run_time` (UTC, RFC 3339), `model` (path), `model_hash` (first 16 hex digits of the
//! model file's SHA-256), `as_of`, `date` (the day forecast), `step`, `close`, `lower`, `upper`,
//! `level`, `last_close` (the close on `as_of`: naive's forecast). A rerun for the same `as_of`
//! and model adds no rows. The file is locked while it is rewritten, and replaced atomically.

use crate::atomic::write_atomic;
use crate::error::{DataError, Error, Result};
use crate::inference::Forecast;
use crate::lock::lock_model;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// One ledger row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub run_time: String,
    pub model: String,
    pub model_hash: String,
    pub as_of: String,
    pub date: String,
    pub step: usize,
    pub close: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub level: Option<f64>,
    pub last_close: f64,
}

impl Entry {
    /// Rows with the same key are the same forecast.
    fn key(&self) -> (&str, &str, usize, Option<u64>) {
        (&self.model_hash, &self.as_of, self.step, self.level.map(f64::to_bits))
    }
}

/// First 16 hex digits of the SHA-256 of the file's bytes.
pub fn model_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The ledger rows of one forecast.
pub fn entries(forecast: &Forecast, model: &Path, hash: &str, run_time: &str) -> Vec<Entry> {
    let mut rows = Vec::new();
    for step in &forecast.forecasts {
        let base = Entry {
            run_time: run_time.to_string(),
            model: model.display().to_string(),
            model_hash: hash.to_string(),
            as_of: forecast.as_of.clone(),
            date: step.date.clone(),
            step: step.step,
            close: step.close,
            lower: None,
            upper: None,
            level: None,
            last_close: forecast.last_close,
        };
        for band in &step.intervals {
            rows.push(Entry {
                lower: Some(band.lower),
                upper: Some(band.upper),
                level: Some(band.level),
                ..base.clone()
            });
        }
        if step.intervals.is_empty() {
            rows.push(base);
        }
    }
    rows
}

/// Reads a ledger (an absent file is an empty ledger).
pub fn read(path: &Path) -> Result<Vec<Entry>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| DataError::new(path, format!("cannot read the forecast ledger: {e}")))?;
    reader
        .deserialize()
        .enumerate()
        .map(|(i, row)| {
            row.map_err(|e| {
                DataError::at(path, i as u64 + 2, None, format!("not a forecast ledger row ({e})")).into()
            })
        })
        .collect()
}

/// Appends the rows not already in the ledger; returns how many were added.
pub fn append(path: &Path, rows: &[Entry]) -> Result<usize> {
    let _lock = lock_model(path, true)?;
    let mut all = read(path)?;
    let before = all.len();
    for row in rows {
        if !all.iter().any(|e| e.key() == row.key()) {
            all.push(row.clone());
        }
    }
    let added = all.len() - before;
    if added > 0 {
        let mut writer = csv::Writer::from_writer(Vec::new());
        for row in &all {
            writer.serialize(row).map_err(|e| Error::Internal(format!("cannot encode a ledger row: {e}")))?;
        }
        let bytes =
            writer.into_inner().map_err(|e| Error::Internal(format!("cannot encode the ledger: {e}")))?;
        write_atomic(path, &bytes).map_err(|e| Error::output(format!("ledger {}", path.display()), e))?;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(as_of: &str, step: usize) -> Entry {
        Entry {
            run_time: "2025-01-03T22:00:00Z".into(),
            model: "m.safetensors".into(),
            model_hash: "abcd".into(),
            as_of: as_of.into(),
            date: "2025-01-06".into(),
            step,
            close: 101.5,
            lower: Some(99.0),
            upper: Some(104.0),
            level: Some(0.9),
            last_close: 101.0,
        }
    }

    #[test]
    fn a_rerun_adds_nothing_and_a_new_day_adds_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forecasts.csv");
        assert_eq!(append(&path, &[entry("2025-01-03", 1), entry("2025-01-03", 2)]).unwrap(), 2);
        let mut rerun = entry("2025-01-03", 1);
        rerun.run_time = "2025-01-03T23:00:00Z".into();
        assert_eq!(append(&path, &[rerun]).unwrap(), 0);
        assert_eq!(append(&path, &[entry("2025-01-06", 1)]).unwrap(), 1);
        let rows = read(&path).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], entry("2025-01-03", 1));
    }
}
