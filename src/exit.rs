//! Exit codes: the contract with shell scripts. This table is repeated in the README and in
//! `forecast --help`; a test keeps them in step. Which error gets which code is
//! `error::Error::exit_code`.

/// Every exit code `forecast` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// Unexpected internal error (a bug, or an I/O failure writing output).
    Internal = 1,
    /// Usage error: unknown flag, bad or out-of-range flag value, an output in a missing folder or
    /// that is one of the inputs (`--out` naming the `--csv`).
    Usage = 2,
    /// Input data error: CSV missing or unreadable, no parsable rows, too few rows for the
    /// seq-len, a cell that cannot be parsed (the message names file, line and column), a `--log`
    /// file that is not a forecast ledger.
    Data = 3,
    /// Model file error: missing, corrupt, unknown format version, or features the CSV lacks.
    Model = 4,
    /// `predict --max-age`: the data's last date is older than allowed.
    Stale = 5,
    /// `train --promote-if-better` kept the existing model: the new one did not beat naive and
    /// the existing model on the same validation span.
    NotPromoted = 6,
    /// Another `forecast train` is writing the same model file (without --wait).
    Locked = 7,
    /// `--device cuda`: no CUDA support compiled in, or no GPU/driver.
    Device = 8,
    /// An output cannot be written: a file or lock file (permissions, read-only folder, full
    /// disk), or a closed stdout.
    Output = 9,
}

impl Exit {
    /// Every code, in order.
    pub const ALL: [Exit; 10] = [
        Exit::Ok,
        Exit::Internal,
        Exit::Usage,
        Exit::Data,
        Exit::Model,
        Exit::Stale,
        Exit::NotPromoted,
        Exit::Locked,
        Exit::Device,
        Exit::Output,
    ];

    /// The exit with this code, if there is one.
    pub fn from_code(code: u8) -> Option<Exit> {
        Exit::ALL.into_iter().find(|e| *e as u8 == code)
    }
}

/// The table printed by `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  ok
  1  unexpected internal error
  2  usage error (bad or out-of-range flag value, an output that is an input or in a missing folder)
  3  input data error (CSV missing or unreadable, no parsable rows, too few rows, bad cell: file:line:column; a --log that is not a ledger)
  4  model file error (missing, corrupt, unknown format version, features the CSV lacks)
  5  stale data: predict --max-age, the data's last date is too old
  6  not promoted: train --promote-if-better kept the existing model (the new one was not better)
  7  locked: another forecast is writing the same model file (use --wait to queue)
  8  device unavailable: --device cuda without CUDA support compiled in, or no GPU/driver
  9  cannot write output: a file or lock file (permissions, read-only folder, full disk), or a closed stdout";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{DataError, Error};
    use std::path::Path;

    #[test]
    fn context_does_not_hide_the_kind() {
        let data = Error::from(DataError::new(Path::new("a.csv"), "bad"));
        assert_eq!(data.context("loading").exit_code(), Exit::Data);
        let internal = Error::Internal("boom".into()).context("scoring");
        assert_eq!(internal.exit_code(), Exit::Internal);
        assert_eq!(internal.to_string(), "scoring: boom");
        assert_eq!(Error::Usage("no".into()).exit_code(), Exit::Usage);
        let closed = std::io::Error::from_raw_os_error(9); // EBADF: stdout closed
        assert_eq!(Error::stdout(closed).exit_code(), Exit::Output);
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(Error::stdout(pipe).exit_code(), Exit::Ok);
    }

    #[test]
    fn help_table_lists_every_code() {
        for code in Exit::ALL {
            assert!(EXIT_CODES_HELP.contains(&format!("\n  {}  ", code as u8)), "{code:?}");
        }
    }
}
