//! CSV output, always through the csv crate: a field with a comma, a quote or a newline (a model
//! path, a ticker) is quoted, so every file and stdout table reads back as it was written.
//! Numbers keep Rust's shortest round-trip formatting.

use crate::atomic::write_atomic;
use crate::backtest::Backtest;
use crate::distribution::Distribution;
use crate::error::{Error, Result};
use crate::inference::Forecast;
use crate::interval_baselines::METHODS;
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

/// One row per step and level: date,step,close,lower,upper,level,sigma (empty bounds when the
/// model has no intervals; empty sigma for a squared-error head).
pub fn forecast(forecast: &Forecast) -> Result<String> {
    table(&FORECAST_COLUMNS, forecast_rows(forecast))
}

const FORECAST_COLUMNS: [&str; 7] = ["date", "step", "close", "lower", "upper", "level", "sigma"];

fn forecast_rows(forecast: &Forecast) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for step in &forecast.forecasts {
        let base = [step.date.clone(), step.step.to_string(), step.close.to_string()];
        let sigma = [step.sigma.map(|v| v.to_string()).unwrap_or_default()];
        if step.intervals.is_empty() {
            rows.push([&base[..], &[String::new(), String::new(), String::new()], &sigma].concat());
        }
        for band in &step.intervals {
            let bounds = [band.lower.to_string(), band.upper.to_string(), band.level.to_string()];
            rows.push([&base[..], &bounds, &sigma].concat());
        }
    }
    rows
}

/// A watchlist's forecasts: [`forecast`]'s rows with a first column `series`; a series without a
/// forecast has no rows (its error is on stderr and in the exit code).
pub fn watchlist(series: &[crate::output::SeriesForecast]) -> Result<String> {
    let header: Vec<&str> = std::iter::once("series").chain(FORECAST_COLUMNS).collect();
    let rows = series.iter().flat_map(|s| {
        let id = s.id.clone();
        s.forecast.iter().flat_map(forecast_rows).map(move |row| [vec![id.clone()], row].concat())
    });
    table(&header, rows)
}

/// `backtest --predictions` and `backtest --format csv`: one row per test day and step (for a
/// watchlist, a first column `series`): date,
/// fold, step, actual, forecast, naive, drift, moving_average; then the EWMA volatility the day is
/// ranked by (`ranking_volatility`); the model's `sigma` and `df` (empty where its head has none)
/// and `lower_<level>,upper_<level>` per level; then the same for each interval baseline, prefixed
/// `constant_`, `ewma_`, `garch-t_` (`sigma` is the scale of the log return from the origin,
/// `df` a t's degrees of freedom). Every interval metric can be recomputed from these columns.
pub fn backtest_predictions(result: &Backtest) -> Result<String> {
    let mut header: Vec<String> = [
        "date",
        "fold",
        "step",
        "actual",
        "forecast",
        "naive",
        "drift",
        "moving_average",
        "ranking_volatility",
    ]
    .map(String::from)
    .to_vec();
    // A watchlist's days say which series they are of.
    let watchlist = !result.series.is_empty();
    if watchlist {
        header.insert(0, "series".to_string());
    }
    for method in METHODS {
        let prefix = if method == "model" { String::new() } else { format!("{method}_") };
        header.push(format!("{prefix}sigma"));
        header.push(format!("{prefix}df"));
        for level in &result.levels {
            header.push(format!("{prefix}lower_{level}"));
            header.push(format!("{prefix}upper_{level}"));
        }
    }
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let rows = result.days.iter().map(|d| {
        let mut row = vec![
            d.date.clone(),
            d.fold.to_string(),
            d.step.to_string(),
            d.actual.to_string(),
            d.forecast.to_string(),
            d.naive.to_string(),
            d.drift.to_string(),
            d.moving_average.to_string(),
            d.ranking_volatility.to_string(),
        ];
        if watchlist {
            row.insert(0, d.series.clone());
        }
        for (m, method) in METHODS.iter().enumerate() {
            let prediction = d.intervals.get(m);
            // The constant band (and a squared-error model, whose band it is) has no
            // distribution of its own: its σ only places its pinball quantiles.
            let own = prediction.filter(|_| *method != "model" || result.distribution != Distribution::None);
            row.push(number(own.map(|p| p.distribution.sigma)));
            row.push(number(own.and_then(|p| p.distribution.nu)));
            for l in 0..result.levels.len() {
                let bounds = prediction.map(|p| p.bounds(d.naive, l));
                row.push(number(bounds.map(|b| b.0)));
                row.push(number(bounds.map(|b| b.1)));
            }
        }
        row
    });
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    table(&header, rows)
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
