//! `forecast predict`: model file → the same load → features → stored scaler → last window →
//! next close. Nothing is refitted.

use super::train::choose_calendar;
use super::{as_of, load_series, predict_load_options};
use crate::checkpoint;
use crate::cli::{Format, PredictArgs};
use crate::data::prepare_inference;
use crate::data::Series;
use crate::error::Error;
use crate::inference::{forecast_next, Forecast};
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

pub fn run(args: &PredictArgs) -> crate::error::Result<()> {
    args.check_paths()?;
    let log = Log::new(&args.output);
    let device = args.runtime.runtime()?.device;
    // Read once: the ledger's hash is of exactly the bytes that made this forecast, even if a
    // retrain replaces the file meanwhile.
    let bytes = checkpoint::read(&args.model)?;
    let (model, meta) = checkpoint::from_bytes(&bytes, &args.model, &device)?;
    let csv = args.csv.clone().unwrap_or_else(|| PathBuf::from(&meta.data.csv));
    // Read the CSV the way training did (its ticker, columns, date format…), unless overridden.
    let opts = predict_load_options(&args.load, Some(&meta.load_options), &args.model)?;
    let series = as_of(load_series(&csv, &opts, &log)?, args.as_of, &csv)?;
    check_freshness(&series, args.max_age, args.as_of, &csv, &log)?;
    let windows = prepare_inference(
        &series,
        &meta.features,
        &meta.scaler,
        meta.seq_len,
        meta.model.horizon,
        &csv,
        &args.model,
    )?;
    // The calendar training chose (or detected), unless overridden.
    let calendar = choose_calendar(args.calendar.calendar.or(Some(meta.calendar)), &series, &log);
    let forecast =
        forecast_next(&model, &windows, &meta.scaler, &meta.intervals, &series, calendar, &device)?;
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
) -> crate::error::Result<()> {
    let Some(&last) = series.dates.last() else { return Ok(()) };
    let recent = &series.dates[series.len().saturating_sub(30)..];
    if let Some(w) = recent.windows(2).find(|w| (w[1] - w[0]).num_days() > 7) {
        log.warn(&format!("{}: the latest rows have a gap from {} to {}", csv.display(), w[0], w[1]));
    }
    let Some(max_age) = max_age else { return Ok(()) };
    let reference = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
    let age = (reference - last).num_days();
    if age > max_age as i64 {
        return Err(Error::Stale(format!(
            "{}: the latest row is {last}, {age} days before {reference} (--max-age {max_age}); refresh the data",
            csv.display()
        )));
    }
    Ok(())
}
