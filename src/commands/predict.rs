//! `forecast predict`: model file → `Forecaster` (validated) → the same load → `prepare` (stored
//! scaler, windows) → `forecast` → stdout and the ledger. Nothing is refitted, except the scaler of
//! a series a global model never saw (a cold start), fitted on that series' own history.
//!
//! A model of one series, with at most one `--csv`, prints one forecast as it always has; a
//! global model (or several CSVs) prints one forecast per series, with each failure in place.

use super::{as_of, choose_calendar, load_series, severity};
use crate::calendar::Calendar;
use crate::checkpoint;
use crate::cli::{Format, PredictArgs};
use crate::data::watchlist::{reload, Source};
use crate::data::{Scaler, Series};
use crate::error::{Error, Result};
use crate::forecaster::Forecaster;
use crate::freshness;
use crate::inference::Forecast;
use crate::ledger;
use crate::output::{print_json, print_text, table, Log, SeriesForecast};
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
    let log = args.output.log();
    let device = args.runtime.runtime()?.device;
    let files = crate::data::watchlist::expand(&args.csv)?;
    args.check_paths(&files)?;
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
    let one_series = forecaster.series.len() == 1 && files.len() <= 1 && args.tickers.tickers.is_none();
    if !one_series {
        return run_watchlist(args, forecaster, &files, &bytes, &log);
    }
    let entry = &forecaster.series[0];
    let csv = files.first().cloned().unwrap_or_else(|| PathBuf::from(&entry.data.csv));
    // Read the CSV the way training did (its ticker, columns, date format…), unless overridden.
    let opts = args.load.or(&entry.load_options);
    let series = load_series(&csv, &opts, &log)?;
    let forecast = forecast_series(args, forecaster, &entry.scaler, entry.calendar, series, &csv, &log)?;
    if let Some(path) = &args.log {
        log_forecasts(path, &args.model, &bytes, [(entry.id.as_str(), &forecast)], &log)?;
    }
    let report =
        PredictReport { model: args.model.display().to_string(), csv: csv.display().to_string(), forecast };
    match args.output.format {
        Format::Json => print_json(&report),
        Format::Table => print_text(&table::forecast(&report.forecast)),
        Format::Csv => print_text(&crate::output::csv::forecast(&report.forecast)?),
    }
}

/// One series' forecast: `--as-of`, the freshness check, the calendar (the flag, else the one
/// recorded for the series), then the forecaster with `scaler`.
fn forecast_series(
    args: &PredictArgs,
    forecaster: &Forecaster,
    scaler: &Scaler,
    calendar: Calendar,
    series: Series,
    csv: &Path,
    log: &Log,
) -> Result<Forecast> {
    let series = as_of(series, args.as_of, csv)?;
    check_freshness(&series, args.max_age, args.as_of, csv, log)?;
    let calendar = choose_calendar(args.calendar.calendar.or(Some(calendar)), &series, log);
    forecaster.prepare(&series, scaler, csv, &args.model)?.forecast(calendar)
}

/// Appends forecasts (each with its series id) to the ledger at `path`.
fn log_forecasts<'a>(
    path: &Path,
    model: &Path,
    bytes: &[u8],
    forecasts: impl IntoIterator<Item = (&'a str, &'a Forecast)>,
    log: &Log,
) -> Result<()> {
    let run_time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let hash = ledger::model_hash(bytes);
    let rows: Vec<ledger::Entry> =
        forecasts.into_iter().flat_map(|(id, f)| ledger::entries(f, id, model, &hash, &run_time)).collect();
    let added = ledger::append(path, &rows)?;
    log.info(&format!("{}: {added} new row(s) logged", path.display()));
    Ok(())
}

/// What `predict --format json` prints for a global model or several CSVs.
#[derive(Debug, Serialize)]
struct WatchlistReport {
    model: String,
    series: Vec<SeriesForecast>,
}

/// Every series' forecast: with `--csv`, each series read is forecast with its stored scaler when
/// the model knows its id, else from a cold start (a scaler fitted on its own history, said on
/// stderr); without, every series of the model from its recorded CSV. A series that fails is
/// reported in the output with its error, the others are still forecast, and the exit code is the
/// most severe of the failures.
fn run_watchlist(
    args: &PredictArgs,
    forecaster: &Forecaster,
    files: &[PathBuf],
    bytes: &[u8],
    log: &Log,
) -> Result<()> {
    let mut results: Vec<(SeriesForecast, Option<Error>)> = Vec::new();
    if files.is_empty() && args.load.ticker.is_some() {
        return Err(Error::Usage(
            "--ticker would read one ticker for every series of the model; name the files with --csv (and --tickers)"
                .into(),
        ));
    }
    if files.is_empty() {
        let sources: Vec<Source> = forecaster
            .series
            .iter()
            .map(|e| Source {
                id: e.id.clone(),
                csv: PathBuf::from(&e.data.csv),
                load_options: args.load.or(&e.load_options),
            })
            .collect();
        for ((entry, source), read) in forecaster.series.iter().zip(&sources).zip(reload(&sources)) {
            let forecast = read.and_then(|(series, report)| {
                log.load_report(&report);
                forecast_series(args, forecaster, &entry.scaler, entry.calendar, series, &source.csv, log)
            });
            results.push(SeriesForecast::new(&entry.id, &source.csv, false, forecast));
        }
    } else {
        let (loaded, failed) =
            crate::data::watchlist::load(files, &args.load, args.tickers.tickers.as_ref())?;
        for l in loaded {
            log.load_report(&l.report);
            let known = forecaster.entry(&l.id);
            let forecast = match known {
                Some(entry) => {
                    forecast_series(args, forecaster, &entry.scaler, entry.calendar, l.series, &l.csv, log)
                }
                None => forecaster.cold_start_scaler(&l.series, &l.csv, &args.model).and_then(|scaler| {
                    log.info(&format!(
                        "{}: not in the model; cold start: its scaler is fitted on its own {} rows",
                        l.id,
                        l.series.len()
                    ));
                    let calendar = crate::calendar::Calendar::detect(&l.series.dates);
                    forecast_series(args, forecaster, &scaler, calendar, l.series, &l.csv, log)
                }),
            };
            results.push(SeriesForecast::new(&l.id, &l.csv, known.is_none(), forecast));
        }
        for f in failed {
            results.push(SeriesForecast::new(&f.id, &f.csv, false, Err(f.error)));
        }
    }
    let (series, errors): (Vec<SeriesForecast>, Vec<Option<Error>>) = results.into_iter().unzip();
    for (item, error) in series.iter().zip(&errors) {
        if let Some(e) = error {
            log.warn(&format!("{}: {e}", item.id));
        }
    }
    if let Some(path) = &args.log {
        let done = series.iter().filter_map(|s| s.forecast.as_ref().map(|f| (s.id.as_str(), f)));
        log_forecasts(path, &args.model, bytes, done, log)?;
    }
    let report = WatchlistReport { model: args.model.display().to_string(), series };
    match args.output.format {
        Format::Json => print_json(&report)?,
        Format::Table => print_text(&table::watchlist(&report.series))?,
        Format::Csv => print_text(&crate::output::csv::watchlist(&report.series)?)?,
    }
    let failed = errors.iter().flatten().count();
    match errors.into_iter().flatten().max_by_key(severity) {
        None => Ok(()),
        Some(worst) => Err(Error::Series(
            worst.exit_code(),
            format!("{failed} of {} series not forecast; the most severe: {worst}", report.series.len()),
        )),
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
