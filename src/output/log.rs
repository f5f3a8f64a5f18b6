//! Diagnostics on stderr, with one verbosity setting: quiet (errors only, printed by `main`),
//! normal (warnings and a few summary lines), verbose (per-epoch losses). Per-epoch progress also
//! shows at normal verbosity when stderr is a terminal, so cron logs stay short.

use crate::cli::OutputArgs;
use crate::data::LoadReport;
use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

#[derive(Debug, Clone, Copy)]
pub struct Log {
    pub verbosity: Verbosity,
    stderr_is_terminal: bool,
}

impl Log {
    pub fn new(args: &OutputArgs) -> Log {
        let verbosity = if args.quiet {
            Verbosity::Quiet
        } else if args.verbose > 0 {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        };
        Log { verbosity, stderr_is_terminal: std::io::stderr().is_terminal() }
    }

    pub fn warn(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("warning: {message}");
        }
    }

    pub fn info(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{message}");
        }
    }

    /// Progress lines: shown when verbose, or when someone is watching the terminal.
    pub fn progress(&self, message: &str) {
        if self.verbosity == Verbosity::Verbose
            || (self.verbosity == Verbosity::Normal && self.stderr_is_terminal)
        {
            eprintln!("{message}");
        }
    }

    /// What the loader dropped and warned about.
    pub fn load_report(&self, report: &LoadReport) {
        for (reason, count) in &report.dropped {
            self.warn(&format!("{}: dropped {count} row(s): {reason}", report.path.display()));
        }
        for warning in &report.warnings {
            self.warn(&format!("{}: {warning}", report.path.display()));
        }
    }
}
