//! Diagnostics on stderr, with one verbosity setting: quiet (errors only, printed by `main`),
//! normal (warnings and a few summary lines), verbose (per-epoch losses in logs). A terminal gets a
//! progress bar instead of per-epoch lines; a log file never gets one, so cron logs stay short
//! and free of control characters: each message is one line, with any control character from a
//! user-supplied string (a path, a cell) escaped.

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
    pub fn new(verbosity: Verbosity) -> Log {
        Log { verbosity, stderr_is_terminal: std::io::stderr().is_terminal() }
    }

    pub fn warn(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("warning: {}", crate::text::one_line(message));
        }
    }

    pub fn info(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{}", crate::text::one_line(message));
        }
    }

    /// Progress lines for logs: shown with -v when stderr is not a terminal (a terminal gets a
    /// progress bar instead, see [`Log::bar`]).
    pub fn progress(&self, message: &str) {
        if self.verbosity == Verbosity::Verbose && !self.stderr_is_terminal {
            eprintln!("{}", crate::text::one_line(message));
        }
    }

    /// A progress bar of `total` steps on stderr, only when someone is watching the terminal (and
    /// not --quiet); hidden otherwise, so log files never get carriage returns or escape codes.
    pub fn bar(&self, total: u64, unit: &str) -> indicatif::ProgressBar {
        if self.verbosity == Verbosity::Quiet || !self.stderr_is_terminal {
            return indicatif::ProgressBar::hidden();
        }
        let template = format!("{{bar:30}} {{pos}}/{{len}} {unit}  {{msg}}");
        let style = indicatif::ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        indicatif::ProgressBar::new(total).with_style(style)
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
