//! `forecast predict`: model file → `Forecaster` (validated) → the same load → `prepare` (stored
//! scaler, windows) → `forecast` → stdout and the ledger. Nothing is refitted.

use super::{as_of, choose_calendar, load_series};
use crate::checkpoint;
use crate::cli::{Format, PredictArgs};
use crate::data::Series;
use crate::error::{Error, Result};
use crate::freshness;
use crate::inference::Forecast;
use crate::ledger;
use crate::output::{print_json, print_text, table, Log};
use chrono::NaiveDate;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What `predict --format json` prints.
#[derive(Debug, Serialize)]
struct PredictReport {
    model: String,
    csv: String,
    #[serde(flatten)]
    forecast: Forecast,
}

pub fn run(args: &PredictArgs) -> Result<()> {
    args.check_paths()?;
    let log = args.output.log();
    let device = args.runtime.runtime()?.device;
    // Read once: the ledger's hash is of exactly the bytes that made this forecast, even if a
    // retrain replaces the file meanwhile.
    let bytes = checkpoint::read(&args.model)?;
    let loaded = checkpoint::from_bytes(&bytes, &args.model, &device)?;
    if !loaded.checksum_verified {
        log.info(&format!(
            "{}: written before model files had checksums; it loads, but damage cannot be detected (retrain to add one)",
            args.model.display()
        ));
    }
    let forecaster = &loaded.forecaster;
    let csv = args.csv.clone().unwrap_or_else(|| PathBuf::from(&forecaster.data.csv));
    // Read the CSV the way training did (its ticker, columns, date format…), unless overridden.
    let opts = args.load.or(&forecaster.load_options);
    let series = as_of(load_series(&csv, &opts, &log)?, args.as_of, &csv)?;
    check_freshness(&series, args.max_age, args.as_of, &csv, &log)?;
    // The calendar training chose (or detected), unless overridden.
    let calendar = choose_calendar(args.calendar.calendar.or(Some(forecaster.calendar)), &series, &log);
    let forecast = forecaster.prepare(&series, &csv, &args.model)?.forecast(calendar)?;
    if let Some(path) = &args.log {
        let run_time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let rows = ledger::entries(&forecast, &args.model, &ledger::model_hash(&bytes), &run_time);
        let added = ledger::append(path, &rows)?;
        log.info(&format!("{}: {added} new row(s) logged", path.display()));
    }
    let report =
        PredictReport { model: args.model.display().to_string(), csv: csv.display().to_string(), forecast };
    match args.output.format {
        Format::Json => print_json(&report),
        Format::Table => print_text(&table::forecast(&report.forecast)),
        Format::Csv => print_text(&crate::output::csv::forecast(&report.forecast)?),
    }
}

/// With `max_age`: fails (exit 5) when the last row is more than that many calendar days before
/// `as_of` or today. Always: warns when the latest rows have a gap of more than a week.
fn check_freshness(
    series: &Series,
    max_age: Option<u64>,
    as_of: Option<NaiveDate>,
    csv: &Path,
    log: &Log,
) -> Result<()> {
    if let Some((before, after)) = freshness::recent_gap(series) {
        log.warn(&format!("{}: the latest rows have a gap from {before} to {after}", csv.display()));
    }
    let Some(max_age) = max_age else { return Ok(()) };
    let reference = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
    match freshness::too_old(series, max_age, reference) {
        Some((last, age)) => Err(Error::Stale(format!(
            "{}: the latest row is {last}, {age} days before {reference} (--max-age {max_age}); refresh the data",
            csv.display()
        ))),
        None => Ok(()),
    }
}
