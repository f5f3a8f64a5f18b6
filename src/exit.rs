//! Exit codes: the contract with shell scripts. This table is repeated in the README and in
//! `forecast --help`; a test keeps them in step.

use crate::error::{
    DataError, DeviceUnavailable, Locked, ModelFileError, NotPromoted, StaleData, UsageError,
};

/// Every exit code `forecast` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// Unexpected internal error (a bug, or an I/O failure writing output).
    Internal = 1,
    /// Usage error: unknown flag, bad flag value.
    Usage = 2,
    /// Input data error: CSV missing or unreadable, no parsable rows, too few rows for the
    /// seq-len, a cell that cannot be parsed (the message names file, line and column).
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
}

impl Exit {
    /// Every code, in order.
    pub const ALL: [Exit; 9] = [
        Exit::Ok,
        Exit::Internal,
        Exit::Usage,
        Exit::Data,
        Exit::Model,
        Exit::Stale,
        Exit::NotPromoted,
        Exit::Locked,
        Exit::Device,
    ];
}

/// The table printed by `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  ok
  1  unexpected internal error
  2  usage error (bad flag or value)
  3  input data error (CSV missing or unreadable, no parsable rows, too few rows, bad cell: file:line:column)
  4  model file error (missing, corrupt, unknown format version, features the CSV lacks)
  5  stale data: predict --max-age, the data's last date is too old
  6  not promoted: train --promote-if-better kept the existing model (the new one was not better)
  7  locked: another forecast is writing the same model file (use --wait to queue)
  8  device unavailable: --device cuda without CUDA support compiled in, or no GPU/driver";

/// The exit code for an error: the first typed error found in its chain decides.
pub fn code_for(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if cause.is::<DataError>() {
            return Exit::Data;
        }
        if cause.is::<ModelFileError>() {
            return Exit::Model;
        }
        if cause.is::<UsageError>() {
            return Exit::Usage;
        }
        if cause.is::<NotPromoted>() {
            return Exit::NotPromoted;
        }
        if cause.is::<StaleData>() {
            return Exit::Stale;
        }
        if cause.is::<Locked>() {
            return Exit::Locked;
        }
        if cause.is::<DeviceUnavailable>() {
            return Exit::Device;
        }
    }
    Exit::Internal
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;
    use std::path::Path;

    #[test]
    fn context_does_not_hide_the_kind() {
        let data: anyhow::Result<()> = Err(DataError::new(Path::new("a.csv"), "bad")).context("loading");
        assert_eq!(code_for(&data.unwrap_err()), Exit::Data);
        let model: anyhow::Result<()> = Err(ModelFileError::new(Path::new("m"), "bad")).context("x");
        assert_eq!(code_for(&model.unwrap_err()), Exit::Model);
        assert_eq!(code_for(&anyhow::anyhow!("boom")), Exit::Internal);
        assert_eq!(code_for(&UsageError("no".into()).into()), Exit::Usage);
    }

    #[test]
    fn help_table_lists_every_code() {
        for code in Exit::ALL {
            assert!(EXIT_CODES_HELP.contains(&format!("\n  {}  ", code as u8)), "{code:?}");
        }
    }
}
