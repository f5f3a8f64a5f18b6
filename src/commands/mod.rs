//! One file per subcommand; each reads its flags, calls the library steps in data-flow order and
//! prints. Shared set-up (loading a CSV with its report, --as-of, load options) lives here.

pub mod backtest;
pub mod bench;
pub mod inspect;
pub mod predict;
pub mod score;
pub mod train;

use crate::calendar::Calendar;
use crate::data::{load_csv, LoadOptions, Series};
use crate::error::{DataError, Result};
use crate::output::Log;
use chrono::NaiveDate;
use std::path::Path;

/// Loads a CSV with the given options, printing what was dropped and any warnings.
pub fn load_series(path: &Path, opts: &LoadOptions, log: &Log) -> Result<Series> {
    let (series, report) = load_csv(path, opts)?;
    log.load_report(&report);
    Ok(series)
}

/// The calendar forecast dates use: the flag, else crypto when the data trades on weekends (said
/// on stderr), else weekdays.
pub fn choose_calendar(flag: Option<Calendar>, series: &Series, log: &Log) -> Calendar {
    flag.unwrap_or_else(|| {
        let detected = Calendar::detect(&series.dates);
        if detected == Calendar::Crypto {
            log.info("the data trades on weekends: forecast dates include every day (--calendar to change)");
        }
        detected
    })
}

/// The series cut at `date` (all of it without one).
pub fn as_of(series: Series, date: Option<NaiveDate>, csv: &Path) -> Result<Series> {
    let Some(date) = date else { return Ok(series) };
    let cut = series.up_to(date);
    if cut.is_empty() {
        return Err(DataError::new(csv, format!("no rows on or before --as-of {date}")).into());
    }
    Ok(cut)
}
