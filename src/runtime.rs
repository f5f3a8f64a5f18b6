//! Where the numbers are crunched: the device and the number of worker threads, resolved once
//! from the command line before any tensor work starts.

use crate::cli::RuntimeArgs;
use crate::error::UsageError;
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
/// instead, which measures faster than splitting these small matrix products.
pub fn setup_runtime(args: &RuntimeArgs) -> anyhow::Result<Runtime> {
    let from_env =
        std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n > 0);
    let threads = args
        .threads
        .or(from_env)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    std::env::set_var("RAYON_NUM_THREADS", "1");
    std::env::set_var("CANDLE_NUM_THREADS", "1");
    let device = match args.device.as_str() {
        "cpu" | "auto" => Device::Cpu,
        other if other == "cuda" || other.starts_with("cuda:") => {
            return Err(UsageError(format!(
                "--device {other}: this build of forecast has no CUDA support; use --device cpu"
            ))
            .into())
        }
        other => return Err(UsageError(format!("--device {other}: unknown device; use cpu")).into()),
    };
    Ok(Runtime { device, threads })
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
