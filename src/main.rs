//! The `forecast` binary: parse the command line, run it, map the outcome to an exit code.

use clap::Parser;
use forecast::error::Error;
use forecast::exit::Exit;
use std::process::ExitCode;

/// Training allocates and frees many multi-megabyte tensors per batch. glibc's malloc returns such
/// blocks to the OS and page-faults them back in each time (measured: over half the training time
/// at the default sizes); mimalloc keeps them. `forecast bench` shows the difference.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        Err(Error::BrokenPipe) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
