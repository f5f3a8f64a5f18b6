//! Everything printed: results on stdout ([`table`], JSON or [`csv`]), diagnostics on stderr
//! ([`Log`]), plots ([`plot`]).

pub mod csv;
pub mod log;
pub mod plot;
pub mod table;

pub use log::Log;

use crate::error::{Error, Result};
use crate::inference::Forecast;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when the process started with stdout closed (`forecast … >&-`). The Rust runtime then
/// quietly opens /dev/null in its place, so writes would succeed and the results be lost.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Says that stdout was closed when the process started (`main` finds out before the runtime
/// hides it): [`print_text`] then fails with an output error (exit 9) instead of printing
/// into /dev/null.
pub fn set_stdout_closed() {
    STDOUT_CLOSED.store(true, Ordering::Relaxed);
}

/// Whether [`set_stdout_closed`] was called.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Prints one JSON object and a newline on stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::Internal(e.to_string()))?;
    text.push('\n');
    print_text(&text)
}

/// Prints one JSON object: on one line when `one_line` (`--format jsonl`), else pretty.
pub fn print_json_as<T: Serialize>(value: &T, one_line: bool) -> Result<()> {
    match one_line {
        true => print_json_lines(std::slice::from_ref(value)),
        false => print_json(value),
    }
}

/// Prints JSON Lines on stdout: each item as one compact JSON object on a line of its own.
pub fn print_json_lines<T: Serialize>(items: &[T]) -> Result<()> {
    let mut text = String::new();
    for item in items {
        text += &serde_json::to_string(item).map_err(|e| Error::Internal(e.to_string()))?;
        text.push('\n');
    }
    print_text(&text)
}

/// Prints text on stdout. A closed pipe is [`Error::BrokenPipe`] (exit 0, nothing printed); any
/// other failure (stdout closed, disk full) is an output error, never a silent success.
pub fn print_text(text: &str) -> Result<()> {
    if stdout_closed() {
        return Err(Error::output("stdout", "it is closed (>&-); redirect it to a file or /dev/null"));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(Error::stdout)?;
    out.flush().map_err(Error::stdout)
}

/// One series' line of a watchlist's forecasts: its forecast, or the error that stopped it (with
/// that error's exit code), so one bad file does not hide the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesForecast {
    pub id: String,
    pub csv: String,
    /// The model file that forecast it, when several models are forecast at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// True for a series the model was not trained on: its scaler was fitted on its own history.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cold_start: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<Forecast>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
}

impl SeriesForecast {
    /// The line of one series, and its error (if any) kept whole for the exit code.
    pub fn new(
        id: &str,
        csv: &Path,
        cold_start: bool,
        forecast: Result<Forecast>,
    ) -> (SeriesForecast, Option<Error>) {
        let (forecast, error) = match forecast {
            Ok(f) => (Some(f), None),
            Err(e) => (None, Some(e)),
        };
        let item = SeriesForecast {
            id: id.to_string(),
            csv: crate::paths::shown(csv),
            model: None,
            cold_start,
            forecast,
            error: error.as_ref().map(|e| e.to_string()),
            exit_code: error.as_ref().map(|e| e.exit_code() as u8),
        };
        (item, error)
    }
}
