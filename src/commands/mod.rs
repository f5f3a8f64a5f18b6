//! One file per subcommand; each reads its flags, calls the library steps in data-flow order and
//! prints. Shared set-up (loading a CSV with its report, --as-of, load options) lives here.

pub mod backtest;
pub mod bench;
pub mod inspect;
pub mod predict;
pub mod score;
pub mod train;

use crate::data::{load_csv, LoadOptions, Series};
use crate::error::{DataError, ModelFileError};
use crate::output::Log;
use chrono::NaiveDate;
use std::path::Path;

/// Loads a CSV with the given options, printing what was dropped and any warnings.
pub fn load_series(path: &Path, opts: &LoadOptions, log: &Log) -> crate::error::Result<Series> {
    let (series, report) = load_csv(path, opts)?;
    log.load_report(&report);
    Ok(series)
}

/// The series cut at `date` (all of it without one).
pub fn as_of(series: Series, date: Option<NaiveDate>, csv: &Path) -> crate::error::Result<Series> {
    let Some(date) = date else { return Ok(series) };
    let cut = series.up_to(date);
    if cut.is_empty() {
        return Err(DataError::new(csv, format!("no rows on or before --as-of {date}")).into());
    }
    Ok(cut)
}

/// The options predict reads its CSV with: the load flags given now, over `stored`, the options
/// training used as the model file records them (JSON from [`LoadOptions::to_json`]; `None` for a
/// model file that does not record them). Unreadable stored options are a model-file error.
pub fn predict_load_options(
    args: &LoadOptions,
    stored: Option<&str>,
    model: &Path,
) -> crate::error::Result<LoadOptions> {
    let stored = match stored {
        Some(json) => LoadOptions::from_json(json).map_err(|err| {
            ModelFileError::new(model, format!("the stored CSV load options cannot be read ({err}); retrain"))
        })?,
        None => LoadOptions::default(),
    };
    Ok(args.or(&stored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;

    #[test]
    fn predict_flags_win_over_the_stored_load_options() {
        let model = Path::new("m.safetensors");
        let args = LoadOptions { date_format: Some("%d/%m/%Y".into()), ..LoadOptions::default() };
        let stored = r#"{"ticker":"AAPL","date_format":"%m/%d/%Y"}"#;
        let opts = predict_load_options(&args, Some(stored), model).unwrap();
        assert_eq!(opts.ticker.as_deref(), Some("AAPL"));
        assert_eq!(opts.date_format.as_deref(), Some("%d/%m/%Y"));
        assert_eq!(predict_load_options(&args, None, model).unwrap(), args);
        let err = predict_load_options(&args, Some("{\"tickr\":1}"), model).unwrap_err();
        assert_eq!(err.exit_code(), Exit::Model);
    }
}
