//! `forecast bench`: training samples/s and inference latency at the given shapes, for the fused
//! and the tensor-op LSTM, with the share of the measured GEMM peak reached.

use crate::bench::{measure_peak_gflops, run_case, BenchCase, BenchResult};
use crate::cli::{BenchArgs, BenchPath, Format};
use crate::error::Error;
use crate::model::LstmPath;
use crate::output::{csv, print_json_as, print_text};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Serialize)]
struct BenchReport {
    /// Where training and inference ran: cpu or cuda:N.
    device: String,
    threads: usize,
    peak_gflops: f64,
    samples_per_epoch: usize,
    results: Vec<BenchResult>,
}

pub fn run(args: &BenchArgs) -> crate::error::Result<()> {
    let log = args.output.log();
    let runtime = args.runtime.runtime()?;
    let threads = runtime.threads;
    let device = match runtime.device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".to_string(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    };
    // The CPU's GEMM peak: the yardstick of "of peak", on a GPU too.
    let peak_gflops = measure_peak_gflops(threads);
    log.info(&format!("GEMM peak on {threads} thread(s): {peak_gflops:.1} GFLOP/s"));
    // The fused LSTM is CPU code: on a GPU, `both` is the tensor-op path alone.
    let paths = match (args.path, runtime.device.is_cpu()) {
        (BenchPath::Fused, false) => {
            return Err(Error::Usage(format!(
                "--path fused: the fused LSTM runs on the CPU only; use --path tensor with --device {}",
                args.runtime.device
            )))
        }
        (BenchPath::Fused, true) => vec![LstmPath::Fused],
        (BenchPath::Tensor, _) | (BenchPath::Both, false) => vec![LstmPath::Tensor],
        (BenchPath::Both, true) => vec![LstmPath::Fused, LstmPath::Tensor],
    };
    let mut results = Vec::new();
    for &(seq_len, hidden) in &args.cases {
        let case = BenchCase { seq_len, hidden, layers: 2, features: 5, batch_size: 64 };
        for &path in &paths {
            log.info(&format!("measuring seq {seq_len}, hidden {hidden}, {path:?} …"));
            results.push(run_case(&case, path, args.samples, args.repeats, &runtime, peak_gflops)?);
        }
    }
    let report = BenchReport { device, threads, peak_gflops, samples_per_epoch: args.samples, results };
    match args.output.format {
        Format::Json | Format::Jsonl => print_json_as(&report, args.output.format == Format::Jsonl),
        Format::Table => print_text(&render(&report)),
        Format::Csv => print_text(&render_csv(&report)?),
    }
}

fn render(r: &BenchReport) -> String {
    let mut s = format!(
        "{}, {} thread(s), CPU GEMM peak {:.1} GFLOP/s; 2 layers, 5 features, batch 64\n\
         {:>5} {:>6} {:>7} {:>14} {:>12} {:>10} {:>8} {:>9}\n",
        r.device,
        r.threads,
        r.peak_gflops,
        "seq",
        "hidden",
        "path",
        "train samp/s",
        "MFLOP/samp",
        "GFLOP/s",
        "of peak",
        "infer µs"
    );
    for x in &r.results {
        let _ = writeln!(
            s,
            "{:>5} {:>6} {:>7} {:>14.0} {:>12.2} {:>10.2} {:>7.1}% {:>9.0}",
            x.case.seq_len,
            x.case.hidden,
            x.path,
            x.train_samples_per_s,
            x.mflop_per_sample,
            x.gflops,
            x.ceiling_fraction * 100.0,
            x.infer_latency_us
        );
    }
    s
}

fn render_csv(r: &BenchReport) -> crate::error::Result<String> {
    let header = [
        "threads",
        "seq_len",
        "hidden",
        "path",
        "train_samples_per_s",
        "mflop_per_sample",
        "gflops",
        "ceiling_fraction",
        "infer_latency_us",
    ];
    let rows = r.results.iter().map(|x| {
        [
            r.threads.to_string(),
            x.case.seq_len.to_string(),
            x.case.hidden.to_string(),
            x.path.clone(),
            x.train_samples_per_s.to_string(),
            x.mflop_per_sample.to_string(),
            x.gflops.to_string(),
            x.ceiling_fraction.to_string(),
            x.infer_latency_us.to_string(),
        ]
    });
    csv::table(&header, rows)
}
