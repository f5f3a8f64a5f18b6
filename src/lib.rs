//! `forecast`: a command-line LSTM stock-price forecaster.
//!
//! The data flow, one module per arrow:
//!
//! ```text
//! CSV ─▶ data::load ─▶ Series ─▶ data::features ─▶ data::Scaler (training span only)
//!     ─▶ data::Windows (batch, seq, feature) ─▶ model (stacked LSTM + linear head)
//!     ─▶ train (Adam, clipping, early stopping) ─▶ checkpoint (.safetensors + metadata)
//! predict: checkpoint ─▶ same load → features → scaler.transform → last window ─▶ inference
//!     ─▶ output (table | json | csv)
//! inspect: data::load ─▶ LoadReport + Series summary ─▶ output (table | json)
//! ```
//!
//! [`run`] executes a parsed command line; `main` only maps its error to an exit code ([`exit`]).

pub mod atomic;
pub mod backtest;
pub mod bench;
pub mod calendar;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod data;
pub mod distribution;
pub mod error;
pub mod exact_float;
pub mod exit;
pub mod forecaster;
pub mod freshness;
pub mod inference;
pub mod interval_baselines;
pub mod interval_metrics;
pub mod intervals;
pub mod ledger;
pub mod limits;
pub mod lock;
pub mod metrics;
pub mod model;
pub mod output;
pub mod paths;
pub mod pool;
pub mod promotion;
pub mod runtime;
pub mod shard;
pub mod significance;
pub mod text;
pub mod train;
pub mod volatility;

/// Runs one parsed command line.
pub fn run(cli: cli::Cli) -> error::Result<()> {
    cli.check()?;
    match cli.command {
        cli::Command::Train(args) => commands::train::run(&args),
        cli::Command::Predict(args) => commands::predict::run(&args),
        cli::Command::Backtest(args) => commands::backtest::run(&args),
        cli::Command::Inspect(args) => commands::inspect::run(&args),
        cli::Command::Bench(args) => commands::bench::run(&args),
        cli::Command::Score(args) => commands::score::run(&args),
        cli::Command::Merge(args) => commands::merge::run(&args),
        cli::Command::Completions { shell } => {
            // Generated into memory first: clap_complete panics on a write error (a closed pipe).
            let mut command = <cli::Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "forecast", &mut script);
            output::print_text(&String::from_utf8_lossy(&script))
        }
        cli::Command::Man => {
            let command = <cli::Cli as clap::CommandFactory>::command();
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| error::Error::Internal(e.to_string()))?;
            output::print_text(&String::from_utf8_lossy(&page))
        }
    }
}
