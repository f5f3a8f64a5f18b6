//! `forecast train --each --out-dir DIR`: one model per series of a watchlist, each exactly the
//! model `train --csv` of that series alone would write, as DIR/ID.safetensors (atomic, locked).
//! A series that cannot be read or trained is a line of the summary with its error; the others
//! go on, and the exit code is the most severe failure. Sharded by series id.

use super::FitSummary;
use crate::checkpoint;
use crate::cli::{Format, TrainArgs};
use crate::commands::{choose_calendar, most_severe, my_series};
use crate::data::watchlist::{self, Failed, Loaded};
use crate::error::{Error, Result};
use crate::forecaster::{self, Source, TrainingSeries};
use crate::inference::Forecast;
use crate::lock::lock_model;
use crate::output::{print_json, print_json_lines, print_text, Log};
use crate::paths::{check_outputs, file_name_for, model_file, shown};
use crate::runtime::Runtime;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One series' line of the summary: its model and how it did, or why there is none.
#[derive(Debug, Serialize)]
struct Line {
    id: String,
    /// `trained` (its model written) or `failed` (see `error`).
    status: &'static str,
    csv: String,
    /// The model file written.
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    rows: usize,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    fit: Option<FitSummary>,
    /// The next forecast, from the data trained on.
    #[serde(skip_serializing_if = "Option::is_none")]
    forecast: Option<Forecast>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<u8>,
}

/// A series of the work list: read, or not.
type Named = std::result::Result<Loaded, Failed>;

/// What `train --each --format json` prints.
#[derive(Debug, Serialize)]
struct Report {
    out_dir: String,
    series: Vec<Line>,
}

pub fn run(args: &TrainArgs, dir: &Path, runtime: &Runtime, log: &Log) -> Result<()> {
    let shard = crate::commands::shard(args.shard.shard)?;
    let files = watchlist::expand(&args.csv)?;
    if dir.is_file() {
        return Err(Error::Usage(format!("--out-dir {}: is a file, not a folder", shown(dir))));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::output(format!("--out-dir {}", shown(dir)), e))?;
    let (loaded, failed) = watchlist::load(&files, &args.load, args.tickers.tickers.as_ref())?;
    check_names(loaded.iter().map(|l| &l.id).chain(failed.iter().map(|f| &f.id)))?;
    let mine = my_series(&shard, &loaded, &failed, log);
    let mut work: Vec<Named> = loaded
        .into_iter()
        .filter(|l| mine.contains(&l.id))
        .map(Ok)
        .chain(failed.into_iter().filter(|f| mine.contains(&f.id)).map(Err))
        .collect();
    work.sort_by(|a, b| id_of(a).cmp(id_of(b)));
    let paths: Vec<PathBuf> = work.iter().map(|w| model_file(dir, id_of(w))).collect();
    let outputs: Vec<(&str, &Path)> = paths.iter().map(|p| ("--out-dir", p.as_path())).collect();
    let inputs: Vec<(&str, &Path)> = files.iter().map(|f| ("--csv", f.as_path())).collect();
    check_outputs(&outputs, &inputs)?;
    let bar = log.bar(work.len() as u64, "series");
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (series, path) in work.into_iter().zip(&paths) {
        let id = id_of(&series).to_string();
        let (line, error) = match series {
            Ok(l) => {
                log.load_report(&l.report);
                train_one(args, &l, path, runtime, log)
            }
            Err(f) => (failed_line(&f.id, &f.csv, 0, &f.error), Some(f.error)),
        };
        match &error {
            Some(e) => bar.suspend(|| log.warn(&format!("{id}: not trained: {e}"))),
            None => bar.suspend(|| log.info(&format!("{id}: wrote {}", path.display()))),
        }
        bar.inc(1);
        lines.push(line);
        errors.extend(error);
    }
    bar.finish_and_clear();
    let report = Report { out_dir: dir.display().to_string(), series: lines };
    match args.output.format {
        Format::Json => print_json(&report)?,
        Format::Jsonl => print_json_lines(&report.series)?,
        Format::Table => print_text(&render(&report))?,
        Format::Csv => print_text(&csv(&report.series)?)?,
    }
    let failures = errors.iter().map(|e| (e.exit_code(), e.to_string())).collect();
    most_severe(failures, report.series.len(), "trained")
}

/// The id of a series of the work list.
fn id_of(series: &Named) -> &str {
    match series {
        Ok(l) => &l.id,
        Err(f) => &f.id,
    }
}

/// Refuses two series of the whole watchlist (not only this shard's: two shards must never
/// write one file) whose ids give one file name, also where a file system ignores case (`BRK/B`
/// and `BRK_B`, `aapl` and `AAPL`).
fn check_names<'a>(ids: impl Iterator<Item = &'a String>) -> Result<()> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for id in ids {
        let name = file_name_for(id).to_lowercase();
        if let Some(other) = seen.insert(name, id) {
            return Err(Error::Usage(format!(
                "series {} and {} would both be written to {}.safetensors: rename one file or ticker",
                crate::text::excerpt(other, 40),
                crate::text::excerpt(id, 40),
                file_name_for(id)
            )));
        }
    }
    Ok(())
}

/// Trains one series' model and writes it to `path` (locked while it trains).
fn train_one(
    args: &TrainArgs,
    l: &Loaded,
    path: &Path,
    runtime: &Runtime,
    log: &Log,
) -> (Line, Option<Error>) {
    let started = Instant::now();
    let result = lock_model(path, args.wait).and_then(|_lock| {
        let member = TrainingSeries {
            id: l.id.clone(),
            series: &l.series,
            source: Source {
                csv: &l.csv,
                load_options: l.load_options.clone(),
                calendar: choose_calendar(args.calendar.calendar, &l.series, log),
            },
        };
        let trained = forecaster::fit(&[member], &args.model.settings(), runtime, |e| {
            log.progress(&format!(
                "{}: epoch {:>3}/{}  train {:.5}  val {:.5}  {:.2}s",
                l.id, e.epoch, args.model.epochs, e.train_loss, e.val_loss, e.seconds
            ))
        })?;
        let f = &trained.forecaster;
        let entry = &f.series[0];
        let forecast = f.forecast_next(&l.series, &entry.scaler, entry.calendar, (&l.csv, path))?;
        checkpoint::save(path, f)?;
        Ok((FitSummary::new(&trained, runtime, started), forecast))
    });
    match result {
        Ok((fit, forecast)) => (
            Line {
                id: l.id.clone(),
                status: "trained",
                csv: shown(&l.csv),
                model: Some(path.display().to_string()),
                rows: l.series.len(),
                fit: Some(fit),
                forecast: Some(forecast),
                error: None,
                exit_code: None,
            },
            None,
        ),
        Err(e) => (failed_line(&l.id, &l.csv, l.series.len(), &e), Some(e)),
    }
}

fn failed_line(id: &str, csv: &Path, rows: usize, e: &Error) -> Line {
    Line {
        id: id.to_string(),
        status: "failed",
        csv: shown(csv),
        model: None,
        rows,
        fit: None,
        forecast: None,
        error: Some(e.to_string()),
        exit_code: Some(e.exit_code() as u8),
    }
}

/// One row per series: its validation RMSE beside naive's, the next close, and the model file
/// (or the error).
fn render(r: &Report) -> String {
    let mut s = format!(
        "{:<10} {:>6}  {:>7}  {:>10}  {:>10}  {:>8}  {:>12}  model\n",
        "series", "rows", "epochs", "rmse", "naive rmse", "skill", "forecast"
    );
    for line in &r.series {
        let _ = match (&line.fit, &line.forecast) {
            (Some(fit), Some(f)) => writeln!(
                s,
                "{:<10} {:>6}  {:>7}  {:>10.4}  {:>10.4}  {:>+8.4}  {:>12.4}  {}",
                crate::text::excerpt(&line.id, 10),
                line.rows,
                format!("{}/{}", fit.best_epoch, fit.epochs_run),
                fit.validation.model.rmse,
                fit.validation.naive.rmse,
                fit.validation.skill,
                f.forecasts.first().map_or(f64::NAN, |step| step.close),
                line.model.as_deref().unwrap_or_default()
            ),
            _ => writeln!(
                s,
                "{:<10} {:>6}  not trained: {}",
                crate::text::excerpt(&line.id, 10),
                line.rows,
                line.error.as_deref().unwrap_or_default()
            ),
        };
    }
    let trained = r.series.iter().filter(|l| l.model.is_some()).count();
    let _ = writeln!(s, "{trained} of {} series trained, models in {}", r.series.len(), r.out_dir);
    s
}

/// `--format csv`: one row per series.
fn csv(lines: &[Line]) -> Result<String> {
    let header = [
        "series",
        "status",
        "csv",
        "model",
        "rows",
        "epochs_run",
        "rmse",
        "naive_rmse",
        "skill",
        "close",
        "error",
    ];
    let cell = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let rows = lines.iter().map(|l| {
        let fit = l.fit.as_ref();
        vec![
            l.id.clone(),
            l.status.to_string(),
            l.csv.clone(),
            l.model.clone().unwrap_or_default(),
            l.rows.to_string(),
            fit.map(|f| f.epochs_run.to_string()).unwrap_or_default(),
            cell(fit.map(|f| f.validation.model.rmse)),
            cell(fit.map(|f| f.validation.naive.rmse)),
            cell(fit.map(|f| f.validation.skill)),
            cell(l.forecast.as_ref().and_then(|f| f.forecasts.first()).map(|step| step.close)),
            l.error.clone().unwrap_or_default(),
        ]
    });
    crate::output::csv::table(&header, rows)
}
