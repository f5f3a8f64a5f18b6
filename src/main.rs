//! The `forecast` binary: parse the command line, run it, map the outcome to an exit code.

use clap::Parser;
use forecast::exit::{code_for, Exit};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match forecast::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { Exit::Usage as u8 } else { Exit::Ok as u8 });
        }
    };
    match forecast::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if forecast::output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(code_for(&err) as u8)
        }
    }
}
