//! `forecast predict`: model file → `Forecaster` (validated) → the same load → `prepare` (stored
//! scaler, windows) → `forecast` → stdout and the ledger. Nothing is refitted, except the scaler of
//! a series a global model never saw (a cold start), fitted on that series' own history.
//!
//! A model of one series, with at most one `--csv`, prints one forecast as it always has; a
//! global model (or several CSVs), or several model files (`--model 'models/*.safetensors'`, or
//! `--model DIR --csv GLOB`: each series by DIR/ID.safetensors), print one forecast per series,
//! sorted by id, with each failure in place. A watchlist's forecasts can be sharded.

use super::{as_of, choose_calendar, load_series, most_severe, my_series};
use crate::calendar::Calendar;
use crate::checkpoint;
use crate::cli::{Format, PredictArgs};
use crate::data::watchlist::{reload, Source};
use crate::data::{Scaler, Series};
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::forecaster::{Forecaster, SeriesEntry};
use crate::freshness;
use crate::inference::Forecast;
use crate::ledger;
use crate::output::{print_json, print_json_as, print_json_lines, print_text, table, Log, SeriesForecast};
use crate::paths::{model_file, stem};
use chrono::NaiveDate;
use rayon::prelude::*;
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
    if args.model.is_dir() && !args.csv.is_empty() {
        return run_folder(args, &args.model, &device, &log);
    }
    if let Some(pattern) = model_pattern(&args.model) {
        return run_models(args, &pattern, &device, &log);
    }
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
    if let Some(shard) = args.shard.shard {
        return Err(Error::Usage(format!(
            "--shard {shard}: this model forecasts one series, which is one unit of work; shard a watchlist's predict"
        )));
    }
    let entry = &forecaster.series[0];
    let csv = files.first().cloned().unwrap_or_else(|| PathBuf::from(&entry.data.csv));
    // Read the CSV the way training did (its ticker, columns, date format…), unless overridden.
    let opts = args.load.or(&entry.load_options);
    let series = load_series(&csv, &opts, &log)?;
    let forecast =
        forecast_series(args, (forecaster, &args.model), &entry.scaler, entry.calendar, series, &csv, &log)?;
    if let Some(path) = &args.log {
        let hash = ledger::model_hash(&bytes);
        log_forecasts(path, &ledger::entries(&forecast, &entry.id, &args.model, &hash, &run_time()), &log)?;
    }
    let report =
        PredictReport { model: args.model.display().to_string(), csv: csv.display().to_string(), forecast };
    match args.output.format {
        Format::Json | Format::Jsonl => print_json_as(&report, args.output.format == Format::Jsonl),
        Format::Table => print_text(&table::forecast(&report.forecast)),
        Format::Csv => print_text(&crate::output::csv::forecast(&report.forecast)?),
    }
}

/// The glob of model files `--model` names, when it names several: a glob (that is not the name
/// of a file), or a folder (its `*.safetensors`); `None` for one file.
fn model_pattern(model: &Path) -> Option<PathBuf> {
    if model.is_dir() {
        // A folder without model files is not a model (exit 4, as before there were folders).
        let pattern = PathBuf::from(glob::Pattern::escape(&model.to_string_lossy())).join("*.safetensors");
        let any = glob::glob(&pattern.to_string_lossy()).is_ok_and(|mut m| m.any(|f| f.is_ok()));
        return any.then_some(pattern);
    }
    // A file whose name has a `[` or a `*` is that file, and so is a name that is no glob.
    let glob = crate::data::watchlist::is_glob(model)
        && !model.exists()
        && glob::Pattern::new(&model.to_string_lossy()).is_ok();
    glob.then(|| model.to_path_buf())
}

/// One series' forecast: `--as-of`, the freshness check, the calendar (the flag, else the one
/// recorded for the series), then the forecaster (read from the file `model`) with `scaler`.
fn forecast_series(
    args: &PredictArgs,
    (forecaster, model): (&Forecaster, &Path),
    scaler: &Scaler,
    calendar: Calendar,
    series: Series,
    csv: &Path,
    log: &Log,
) -> Result<Forecast> {
    let series = as_of(series, args.as_of, csv)?;
    check_freshness(&series, args.max_age, args.as_of, csv, log)?;
    let calendar = choose_calendar(args.calendar.calendar.or(Some(calendar)), &series, log);
    forecaster.forecast_next(&series, scaler, calendar, (csv, model))
}

/// The time a run logs its forecasts with (UTC, RFC 3339).
fn run_time() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Appends ledger rows to the ledger at `path`.
fn log_forecasts(path: &Path, rows: &[ledger::Entry], log: &Log) -> Result<()> {
    let added = ledger::append(path, rows)?;
    log.info(&format!("{}: {added} new row(s) logged", path.display()));
    Ok(())
}

/// What `predict --format json` prints for a global model, several CSVs or several models.
#[derive(Debug, Serialize)]
struct WatchlistReport {
    /// The model file (absent for several: each series names its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    series: Vec<SeriesForecast>,
}

/// One series' outcome: its line of the report, its error kept whole for the exit code, and its
/// ledger rows.
type Outcome = (SeriesForecast, Option<Error>, Vec<ledger::Entry>);

/// The outcome of one series' `forecast`, logged (when it is one) under `model` and `hash`.
fn outcome(item: (SeriesForecast, Option<Error>), (model, hash, run_time): (&Path, &str, &str)) -> Outcome {
    let rows = item.0.forecast.as_ref().map(|f| ledger::entries(f, &item.0.id, model, hash, run_time));
    (item.0, item.1, rows.unwrap_or_default())
}

/// Every series' forecast: with `--csv`, each series read is forecast with its stored scaler when
/// the model knows its id, else from a cold start (a scaler fitted on its own history, said on
/// stderr); without, every series of the model from its recorded CSV. A series that fails is
/// reported in the output with its error, the others are still forecast, and the exit code is the
/// most severe of the failures. Sharded, by series id.
fn run_watchlist(
    args: &PredictArgs,
    forecaster: &Forecaster,
    files: &[PathBuf],
    bytes: &[u8],
    log: &Log,
) -> Result<()> {
    if files.is_empty() && args.load.ticker.is_some() {
        return Err(Error::Usage(
            "--ticker would read one ticker for every series of the model; name the files with --csv (and --tickers)"
                .into(),
        ));
    }
    let shard = super::shard(args.shard.shard)?;
    let (hash, time) = (ledger::model_hash(bytes), run_time());
    let logged = (args.model.as_path(), hash.as_str(), time.as_str());
    let mut results: Vec<Outcome> = Vec::new();
    if files.is_empty() {
        let mut entries: Vec<&SeriesEntry> = forecaster.series.iter().collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        let entries = shard.select(entries);
        shard.announce(log, entries.len(), forecaster.series.len(), "series");
        for item in forecast_recorded(args, (forecaster, &args.model), &entries, log) {
            results.push(outcome(with_model(item, &args.model), logged));
        }
    } else {
        let (loaded, failed) =
            crate::data::watchlist::load(files, &args.load, args.tickers.tickers.as_ref())?;
        let mine = my_series(&shard, &loaded, &failed, log);
        for l in loaded.into_iter().filter(|l| mine.contains(&l.id)) {
            log.load_report(&l.report);
            let known = forecaster.entry(&l.id);
            let forecast = match known {
                Some(entry) => forecast_series(
                    args,
                    (forecaster, &args.model),
                    &entry.scaler,
                    entry.calendar,
                    l.series,
                    &l.csv,
                    log,
                ),
                None => forecaster.cold_start_scaler(&l.series, &l.csv, &args.model).and_then(|scaler| {
                    log.info(&format!(
                        "{}: not in the model; cold start: its scaler is fitted on its own {} rows",
                        l.id,
                        l.series.len()
                    ));
                    let calendar = crate::calendar::Calendar::detect(&l.series.dates);
                    forecast_series(args, (forecaster, &args.model), &scaler, calendar, l.series, &l.csv, log)
                }),
            };
            let item = SeriesForecast::new(&l.id, &l.csv, known.is_none(), forecast);
            results.push(outcome(with_model(item, &args.model), logged));
        }
        for f in failed.into_iter().filter(|f| mine.contains(&f.id)) {
            let item = SeriesForecast::new(&f.id, &f.csv, false, Err(f.error));
            results.push(outcome(with_model(item, &args.model), logged));
        }
    }
    finish(args, results, log)
}

/// The forecasts of `entries` (series of `forecaster`, read from `model`) from the CSVs recorded
/// in it, re-read (several tickers of one file from one parse).
fn forecast_recorded(
    args: &PredictArgs,
    (forecaster, model): (&Forecaster, &Path),
    entries: &[&SeriesEntry],
    log: &Log,
) -> Vec<(SeriesForecast, Option<Error>)> {
    let sources: Vec<Source> = entries
        .iter()
        .map(|e| Source {
            id: e.id.clone(),
            csv: PathBuf::from(&e.data.csv),
            load_options: args.load.or(&e.load_options),
        })
        .collect();
    let mut items = Vec::new();
    for ((entry, source), read) in entries.iter().zip(&sources).zip(reload(&sources)) {
        let forecast = read.and_then(|(series, report)| {
            log.load_report(&report);
            forecast_series(
                args,
                (forecaster, model),
                &entry.scaler,
                entry.calendar,
                series,
                &source.csv,
                log,
            )
        });
        items.push(SeriesForecast::new(&entry.id, &source.csv, false, forecast));
    }
    items
}

/// `predict --model 'models/*.safetensors'`: every model file's series, forecast from their
/// recorded CSVs, the models in parallel; sharded by model file (sorted by path). A model file
/// that cannot be read is one line with its error (id: the file's stem).
fn run_models(args: &PredictArgs, pattern: &Path, device: &candle_core::Device, log: &Log) -> Result<()> {
    if !args.csv.is_empty() || args.tickers.tickers.is_some() || args.load.ticker.is_some() {
        return Err(Error::Usage(
            "--csv with several models needs --model DIR, the folder of `train --each`'s ID.safetensors; without --csv each model re-reads the CSV recorded in it".into(),
        ));
    }
    let files = crate::data::watchlist::expand_as("--model", &[pattern.to_path_buf()])?;
    if let Some(path) = &args.log {
        let inputs: Vec<(&str, &Path)> = files.iter().map(|f| ("--model", f.as_path())).collect();
        crate::paths::check_outputs(&[("--log", path)], &inputs)?;
    }
    let shard = super::shard(args.shard.shard)?;
    let mine = shard.select(&files);
    shard.announce(log, mine.len(), files.len(), "model files");
    let time = run_time();
    crate::pool::start();
    let results: Vec<Vec<Outcome>> = mine
        .par_iter()
        .map(|path| {
            let read = read_model(path, device);
            let (bytes, forecaster) = match read {
                Ok(read) => read,
                Err(e) => {
                    let item = SeriesForecast::new(&stem(path), Path::new(""), false, Err(e.into()));
                    return vec![outcome(with_model(item, path), (path, "", &time))];
                }
            };
            let hash = ledger::model_hash(&bytes);
            let entries: Vec<&SeriesEntry> = forecaster.series.iter().collect();
            forecast_recorded(args, (&forecaster, path), &entries, log)
                .into_iter()
                .map(|item| outcome(with_model(item, path), (path, &hash, &time)))
                .collect()
        })
        .collect();
    finish(args, results.into_iter().flatten().collect(), log)
}

/// `predict --model DIR --csv 'prices/*.csv'`: every series of the watchlist forecast by its own
/// model, DIR/ID.safetensors (as `train --each` writes them), the series in parallel; sharded by
/// series id, as `train --each` is, so a job array's task forecasts exactly the series it trained.
/// A series without a model file is a line with a model-file error (exit 4).
fn run_folder(args: &PredictArgs, dir: &Path, device: &candle_core::Device, log: &Log) -> Result<()> {
    let files = crate::data::watchlist::expand(&args.csv)?;
    args.check_paths(&files)?;
    let (loaded, failed) = crate::data::watchlist::load(&files, &args.load, args.tickers.tickers.as_ref())?;
    let mine = my_series(&super::shard(args.shard.shard)?, &loaded, &failed, log);
    let time = run_time();
    crate::pool::start();
    let mut results: Vec<Outcome> = loaded
        .into_par_iter()
        .filter(|l| mine.contains(&l.id))
        .map(|l| {
            log.load_report(&l.report);
            let path = model_file(dir, &l.id);
            let read = read_model(&path, device);
            let (forecast, hash) = match read {
                Err(e) => (Err(e.into()), String::new()),
                Ok((bytes, forecaster)) => {
                    let forecast = match forecaster.entry(&l.id) {
                        Some(e) => forecast_series(
                            args,
                            (&forecaster, &path),
                            &e.scaler,
                            e.calendar,
                            l.series,
                            &l.csv,
                            log,
                        ),
                        None => {
                            Err(crate::error::ModelFileError::new(&path, format!("holds no series {}", l.id))
                                .into())
                        }
                    };
                    (forecast, ledger::model_hash(&bytes))
                }
            };
            let item = SeriesForecast::new(&l.id, &l.csv, false, forecast);
            outcome(with_model(item, &path), (&path, &hash, &time))
        })
        .collect();
    for f in failed.into_iter().filter(|f| mine.contains(&f.id)) {
        let path = model_file(dir, &f.id);
        let item = SeriesForecast::new(&f.id, &f.csv, false, Err(f.error));
        results.push(outcome(with_model(item, &path), (&path, "", &time)));
    }
    finish(args, results, log)
}

/// The model file at `path`: its bytes (for the ledger's hash) and its forecaster.
fn read_model(
    path: &Path,
    device: &candle_core::Device,
) -> std::result::Result<(Vec<u8>, Forecaster), crate::error::ModelFileError> {
    let bytes = checkpoint::read(path)?;
    let forecaster = checkpoint::from_bytes(&bytes, path, device)?.forecaster;
    Ok((bytes, forecaster))
}

/// The line of a series forecast by the model file `path`, saying so.
fn with_model(
    (mut item, error): (SeriesForecast, Option<Error>),
    path: &Path,
) -> (SeriesForecast, Option<Error>) {
    item.model = Some(path.display().to_string());
    (item, error)
}

/// Logs the series forecast and prints every series' line, both sorted by id (then model file),
/// and fails with the most severe series error.
fn finish(args: &PredictArgs, mut results: Vec<Outcome>, log: &Log) -> Result<()> {
    results.sort_by(|a, b| (&a.0.id, &a.0.model).cmp(&(&b.0.id, &b.0.model)));
    let mut series = Vec::new();
    let mut rows = Vec::new();
    for (item, error, logged) in results {
        if let Some(e) = &error {
            log.warn(&format!("{}: {e}", item.id));
        }
        series.push(item);
        rows.extend(logged);
    }
    if let Some(path) = &args.log {
        log_forecasts(path, &rows, log)?;
    }
    print_forecasts(series, args.output.format)
}

/// Prints series' lines, sorted by id (then model file), in `format` — with `--format json`, the
/// model file once above them when they share one — and fails with the most severe series error
/// (what `predict` does with its own, and `merge` with a sharded run's).
pub fn print_forecasts(series: Vec<SeriesForecast>, format: Format) -> Result<()> {
    match format {
        Format::Json => {
            let first = series.first().and_then(|s| s.model.clone());
            let model = first.filter(|m| series.iter().all(|s| s.model.as_ref() == Some(m)));
            let mut report = WatchlistReport { model, series: series.clone() };
            if report.model.is_some() {
                report.series.iter_mut().for_each(|s| s.model = None);
            }
            print_json(&report)?
        }
        Format::Jsonl => print_json_lines(&series)?,
        Format::Table => print_text(&table::watchlist(&series))?,
        Format::Csv => print_text(&crate::output::csv::watchlist(&series)?)?,
    }
    let code = |s: &SeriesForecast| s.exit_code.and_then(Exit::from_code).unwrap_or(Exit::Internal);
    let failures = series.iter().filter_map(|s| Some((code(s), s.error.clone()?))).collect();
    most_severe(failures, series.len(), "forecast")
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
