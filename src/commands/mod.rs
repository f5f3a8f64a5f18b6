//! One file per subcommand; each reads its flags, calls the library steps in data-flow order and
//! prints. Shared set-up (threads, device, loading a CSV with its report) lives here.

pub mod inspect;
pub mod predict;
pub mod train;

use crate::cli::RuntimeArgs;
use crate::data::{load_csv, LoadOptions, Series};
use crate::error::UsageError;
use crate::output::Log;
use candle_core::Device;
use std::path::Path;

/// Applies --threads (before any tensor work starts the thread pools) and picks the device.
pub fn setup_runtime(args: &RuntimeArgs) -> anyhow::Result<Device> {
    if let Some(threads) = args.threads {
        // candle sizes its pools from these on first use; nothing has used them yet.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
        std::env::set_var("CANDLE_NUM_THREADS", threads.to_string());
    }
    match args.device.as_str() {
        "cpu" | "auto" => Ok(Device::Cpu),
        other if other == "cuda" || other.starts_with("cuda:") => Err(UsageError(format!(
            "--device {other}: this build of forecast has no CUDA support; use --device cpu"
        ))
        .into()),
        other => Err(UsageError(format!("--device {other}: unknown device; use cpu")).into()),
    }
}

/// Loads a CSV with the given options, printing what was dropped and any warnings.
pub fn load_series(path: &Path, opts: &LoadOptions, log: &Log) -> anyhow::Result<Series> {
    let (series, report) = load_csv(path, opts)?;
    log.load_report(&report);
    Ok(series)
}
