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
/// and files gets a rayon pool of the same number of threads.
/// `threads`: `--threads`; `device`: `--device` (see [`select_device`]).
pub fn setup_runtime(threads: Option<usize>, device: &str) -> Result<Runtime> {
    let from_env =
        std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n > 0);
    let threads = threads
        .or(from_env)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    // Work split across series and files (loading a watchlist, forecasting many models) runs on
    // rayon's global pool of `threads` workers; it must be built before the variable below,
    // which would make it one thread. (A second call in one process keeps the first pool.)
    let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
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
            return Ok(if cfg!(feature = "cuda") {
                Device::cuda_if_available(0).unwrap_or(Device::Cpu)
            } else {
                Device::Cpu
            })
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
    Device::new_cuda(ordinal).map_err(|e| {
        Error::Device(format!(
            "--device {name}: no usable CUDA GPU {ordinal} ({e}); check the NVIDIA driver and GPU, or use --device cpu"
        ))
    })
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
