//! One file per subcommand; each reads its flags, calls the library steps in data-flow order and
//! prints. Shared set-up (loading a CSV with its report) lives here.

pub mod bench;
pub mod predict;
pub mod train;

use crate::data::{load_csv, LoadOptions, Series};
use crate::output::Log;
use std::path::Path;

/// Loads a CSV, printing what was dropped and any warnings.
pub fn load_series(path: &Path, log: &Log) -> anyhow::Result<Series> {
    let (series, report) = load_csv(path, &LoadOptions::default())?;
    log.load_report(&report);
    Ok(series)
}
