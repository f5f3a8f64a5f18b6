//! CSV output, always through the csv crate: a field with a comma, a quote or a newline (a model
//! path, a ticker) is quoted, so every file and stdout table reads back as it was written.
//! Numbers keep Rust's shortest round-trip formatting.

use crate::atomic::write_atomic;
use crate::backtest::Backtest;
use crate::error::{Error, Result};
use crate::inference::Forecast;
use crate::paths::shown;
use std::path::Path;

/// A CSV text: `header`, then one record per row.
pub fn table<R>(header: &[&str], rows: impl IntoIterator<Item = R>) -> Result<String>
where
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    fn fail(e: impl std::fmt::Display) -> Error {
        Error::Internal(format!("cannot encode CSV: {e}"))
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header).map_err(fail)?;
    for row in rows {
        writer.write_record(row).map_err(fail)?;
    }
    String::from_utf8(writer.into_inner().map_err(fail)?).map_err(fail)
}

/// One row per step and level: date,step,close,lower,upper,level (empty bounds when the model has
/// no intervals).
pub fn forecast(forecast: &Forecast) -> Result<String> {
    let mut rows = Vec::new();
    for step in &forecast.forecasts {
        let base = [step.date.clone(), step.step.to_string(), step.close.to_string()];
        if step.intervals.is_empty() {
            rows.push([base.clone(), [String::new(), String::new(), String::new()]].concat());
        }
        for band in &step.intervals {
            let bounds = [band.lower.to_string(), band.upper.to_string(), band.level.to_string()];
            rows.push([base.clone(), bounds].concat());
        }
    }
    table(&["date", "step", "close", "lower", "upper", "level"], rows)
}

/// `backtest --predictions` and `backtest --format csv`: one row per test day and step: date,
/// fold, step, actual, forecast, naive, drift, moving_average.
pub fn backtest_predictions(result: &Backtest) -> Result<String> {
    let rows = result.days.iter().map(|d| {
        [
            d.date.clone(),
            d.fold.to_string(),
            d.step.to_string(),
            d.actual.to_string(),
            d.forecast.to_string(),
            d.naive.to_string(),
            d.drift.to_string(),
            d.moving_average.to_string(),
        ]
    });
    table(&["date", "fold", "step", "actual", "forecast", "naive", "drift", "moving_average"], rows)
}

/// Writes [`backtest_predictions`] to `path`, atomically.
pub fn write_predictions(path: &Path, result: &Backtest) -> Result<()> {
    write_atomic(path, backtest_predictions(result)?.as_bytes())
        .map_err(|e| Error::output(format!("predictions {}", shown(path)), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_and_quotes_round_trip() {
        let text = table(&["model", "rmse"], [["a,\"b\".safetensors", "1.5"], ["plain", "2"]]).unwrap();
        assert_eq!(text, "model,rmse\n\"a,\"\"b\"\".safetensors\",1.5\nplain,2\n");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let first = reader.records().next().unwrap().unwrap();
        assert_eq!(&first[0], "a,\"b\".safetensors");
    }
}
