//! `forecast train`: CSV → features → scaler (training span) → windows → fit → validation metrics
//! vs naive → model file (atomic) → report and next-day forecast.

use super::load_series;
use crate::calendar::Calendar;
use crate::checkpoint::{self, DataInfo, ModelMeta, Validation};
use crate::cli::{Format, TrainArgs};
use crate::data::dataset::target_day;
use crate::data::features::TARGET;
use crate::data::prepare_inference;
use crate::data::{Prepared, Series};
use crate::error::Context;
use crate::error::Error;
use crate::inference::{forecast_next, price_forecasts, Forecast, StepForecasts};
use crate::intervals::calibrate;
use crate::lock::lock_model;
use crate::metrics::{compare, naive_mae, rmse, Comparison};
use crate::model::StockPredictor;
use crate::output::plot::{self, PlotDay};
use crate::output::{print_json, print_text, table, Log};
use crate::runtime::{memory_usage, Runtime};
use crate::train::{train_on, FitOutcome, Fitted};
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

pub fn run(args: &TrainArgs) -> crate::error::Result<()> {
    args.check_paths()?;
    let started = Instant::now();
    let log = Log::new(&args.output);
    let runtime = args.runtime.runtime()?;
    let device = runtime.device.clone();
    check_output_folder(&args.out)?;
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
    let bar = log.bar(args.model.epochs as u64, "epochs");
    let fitted = train_on(&series, &settings, &runtime, &csv, |e| {
        bar.inc(1);
        bar.set_message(format!("train {:.5}  val {:.5}", e.train_loss, e.val_loss));
        let rss = memory_usage().map(|(now, _)| format!("  rss {} MB", now >> 20)).unwrap_or_default();
        log.progress(&format!(
            "epoch {:>3}/{}  train {:.5}  val {:.5}  {:.2}s{rss}",
            e.epoch, args.model.epochs, e.train_loss, e.val_loss, e.seconds
        ))
    })?;
    bar.finish_and_clear();
    let Fitted { model, config: model_config, prepared, outcome } = fitted;
    let (validation, steps) = validate(&model, &prepared, &series, &runtime)?;
    let intervals = calibrate(&steps, &settings.levels);
    let prices = &steps[0];
    if let Some(path) = &args.plot {
        let title = format!(
            "validation {} to {}: skill {:+.2}% vs naive",
            validation.start,
            validation.end,
            validation.metrics.skill * 100.0
        );
        plot::forecasts(path, &title, &PlotDay::from_step(prices), &[])?;
        log.info(&format!("wrote {}", path.display()));
    }
    let calendar = choose_calendar(args.calendar.calendar, &series, &log);
    let forecast =
        forecast_next(&model, &prepared.windows, &prepared.scaler, &intervals, &series, calendar, &device)?;
    let meta = ModelMeta {
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        model: model_config,
        training: settings.train.clone(),
        features: prepared.feature_names.clone(),
        target: TARGET.to_string(),
        scaler: prepared.scaler.clone(),
        seq_len: args.model.seq_len,
        data: data_info(&csv, &series),
        load_options: load_options.to_json(),
        validation: validation.clone(),
        intervals,
        calendar,
    };
    let promotion = args
        .promote_if_better
        .then(|| decide_promotion(&args.out, &validation, prices, &series, &csv, &runtime, &log));
    let write = promotion.as_ref().is_none_or(|p| p.promoted);
    if write {
        checkpoint::save(&args.out, &model, &meta)?;
        log.info(&format!("wrote {}", args.out.display()));
    }
    let report = TrainReport {
        model: args.out.display().to_string(),
        csv: meta.data.csv.clone(),
        rows: series.len(),
        first_date: meta.data.first_date.clone(),
        last_date: meta.data.last_date.clone(),
        train_windows: prepared.split.train.len(),
        val_windows: prepared.split.val.len(),
        val_start: validation.start.clone(),
        val_end: validation.end.clone(),
        epochs_run: outcome.epochs_run,
        best_epoch: outcome.best_epoch,
        stopped_early: outcome.stopped_early,
        seconds: started.elapsed().as_secs_f64(),
        seconds_per_epoch: mean_epoch_seconds(&outcome),
        peak_memory_mb: memory_usage().map(|(_, peak)| peak as f64 / (1 << 20) as f64),
        threads: runtime.threads,
        validation: validation.metrics,
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

/// Fails before any training when the model could not be written anyway.
fn check_output_folder(out: &Path) -> crate::error::Result<()> {
    match out.parent() {
        Some(folder) if !folder.as_os_str().is_empty() && !folder.is_dir() => {
            Err(Error::Usage(format!("--out {}: folder {} does not exist", out.display(), folder.display())))
        }
        _ if out.is_dir() => {
            Err(Error::Usage(format!("--out {} is a folder; give a file name", out.display())))
        }
        _ => Ok(()),
    }
}

/// The best epoch's forecasts on the validation windows, as prices, against naive.
/// The best epoch's forecasts on the validation windows, as prices, against naive: per step, and
/// the metrics of each step.
fn validate(
    model: &StockPredictor,
    prepared: &Prepared,
    series: &Series,
    runtime: &Runtime,
) -> crate::error::Result<(Validation, Vec<StepForecasts>)> {
    let indices: Vec<usize> = prepared.split.val.clone().collect();
    let steps = price_forecasts(model, &prepared.windows, &prepared.scaler, series, &indices, runtime)
        .context("scoring the validation span")?;
    let scale = training_naive_mae(prepared, series);
    let per_step: Vec<Comparison> =
        steps.iter().map(|s| compare(&s.previous, &s.forecast, &s.actual, scale)).collect();
    let first = &steps[0];
    let date = |d: Option<&chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let validation = Validation {
        start: date(first.dates.first()),
        end: date(first.dates.last()),
        windows: indices.len(),
        metrics: per_step[0],
        steps: per_step,
    };
    Ok((validation, steps))
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

/// What `--promote-if-better` decided, and why.
#[derive(Debug, Clone, Serialize)]
struct Promotion {
    promoted: bool,
    /// RMSE of the new model, naive and (when it could be scored) the existing model, all on this
    /// run's validation days.
    new_rmse: f64,
    naive_rmse: f64,
    existing_rmse: Option<f64>,
    reason: String,
}

/// Decides whether the new model replaces `out`: it must beat naive and the existing model (when
/// there is one that can be scored) on the same validation days.
fn decide_promotion(
    out: &Path,
    validation: &Validation,
    prices: &StepForecasts,
    series: &Series,
    csv: &Path,
    runtime: &Runtime,
    log: &Log,
) -> Promotion {
    let (new_rmse, naive_rmse) = (validation.metrics.model.rmse, validation.metrics.naive.rmse);
    let span = format!("{} → {}", validation.start, validation.end);
    let existing_rmse = if out.exists() {
        match existing_model_rmse(out, series, &prices.dates, csv, runtime) {
            Ok(rmse) => Some(rmse),
            Err(why) => {
                log.warn(&format!(
                    "{}: cannot score the existing model ({why}); comparing with naive only",
                    out.display()
                ));
                None
            }
        }
    } else {
        None
    };
    let (promoted, reason) = if new_rmse >= naive_rmse {
        (
            false,
            format!(
                "the new model does not beat naive on {span} (rmse {new_rmse:.4} vs naive {naive_rmse:.4})"
            ),
        )
    } else if let Some(old) = existing_rmse.filter(|&old| new_rmse >= old) {
        (
            false,
            format!(
                "the new model does not beat the existing one on {span} (rmse {new_rmse:.4} vs {old:.4})"
            ),
        )
    } else {
        let against =
            existing_rmse.map(|old| format!(" and the existing model ({old:.4})")).unwrap_or_default();
        (true, format!("the new model (rmse {new_rmse:.4}) beats naive ({naive_rmse:.4}){against} on {span}"))
    };
    Promotion { promoted, new_rmse, naive_rmse, existing_rmse, reason }
}

/// The existing model file's RMSE on `dates` of `series` (which must be days it can forecast).
fn existing_model_rmse(
    path: &Path,
    series: &Series,
    dates: &[chrono::NaiveDate],
    csv: &Path,
    runtime: &Runtime,
) -> crate::error::Result<f64> {
    let (model, meta) = checkpoint::load(path, &runtime.device)?;
    let windows =
        prepare_inference(series, &meta.features, &meta.scaler, meta.seq_len, meta.model.horizon, csv, path)?;
    let indices = dates
        .iter()
        .map(|date| {
            let day = series.dates.binary_search(date).ok()?;
            day.checked_sub(meta.seq_len + 1)
        })
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| {
            Error::Internal(format!("its seq-len {} needs more history than the data has", meta.seq_len))
        })?;
    // Step 1 of the existing model, whatever its horizon.
    let steps = price_forecasts(&model, &windows, &meta.scaler, series, &indices, runtime)?;
    Ok(rmse(&steps[0].forecast, &steps[0].actual))
}

/// The naive forecast's MAE over the training span: the MASE denominator.
fn training_naive_mae(prepared: &Prepared, series: &Series) -> f64 {
    let last_training_day = target_day(prepared.split.train.end.saturating_sub(1), prepared.windows.seq_len);
    naive_mae(&series.close[..=last_training_day])
}

fn data_info(csv: &Path, series: &Series) -> DataInfo {
    let date = |d: Option<&chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    DataInfo {
        csv: csv.display().to_string(),
        first_date: date(series.dates.first()),
        last_date: date(series.dates.last()),
        rows: series.len(),
    }
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
