//! Where the numbers are crunched: the device and the number of worker threads, resolved once
//! from the command line before any tensor work starts.

use crate::error::{Error, Result};
use candle_core::Device;

/// Where the numbers are crunched, and by how many threads.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub device: Device,
    /// Worker threads for training and scoring: --threads, else RAYON_NUM_THREADS, else the
    /// available cores.
    pub threads: usize,
}

/// Resolves the thread count and the device. Candle's own operations are made single-threaded
/// (before anything starts its pools): training runs whole minibatch parts on the worker threads
/// instead, which measures faster than splitting these small matrix products. Work across series
/// and files gets a rayon pool of the same number of threads ([`crate::pool`]).
/// `threads`: `--threads`; `device`: `--device` (see [`select_device`]).
pub fn setup_runtime(threads: Option<usize>, device: &str) -> Result<Runtime> {
    let from_env =
        std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n > 0);
    let threads = threads
        .or(from_env)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    // Work split across series and files (loading a watchlist, forecasting many models) runs on
    // rayon's global pool of `threads` workers, built on first use (`pool::start`) with this
    // count, whatever the variable below says. (A second call in one process keeps the first.)
    crate::pool::set_threads(threads);
    std::env::set_var("RAYON_NUM_THREADS", "1");
    std::env::set_var("CANDLE_NUM_THREADS", "1");
    let device = select_device(device)?;
    // Worker threads split CPU work; a GPU runs each batch whole.
    let threads = if device.is_cpu() { threads } else { 1 };
    Ok(Runtime { device, threads })
}

/// The device `--device` names: `cpu`; `cuda` or `cuda:N` (a build with the `cuda` feature and
/// a GPU); `auto` — CUDA when compiled in and a GPU answers, else the CPU, quietly.
pub fn select_device(name: &str) -> Result<Device> {
    let ordinal = match name {
        "cpu" => return Ok(Device::Cpu),
        "auto" => {
            return Ok(if cfg!(feature = "cuda") { open_cuda(0).unwrap_or(Device::Cpu) } else { Device::Cpu })
        }
        "cuda" => 0,
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => n,
            _ => {
                return Err(Error::Usage(format!(
                    "--device {other}: unknown device; use auto, cpu, cuda or cuda:N"
                )))
            }
        },
    };
    if !cfg!(feature = "cuda") {
        return Err(Error::Device(format!(
            "--device {name}: this build of forecast has no CUDA support; rebuild with `cargo build --release --features cuda` \
             (scripts/check-cuda-build.sh), or use --device cpu"
        )));
    }
    open_cuda(ordinal).map_err(|why| {
        Error::Device(format!(
            "--device {name}: no usable CUDA GPU {ordinal} ({why}); check the NVIDIA driver and GPU, or use --device cpu"
        ))
    })
}

/// Opens CUDA GPU `ordinal`, or says in one line why not. A build whose cudarc loads the CUDA
/// libraries at run time (scripts/check-cuda-build.sh) panics inside cudarc when the driver
/// (libcuda.so.1) or cuBLAS/cuRAND is missing; that panic is caught here, silently, and becomes
/// the reason.
fn open_cuda(ordinal: usize) -> std::result::Result<Device, String> {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let opened = std::panic::catch_unwind(|| Device::new_cuda(ordinal));
    std::panic::set_hook(quiet);
    match opened {
        Ok(Ok(device)) => Ok(device),
        Ok(Err(e)) => Err(one_line(&e.to_string())),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("CUDA initialisation failed");
            Err(missing_library(message).unwrap_or_else(|| one_line(message)))
        }
    }
}

/// cudarc's "Unable to dynamically load the \"cublas\" shared library - searched for …" as
/// "libcublas not found (…)".
fn missing_library(message: &str) -> Option<String> {
    let rest = message.strip_prefix("Unable to dynamically load the \"")?;
    let lib = &rest[..rest.find('"')?];
    Some(if lib == "cuda" {
        "the NVIDIA driver library libcuda.so.1 is not installed or not on the library path".to_string()
    } else {
        format!("the CUDA library lib{lib}.so is not installed or not on the library path")
    })
}

/// `text` on one line, at most 300 characters.
fn one_line(text: &str) -> String {
    let joined = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
    match joined.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

/// This process's resident memory now and at its peak, in bytes (Linux: /proc/self/status;
/// None elsewhere).
pub fn memory_usage() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_cuda_library_is_named_in_one_line() {
        let driver = "Unable to dynamically load the \"cuda\" shared library - searched for library names: \
                      [\"libcuda.so\", \"libcuda.so.1\"]. Ensure that `LD_LIBRARY_PATH` has the correct path";
        assert!(missing_library(driver).unwrap().contains("libcuda.so.1"));
        let blas =
            "Unable to dynamically load the \"cublas\" shared library - searched for library names: []";
        assert!(missing_library(blas).unwrap().contains("libcublas.so"));
        assert_eq!(missing_library("DriverError(CUDA_ERROR_NO_DEVICE)"), None);
        assert_eq!(one_line("a\n\n  b \nc"), "a; b; c");
        assert_eq!(one_line(&"x".repeat(400)).chars().count(), 301);
    }

    #[test]
    fn cpu_and_auto_never_fail_and_unknown_names_are_usage_errors() {
        assert!(select_device("cpu").unwrap().is_cpu());
        assert!(select_device("auto").is_ok());
        assert!(matches!(select_device("gpu"), Err(Error::Usage(_))));
        if !cfg!(feature = "cuda") {
            assert!(matches!(select_device("cuda:1"), Err(Error::Device(_))));
        }
    }
}
