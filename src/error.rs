//! One error type for the whole program, [`Error`], whose [`Error::exit_code`] is the contract
//! with shell scripts (see `exit.rs` and the README's table).
//!
//! Library code returns the variant that says what kind of failure it is — bad input data, a bad
//! model file, a bad flag, an output that cannot be written — so the exit code is decided where
//! the failure is understood, never by inspecting a message. [`DataError`] and [`ModelFileError`]
//! carry where the problem is (file, line, column; model file, field).

use crate::exit::Exit;
use std::fmt;
use std::path::{Path, PathBuf};

/// The result type of every fallible step.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, one variant per exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Exit 2: a flag value or combination that clap cannot reject by itself.
    #[error("{0}")]
    Usage(String),
    /// Exit 3: input data that cannot be used.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Exit 4: a model file that cannot be used.
    #[error(transparent)]
    ModelFile(#[from] ModelFileError),
    /// Exit 5: the data is older than `predict --max-age` allows.
    #[error("{0}")]
    Stale(String),
    /// Exit 6: `train --promote-if-better` kept the existing model; the message says why.
    #[error("{0}")]
    NotPromoted(String),
    /// Exit 7: another forecast process holds the lock on this model path.
    #[error("{0}")]
    Locked(String),
    /// Exit 8: the device asked for is not there (no CUDA compiled in, no GPU/driver).
    #[error("{0}")]
    Device(String),
    /// Exit 9: an output cannot be written: a file, a lock file, a closed stdout, a full disk,
    /// a read-only folder. The environment's fault, not the program's.
    #[error("{0}")]
    Output(String),
    /// Exit 0 quietly: stdout's reader went away (`forecast … | head`); not a failure.
    #[error("broken pipe")]
    BrokenPipe,
    /// Exit 1: a bug, or training that diverged.
    #[error("{0}")]
    Internal(String),
    /// Some series of a watchlist failed (the others were forecast): the exit code is the most
    /// severe of theirs, the message says how many and that error.
    #[error("{1}")]
    Series(Exit, String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> Exit {
        match self {
            Error::Usage(_) => Exit::Usage,
            Error::Data(_) => Exit::Data,
            Error::ModelFile(_) => Exit::Model,
            Error::Stale(_) => Exit::Stale,
            Error::NotPromoted(_) => Exit::NotPromoted,
            Error::Locked(_) => Exit::Locked,
            Error::Device(_) => Exit::Device,
            Error::Output(_) => Exit::Output,
            Error::BrokenPipe => Exit::Ok,
            Error::Internal(_) => Exit::Internal,
            Error::Series(code, _) => *code,
        }
    }

    /// An output that cannot be written: `what` names it (a path, "stdout").
    pub fn output(what: impl fmt::Display, err: impl fmt::Display) -> Error {
        Error::Output(format!("cannot write {what}: {err}"))
    }

    /// An I/O error while writing stdout: a broken pipe is [`Error::BrokenPipe`], anything else
    /// (a closed or full stdout) is an output error, so the forecast is never lost silently.
    pub fn stdout(err: std::io::Error) -> Error {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            Error::BrokenPipe
        } else {
            Error::output("stdout", err)
        }
    }

    /// The same error with `what` put before an internal error's message (what was being done).
    /// Errors of other kinds already say where they are and pass unchanged.
    pub fn context(self, what: impl fmt::Display) -> Error {
        match self {
            Error::Internal(message) => Error::Internal(format!("{what}: {message}")),
            other => other,
        }
    }
}

impl From<candle_core::Error> for Error {
    fn from(err: candle_core::Error) -> Self {
        Error::Internal(err.to_string())
    }
}

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

/// A model file that cannot be used: missing, corrupt, an unknown format version, a field out of
/// range, or features the CSV cannot provide. Exit code 4.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}", path = .path.display())]
pub struct ModelFileError {
    pub path: PathBuf,
    pub message: String,
}

impl ModelFileError {
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        ModelFileError { path: path.to_path_buf(), message: message.into() }
    }
}
