//! The `forecast` binary: parse the command line, run it, map the outcome to an exit code.
//! Every error is printed as one line on stderr.

use clap::Parser;
use forecast::error::Error;
use forecast::exit::Exit;
use forecast::output::{set_stdout_closed, stdout_closed};
use forecast::text::one_line;
use std::process::ExitCode;

/// Training allocates and frees many multi-megabyte tensors per batch. glibc's malloc returns such
/// blocks to the OS and page-faults them back in each time (measured: over half the training time
/// at the default sizes); mimalloc keeps them. `forecast bench` shows the difference. mimalloc's
/// v2 line (the `v2` feature), not v3: v3 touched more fresh huge pages at start-up (predict's peak
/// 27.7 → 17.7 MiB, its wall time 0.86× in paired runs) and trained no faster (0.95× the wall time
/// of 5 AAPL epochs with v2).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Whether file descriptor 1 was closed when the process started (`forecast … >&-`).
#[cfg(target_os = "linux")]
static STDOUT_CLOSED_AT_START: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs before `main` and before the Rust runtime's start-up, which opens /dev/null on a closed
/// stdout (so that writes would succeed and the results be lost): records whether fd 1 was open.
#[cfg(target_os = "linux")]
extern "C" fn record_closed_stdout() {
    extern "C" {
        fn fcntl(fd: i32, cmd: i32, ...) -> i32;
    }
    const F_GETFD: i32 = 1;
    // SAFETY: F_GETFD only asks whether the descriptor is open; it changes nothing.
    let closed = unsafe { fcntl(1, F_GETFD) } == -1;
    STDOUT_CLOSED_AT_START.store(closed, std::sync::atomic::Ordering::Relaxed);
}

#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static RECORD_CLOSED_STDOUT: extern "C" fn() = record_closed_stdout;

fn main() -> ExitCode {
    #[cfg(target_os = "linux")]
    if STDOUT_CLOSED_AT_START.load(std::sync::atomic::Ordering::Relaxed) {
        set_stdout_closed();
    }
    let cli = match forecast::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if err.use_stderr() => {
            eprintln!("{}", forecast::cli::error_line(&err));
            return ExitCode::from(Exit::Usage as u8);
        }
        Err(err) => {
            // --help, --version: printed on stdout.
            if stdout_closed() {
                eprintln!("error: cannot write stdout: it is closed (>&-)");
                return ExitCode::from(Exit::Output as u8);
            }
            let _ = err.print();
            return ExitCode::from(Exit::Ok as u8);
        }
    };
    match forecast::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::BrokenPipe) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err.to_string()));
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
