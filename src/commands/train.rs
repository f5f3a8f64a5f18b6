//! `forecast train`: CSV → `forecaster::fit` (features, scaler on the training span, windows,
//! training, validation metrics vs naive, intervals) → promotion gate → model file (atomic) →
//! report and next-day forecast.

use super::{choose_calendar, load_series};
use crate::checkpoint;
use crate::cli::{Format, TrainArgs};
use crate::data::Series;
use crate::error::{Error, Result};
use crate::forecaster::{self, Source, Trained};
use crate::inference::Forecast;
use crate::lock::lock_model;
use crate::metrics::Comparison;
use crate::output::plot::{self, PlotDay};
use crate::output::{print_json, print_text, table, Log};
use crate::promotion::{self, PromoteMetric, Promotion};
use crate::runtime::{memory_usage, Runtime};
use crate::train::FitOutcome;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// What `train --format json` prints.
#[derive(Debug, Serialize)]
struct TrainReport {
    model: String,
    csv: String,
    rows: usize,
    first_date: String,
    last_date: String,
    train_windows: usize,
    val_windows: usize,
    val_start: String,
    val_end: String,
    epochs_run: usize,
    best_epoch: usize,
    stopped_early: bool,
    seconds: f64,
    seconds_per_epoch: f64,
    /// Peak resident memory of the process, in MiB (Linux only).
    peak_memory_mb: Option<f64>,
    threads: usize,
    validation: Comparison,
    forecast: Forecast,
    /// Whether the model file was written (false when --promote-if-better kept the old one).
    written: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    promotion: Option<Promotion>,
}

pub fn run(args: &TrainArgs) -> Result<()> {
    args.check_paths()?;
    let started = Instant::now();
    let log = args.output.log();
    let runtime = args.runtime.runtime()?;
    // One writer per model path for the whole run (released however the process ends).
    let _lock = lock_model(&args.out, args.wait)?;
    // Recorded in the model file for predict: absolute and without `..`, so it works from anywhere.
    let csv = std::fs::canonicalize(&args.csv)
        .or_else(|_| std::path::absolute(&args.csv))
        .unwrap_or_else(|_| args.csv.clone());
    let load_options = args.load.clone();
    let series = load_series(&csv, &load_options, &log)?;
    let settings = args.model.settings();
    log.info(&format!(
        "training on {} rows of {} (seq-len {})",
        series.len(),
        csv.display(),
        args.model.seq_len
    ));
    let calendar = choose_calendar(args.calendar.calendar, &series, &log);
    let source = Source { csv: &csv, load_options, calendar };
    let bar = log.bar(args.model.epochs as u64, "epochs");
    let trained = forecaster::fit(&series, &settings, &runtime, &source, |e| {
        bar.inc(1);
        bar.set_message(format!("train {:.5}  val {:.5}", e.train_loss, e.val_loss));
        let rss = memory_usage().map(|(now, _)| format!("  rss {} MB", now >> 20)).unwrap_or_default();
        log.progress(&format!(
            "epoch {:>3}/{}  train {:.5}  val {:.5}  {:.2}s{rss}",
            e.epoch, args.model.epochs, e.train_loss, e.val_loss, e.seconds
        ))
    })?;
    bar.finish_and_clear();
    let f = &trained.forecaster;
    if let Some(path) = &args.plot {
        let title = format!(
            "validation {} to {}: skill {:+.2}% vs naive",
            f.validation.start,
            f.validation.end,
            f.validation.metrics.skill * 100.0
        );
        plot::forecasts(
            path,
            &title,
            &PlotDay::from_step(&trained.validation_forecasts[0], &trained.forecaster.intervals),
            &[],
        )?;
        log.info(&format!("wrote {}", path.display()));
    }
    let forecast = f.prepare(&series, &csv, &args.out)?.forecast(calendar)?;
    let promotion = args
        .promote_if_better
        .then(|| gate(&args.out, &trained, &series, &csv, &runtime, &log, args.promote_metric));
    let write = promotion.as_ref().is_none_or(|p| p.promoted);
    if write {
        checkpoint::save(&args.out, f)?;
        log.info(&format!("wrote {}", args.out.display()));
    }
    let report = TrainReport {
        model: args.out.display().to_string(),
        csv: f.data.csv.clone(),
        rows: series.len(),
        first_date: f.data.first_date.clone(),
        last_date: f.data.last_date.clone(),
        train_windows: trained.train_windows,
        val_windows: f.validation.windows,
        val_start: f.validation.start.clone(),
        val_end: f.validation.end.clone(),
        epochs_run: trained.outcome.epochs_run,
        best_epoch: trained.outcome.best_epoch,
        stopped_early: trained.outcome.stopped_early,
        seconds: started.elapsed().as_secs_f64(),
        seconds_per_epoch: mean_epoch_seconds(&trained.outcome),
        peak_memory_mb: memory_usage().map(|(_, peak)| peak as f64 / (1 << 20) as f64),
        threads: runtime.threads,
        validation: f.validation.metrics,
        forecast,
        written: write,
        promotion: promotion.clone(),
    };
    match args.output.format {
        Format::Json => print_json(&report)?,
        Format::Table => print_text(&render_table(&report))?,
        Format::Csv => print_text(&crate::output::csv::forecast(&report.forecast)?)?,
    }
    match promotion {
        Some(p) if !p.promoted => {
            let kept = if args.out.exists() { "kept the existing model" } else { "no model written" };
            Err(Error::NotPromoted(format!("{}: not promoted: {}; {kept}", args.out.display(), p.reason)))
        }
        _ => Ok(()),
    }
}

/// The promotion gate against the model file at `out`, if there is one that can be scored (a
/// model that cannot is said on stderr, and the new one is compared with naive only).
fn gate(
    out: &Path,
    trained: &Trained,
    series: &Series,
    csv: &Path,
    runtime: &Runtime,
    log: &Log,
    metric: PromoteMetric,
) -> Promotion {
    let existing = out.exists().then(|| {
        let loaded = checkpoint::load(out, &runtime.device)?;
        promotion::existing_score(&loaded.forecaster, trained, series, (csv, out), runtime, metric)
    });
    let existing_score = match existing {
        Some(Ok(score)) => Some(score),
        Some(Err(why)) => {
            log.warn(&format!(
                "{}: cannot score the existing model ({why}); comparing with naive only",
                out.display()
            ));
            None
        }
        None => None,
    };
    promotion::decide(trained, series, existing_score, metric)
}

fn mean_epoch_seconds(outcome: &FitOutcome) -> f64 {
    let total: f64 = outcome.history.iter().map(|e| e.seconds).sum();
    total / outcome.history.len().max(1) as f64
}

fn render_table(r: &TrainReport) -> String {
    let stop = if r.stopped_early { "early stop" } else { "epoch limit" };
    format!(
        "model       {}\ndata        {}  {} → {}  ({} rows)\nwindows     {} train, {} validation\n\
         epochs      {} run, best {} ({stop}), {:.2}s per epoch on {} thread(s)\n\
         validation  {} → {} (next-day close)\n{}{}",
        r.model,
        r.csv,
        r.first_date,
        r.last_date,
        r.rows,
        r.train_windows,
        r.val_windows,
        r.epochs_run,
        r.best_epoch,
        r.seconds_per_epoch,
        r.threads,
        r.val_start,
        r.val_end,
        table::comparison(&r.validation),
        table::forecast(&r.forecast),
    ) + &r
        .promotion
        .as_ref()
        .map(|p| {
            format!("promotion   {}: {}\n", if p.promoted { "promoted" } else { "NOT promoted" }, p.reason)
        })
        .unwrap_or_default()
}
