//! Throughput and latency benchmarks of the model code itself, on random data: training samples/s
//! through the real training loop ([`crate::train::fit`]), single-window inference latency, and the
//! share of the machine's measured GEMM peak that training reaches. `forecast bench` prints them;
//! whole-process comparisons with PyTorch are in scripts/compare_torch.py.

use crate::data::{Split, Windows};
use crate::model::{LstmPath, ModelConfig, StockPredictor};
use crate::runtime::Runtime;
use crate::train::{fit, TrainConfig};
use candle_core::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;

/// One benchmarked shape.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BenchCase {
    pub seq_len: usize,
    pub hidden: usize,
    pub layers: usize,
    pub features: usize,
    pub batch_size: usize,
}

/// Results for one case and one LSTM implementation.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub case: BenchCase,
    pub path: String,
    /// Median over epochs of training samples per second.
    pub train_samples_per_s: f64,
    /// Median latency of one forward pass on one window, in microseconds.
    pub infer_latency_us: f64,
    /// Arithmetic per training sample (forward + backward GEMMs), in MFLOP.
    pub mflop_per_sample: f64,
    /// Achieved training GFLOP/s.
    pub gflops: f64,
    /// Achieved GFLOP/s as a share of the measured GEMM peak.
    pub ceiling_fraction: f64,
}

/// Multiply-adds of one forward pass per sample, ×2 for FLOPs; backward costs twice the forward
/// (gradients for both the input and the weights of each GEMM).
pub fn train_flop_per_sample(case: &BenchCase) -> f64 {
    let gates = 4 * case.hidden;
    let forward: usize = (0..case.layers)
        .map(|k| {
            let input = if k == 0 { case.features } else { case.hidden };
            case.seq_len * 2 * gates * (input + case.hidden)
        })
        .sum::<usize>()
        + 2 * case.hidden;
    3.0 * forward as f64
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Random scaled features and targets with `samples` training windows and one validation window.
fn random_windows(case: &BenchCase, samples: usize, rng: &mut ChaCha8Rng) -> (Windows, Split) {
    let rows = samples + 1 + case.seq_len;
    let features: Vec<f64> = (0..rows * case.features).map(|_| rng.random_range(-2.0..2.0)).collect();
    let returns: Vec<f64> = (0..rows).map(|_| rng.random_range(-2.0..2.0)).collect();
    let windows = Windows::new(&features, case.features, &returns, case.seq_len, 1);
    let split = Split { train: (0..samples).collect(), val: vec![samples] };
    (windows, split)
}

/// Benchmarks one case on one path, on `runtime`'s device and threads: `repeats` epochs of
/// `samples` windows, and 200 inferences.
pub fn run_case(
    case: &BenchCase,
    path: LstmPath,
    samples: usize,
    repeats: usize,
    runtime: &Runtime,
    peak_gflops: f64,
) -> crate::error::Result<BenchResult> {
    let device = runtime.device.clone();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let config = ModelConfig {
        input_size: case.features,
        hidden_size: case.hidden,
        num_layers: case.layers,
        horizon: 1,
        dropout: 0.0,
        distribution: Default::default(),
    };
    let model = StockPredictor::init(&config, &mut rng, &device)?.with_path(path);
    let (windows, split) = random_windows(case, samples, &mut rng);
    // One extra epoch first, as warm-up; it is not counted.
    let train = TrainConfig {
        epochs: repeats + 1,
        batch_size: case.batch_size,
        lr: 1e-3,
        val_fraction: 0.0,
        patience: repeats + 2,
        seed: 1,
        clip_norm: 1.0,
        windows_per_epoch: None,
    };
    let outcome = fit(&model, &windows, &split, &train, &mut rng, runtime, |_| {})?;
    let rates: Vec<f64> = outcome.history.iter().skip(1).map(|e| samples as f64 / e.seconds).collect();
    let train_samples_per_s = median(rates);

    let window = Tensor::from_vec(windows.window(0).to_vec(), (1, case.seq_len, case.features), &device)?;
    let mut latencies = Vec::with_capacity(200);
    for _ in 0..220 {
        let started = Instant::now();
        let out = model.forward(&window)?;
        let _value: Vec<f32> = out.flatten_all()?.to_vec1()?;
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let infer_latency_us = median(latencies[20..].to_vec());
    let flop = train_flop_per_sample(case);
    let gflops = train_samples_per_s * flop / 1e9;
    Ok(BenchResult {
        case: *case,
        path: format!("{path:?}").to_lowercase(),
        train_samples_per_s,
        infer_latency_us,
        mflop_per_sample: flop / 1e6,
        gflops,
        ceiling_fraction: gflops / peak_gflops,
    })
}

/// The machine's practical f32 ceiling: `threads` threads each multiplying 256×256 matrices at
/// once (as training's workers do), best of several rounds, in GFLOP/s.
pub fn measure_peak_gflops(threads: usize) -> f64 {
    let n = 256;
    let rounds = 20;
    let gemm_once = || {
        let a = vec![0.5f32; n * n];
        let b = vec![0.25f32; n * n];
        let mut c = vec![0f32; n * n];
        // SAFETY: a, b, c are n×n row-major and do not overlap.
        unsafe {
            gemm::gemm(
                n,
                n,
                n,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                n as isize,
                b.as_ptr(),
                1,
                n as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        c[0]
    };
    let mut best = 0.0f64;
    for _ in 0..rounds {
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| (0..4).map(|_| gemm_once()).sum::<f32>());
            }
        });
        let flop = 2.0 * (n * n * n) as f64 * 4.0 * threads as f64;
        best = best.max(flop / started.elapsed().as_secs_f64() / 1e9);
    }
    best
}
