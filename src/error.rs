//! Errors that the user can act on, each tied to one exit code (see `exit.rs`).
//!
//! Library code returns these typed errors where the kind matters (bad input data, a bad model
//! file, a bad flag combination); command code wraps them with `anyhow::Context`. `exit::code_for`
//! walks the chain to pick the exit code, so context never hides the kind.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in an input file something went wrong: 1-based line and, when known, the column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based physical line number in the file.
    pub line: u64,
    /// 1-based column (field) number and the column's header name, when the error is in one cell.
    pub column: Option<(usize, String)>,
}

/// Input data that cannot be used: missing or unreadable file, no parsable rows, a cell that does
/// not parse, too few rows for the requested window. Exit code 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    pub path: PathBuf,
    pub location: Option<Location>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What the user can do about it (a flag, a fix to the file), when there is something to say.
    pub hint: Option<String>,
}

impl DataError {
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        DataError { path: path.to_path_buf(), location: None, message: message.into(), hint: None }
    }

    /// An error at `line` (1-based), optionally in one column (1-based index and header name).
    pub fn at(path: &Path, line: u64, column: Option<(usize, &str)>, message: impl Into<String>) -> Self {
        DataError {
            path: path.to_path_buf(),
            location: Some(Location { line, column: column.map(|(i, n)| (i, n.to_string())) }),
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(loc) = &self.location {
            write!(f, ":{}", loc.line)?;
            if let Some((index, name)) = &loc.column {
                write!(f, ":{index} (column \"{name}\")")?;
            }
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DataError {}

/// A model file that cannot be used: missing, corrupt, an unknown format version, or features the
/// CSV cannot provide. Exit code 4.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ModelFileError {
    pub path: PathBuf,
    pub message: String,
}

impl ModelFileError {
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        ModelFileError { path: path.to_path_buf(), message: message.into() }
    }
}

/// A flag value or combination that clap cannot reject by itself (for example --val-fraction 1.5).
/// Exit code 2, like clap's own usage errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `train --promote-if-better` decided to keep the existing model; the message says why.
/// Exit code 6.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotPromoted(pub String);

/// The data is older than `predict --max-age` allows. Exit code 5.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StaleData(pub String);

/// Another forecast process holds the lock on this model path. Exit code 7.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Locked(pub String);

/// The device asked for is not there: no CUDA support compiled in, or no GPU/driver. Exit code 8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeviceUnavailable(pub String);
