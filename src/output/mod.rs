//! Everything printed: results on stdout ([`table`] or JSON), diagnostics on stderr ([`Log`]).

pub mod log;
pub mod plot;
pub mod table;

pub use log::Log;

use crate::error::{Error, Result};
use serde::Serialize;
use std::io::Write;

/// Prints one JSON object and a newline on stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::Internal(e.to_string()))?;
    text.push('\n');
    print_text(&text)
}

/// Prints text on stdout. A closed pipe is [`Error::BrokenPipe`] (exit 0, nothing printed); any
/// other failure (stdout closed, disk full) is an output error, never a silent success.
pub fn print_text(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(Error::stdout)?;
    out.flush().map_err(Error::stdout)
}
