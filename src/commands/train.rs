//! `forecast train`: CSV(s) → `forecaster::fit` (features, each series' scaler on its training
//! span, windows, training, validation metrics vs naive, intervals) → promotion gate → model file
//! (atomic) → report and next-day forecast(s). One CSV trains a model of one series; several
//! (repeated `--csv`, a glob, `--tickers`) one global model over the watchlist; with `--each`,
//! one model per series ([`each`]).

mod each;

use super::{choose_calendar, Watchlist};
use crate::checkpoint;
use crate::cli::{Format, TrainArgs};
use crate::data::watchlist::Loaded;
use crate::data::Series;
use crate::error::{Error, Result};
use crate::forecaster::{self, SeriesValidation, Source, Trained, TrainingSeries};
use crate::inference::Forecast;
use crate::lock::lock_model;
use crate::metrics::Comparison;
use crate::output::plot::{self, PlotDay};
use crate::output::{print_json_as, print_text, table, Log, SeriesForecast};
use crate::promotion::{self, PromoteMetric, Promotion};
use crate::runtime::{memory_usage, Runtime};
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
    #[serde(flatten)]
    fit: FitSummary,
    forecast: Forecast,
    /// Whether the model file was written (false when --promote-if-better kept the old one).
    written: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    promotion: Option<Promotion>,
}

/// How a training run went, in every train report.
#[derive(Debug, Serialize)]
pub(crate) struct FitSummary {
    train_windows: usize,
    val_windows: usize,
    val_start: String,
    val_end: String,
    epochs_run: usize,
    best_epoch: usize,
    stopped_early: bool,
    seconds: f64,
    seconds_per_epoch: f64,
    /// Of which scoring the validation span: the rest is the training loop proper.
    validation_seconds_per_epoch: f64,
    /// Peak resident memory of the process, in MiB (Linux only).
    peak_memory_mb: Option<f64>,
    threads: usize,
    /// Step 1 on the validation span (for a watchlist, pooled on closes rebased to 100).
    validation: Comparison,
}

impl FitSummary {
    /// The windows, epochs and validation lines of the table, with `windows_note` after the
    /// window counts and `validation_note` after the validation span.
    fn render(&self, windows_note: &str, validation_note: &str) -> String {
        let stop = if self.stopped_early { "early stop" } else { "epoch limit" };
        format!(
            "windows     {} train, {} validation{windows_note}\n\
             epochs      {} run, best {} ({stop}), {:.2}s per epoch on {} thread(s)\n\
             validation  {} → {} (next-day close){validation_note}\n{}",
            self.train_windows,
            self.val_windows,
            self.epochs_run,
            self.best_epoch,
            self.seconds_per_epoch,
            self.threads,
            self.val_start,
            self.val_end,
            table::comparison(&self.validation),
        )
    }

    pub(crate) fn new(trained: &Trained, runtime: &Runtime, started: Instant) -> FitSummary {
        let v = &trained.forecaster.validation;
        let history = &trained.outcome.history;
        FitSummary {
            train_windows: trained.train_windows,
            val_windows: v.windows,
            val_start: v.start.clone(),
            val_end: v.end.clone(),
            epochs_run: trained.outcome.epochs_run,
            best_epoch: trained.outcome.best_epoch,
            stopped_early: trained.outcome.stopped_early,
            seconds: started.elapsed().as_secs_f64(),
            seconds_per_epoch: mean(history.iter().map(|e| e.seconds)),
            validation_seconds_per_epoch: mean(history.iter().map(|e| e.validation_seconds)),
            peak_memory_mb: memory_usage().map(|(_, peak)| peak as f64 / (1 << 20) as f64),
            threads: runtime.threads,
            validation: v.metrics,
        }
    }
}

/// The mean of `values` (0 for none).
fn mean(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = values.len().max(1) as f64;
    values.sum::<f64>() / n
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let started = Instant::now();
    let log = args.output.log();
    let runtime = args.runtime.runtime()?;
    if let Some(dir) = args.out_dir.as_deref().filter(|_| args.each) {
        return each::run(args, dir, &runtime, &log);
    }
    if args.shard.shard.is_some() {
        return Err(Error::Usage(
            "--shard splits per-series models (--each); one global model trains in one process".into(),
        ));
    }
    let tickers = args.tickers.tickers.as_ref();
    // One writer per model path for the whole run (released however the process ends).
    let mut lock = None;
    let watch = Watchlist::load(
        &args.csv,
        tickers,
        &args.load,
        |files| {
            args.check_paths(files)?;
            lock = Some(lock_model(&args.out, args.wait)?);
            Ok(())
        },
        &log,
    )?;
    if !watch.single && (args.promote_if_better || args.plot.is_some()) {
        return Err(Error::Usage(
            "--promote-if-better and --plot work with one series; train a watchlist without them".into(),
        ));
    }
    watch.warn_failed(&log);
    let settings = args.model.settings();
    let members: Vec<TrainingSeries> = watch
        .loaded
        .iter()
        .map(|l| TrainingSeries {
            id: l.id.clone(),
            series: &l.series,
            source: Source {
                csv: &l.csv,
                load_options: l.load_options.clone(),
                calendar: choose_calendar(args.calendar.calendar, &l.series, &log),
            },
        })
        .collect();
    let rows: usize = members.iter().map(|m| m.series.len()).sum();
    let what = match members.as_slice() {
        [one] if watch.single => one.source.csv.display().to_string(),
        _ => format!("{} series", members.len()),
    };
    log.info(&format!("training on {rows} rows of {what} (seq-len {})", args.model.seq_len));
    let bar = log.bar(args.model.epochs as u64, "epochs");
    let trained = forecaster::fit(&members, &settings, &runtime, |e| {
        bar.inc(1);
        bar.set_message(format!("train {:.5}  val {:.5}", e.train_loss, e.val_loss));
        let rss = memory_usage().map(|(now, _)| format!("  rss {} MB", now >> 20)).unwrap_or_default();
        log.progress(&format!(
            "epoch {:>3}/{}  train {:.5}  val {:.5}  {:.2}s{rss}",
            e.epoch, args.model.epochs, e.train_loss, e.val_loss, e.seconds
        ))
    })?;
    bar.finish_and_clear();
    for (id, why) in &trained.skipped {
        log.warn(&format!("{id}: left out of training: {why}"));
    }
    if watch.single {
        return report_one(args, &trained, &watch.loaded[0], &runtime, &log, started);
    }
    checkpoint::save(&args.out, &trained.forecaster)?;
    log.info(&format!("wrote {}", args.out.display()));
    report_watchlist(args, &trained, &watch, &runtime, started)
}

/// What `train --format json` prints for a watchlist.
#[derive(Debug, Serialize)]
struct WatchlistReport<'a> {
    model: String,
    /// Series trained on.
    series_trained: usize,
    /// Series left out: could not be read, or too short (id and why).
    skipped: Vec<Skipped>,
    /// The first validation date, the same for every series.
    cutoff: String,
    #[serde(flatten)]
    fit: FitSummary,
    /// Each series' own step-1 validation metrics, in its prices.
    validation_by_series: &'a [SeriesValidation],
    /// The next forecast of every series trained on.
    series: Vec<SeriesForecast>,
}

/// A series left out of a watchlist's training.
#[derive(Debug, Serialize)]
struct Skipped {
    id: String,
    reason: String,
}

fn report_watchlist(
    args: &TrainArgs,
    trained: &Trained,
    watch: &Watchlist,
    runtime: &Runtime,
    started: Instant,
) -> Result<()> {
    let f = &trained.forecaster;
    let series: Vec<SeriesForecast> = f
        .series
        .iter()
        .filter_map(|entry| {
            let l = watch.loaded.iter().find(|l| l.id == entry.id)?;
            let forecast = f.forecast_next(&l.series, &entry.scaler, entry.calendar, (&l.csv, &args.out));
            Some(SeriesForecast::new(&entry.id, &l.csv, false, forecast).0)
        })
        .collect();
    let mut skipped: Vec<Skipped> =
        watch.failed.iter().map(|x| Skipped { id: x.id.clone(), reason: x.error.to_string() }).collect();
    skipped.extend(trained.skipped.iter().map(|(id, why)| Skipped { id: id.clone(), reason: why.clone() }));
    let report = WatchlistReport {
        model: args.out.display().to_string(),
        series_trained: f.series.len(),
        skipped,
        cutoff: trained.cutoff.to_string(),
        fit: FitSummary::new(trained, runtime, started),
        validation_by_series: &f.validation.series,
        series,
    };
    match args.output.format {
        Format::Json | Format::Jsonl => print_json_as(&report, args.output.format == Format::Jsonl),
        Format::Table => print_text(&render_watchlist(&report)),
        Format::Csv => print_text(&crate::output::csv::watchlist(&report.series)?),
    }
}

fn render_watchlist(r: &WatchlistReport) -> String {
    let mut s = format!(
        "model       {}\nseries      {} trained, {} left out\n{}",
        r.model,
        r.series_trained,
        r.skipped.len(),
        r.fit.render(&format!(" (from {})", r.cutoff), ", pooled in % of the last close"),
    );
    s += &table::series_validation(r.validation_by_series);
    s += &table::watchlist(&r.series);
    for x in &r.skipped {
        s += &format!("left out    {}: {}\n", x.id, x.reason);
    }
    s
}

/// A single series' training report, written exactly as before watchlists existed: the plot,
/// the forecast from the training data, the promotion gate, the model file.
fn report_one(
    args: &TrainArgs,
    trained: &Trained,
    loaded: &Loaded,
    runtime: &Runtime,
    log: &Log,
    started: Instant,
) -> Result<()> {
    let (series, csv) = (&loaded.series, loaded.csv.as_path());
    let f = &trained.forecaster;
    let entry = &f.series[0];
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
            &PlotDay::from_step(&trained.validation_forecasts[0][0], &trained.forecaster.intervals),
            &[],
        )?;
        log.info(&format!("wrote {}", path.display()));
    }
    let forecast = f.forecast_next(series, &entry.scaler, entry.calendar, (csv, &args.out))?;
    let promotion = args.promote_if_better.then(|| {
        gate(&args.out, trained, series, csv, runtime, log, (args.promote_metric, args.min_significance))
    });
    let write = promotion.as_ref().is_none_or(|p| p.promoted);
    if write {
        checkpoint::save(&args.out, f)?;
        log.info(&format!("wrote {}", args.out.display()));
    }
    let report = TrainReport {
        model: args.out.display().to_string(),
        csv: entry.data.csv.clone(),
        rows: series.len(),
        first_date: entry.data.first_date.clone(),
        last_date: entry.data.last_date.clone(),
        fit: FitSummary::new(trained, runtime, started),
        forecast,
        written: write,
        promotion: promotion.clone(),
    };
    match args.output.format {
        Format::Json | Format::Jsonl => print_json_as(&report, args.output.format == Format::Jsonl)?,
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
    (metric, min_significance): (PromoteMetric, Option<f64>),
) -> Promotion {
    let existing = out.exists().then(|| {
        let loaded = checkpoint::load(out, &runtime.device)?;
        promotion::existing_losses(&loaded.forecaster, trained, series, (csv, out), runtime, metric)
    });
    let existing_losses = match existing {
        Some(Ok(losses)) => Some(losses),
        Some(Err(why)) => {
            log.warn(&format!(
                "{}: cannot score the existing model ({why}); comparing with naive only",
                out.display()
            ));
            None
        }
        None => None,
    };
    promotion::decide(trained, series, existing_losses.as_deref(), metric, min_significance)
}

fn render_table(r: &TrainReport) -> String {
    format!(
        "model       {}\ndata        {}  {} → {}  ({} rows)\n{}{}",
        r.model,
        r.csv,
        r.first_date,
        r.last_date,
        r.rows,
        r.fit.render("", ""),
        table::forecast(&r.forecast),
    ) + &r
        .promotion
        .as_ref()
        .map(|p| {
            format!("promotion   {}: {}\n", if p.promoted { "promoted" } else { "NOT promoted" }, p.reason)
        })
        .unwrap_or_default()
}
