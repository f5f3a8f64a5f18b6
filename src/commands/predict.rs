//! `forecast predict`: model file → the same load → features → stored scaler → last window →
//! next close. Nothing is refitted.

use super::train::choose_calendar;
use super::{load_series, predict_load_options};
use crate::checkpoint;
use crate::cli::{Format, PredictArgs};
use crate::data::prepare_inference;
use crate::inference::{forecast_next, Forecast};
use crate::output::{print_json, print_text, table, Log};
use crate::runtime::setup_runtime;
use serde::Serialize;
use std::path::PathBuf;

/// What `predict --format json` prints.
#[derive(Debug, Serialize)]
struct PredictReport {
    model: String,
    csv: String,
    #[serde(flatten)]
    forecast: Forecast,
}

pub fn run(args: &PredictArgs) -> anyhow::Result<()> {
    let log = Log::new(&args.output);
    let device = setup_runtime(&args.runtime)?.device;
    let (model, meta) = checkpoint::load(&args.model, &device)?;
    let csv = args.csv.clone().unwrap_or_else(|| PathBuf::from(&meta.data.csv));
    // Read the CSV the way training did (its ticker, columns, date format…), unless overridden.
    let opts = predict_load_options(&args.load, Some(&meta.load_options), &args.model)?;
    let series = load_series(&csv, &opts, &log)?;
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
    let report =
        PredictReport { model: args.model.display().to_string(), csv: csv.display().to_string(), forecast };
    match args.output.format {
        Format::Json => print_json(&report),
        Format::Table => print_text(&table::forecast(&report.forecast)),
        Format::Csv => print_text(&table::forecast_csv(&report.forecast)),
    }
}
