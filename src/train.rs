//! The training loop: shuffled minibatches inside the training span, Adam, gradient-norm clipping,
//! early stopping on the validation loss keeping the best epoch's weights. One seeded RNG drives
//! initialisation, shuffling and dropout, so the same seed, data, flags and thread count give the
//! same bits.

use crate::data::{Split, Windows};
use crate::model::StockPredictor;
use candle_core::backprop::GradStore;
use candle_core::{Device, Result, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Training hyper-parameters. Stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub val_fraction: f64,
    pub patience: usize,
    pub seed: u64,
    /// Largest allowed L2 norm of all gradients together; larger ones are scaled down.
    pub clip_norm: f64,
}

/// One epoch's losses (mean squared error on scaled targets).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitOutcome {
    pub epochs_run: usize,
    /// 1-based epoch whose weights the model now holds.
    pub best_epoch: usize,
    pub best_val_loss: f64,
    pub stopped_early: bool,
    pub history: Vec<EpochReport>,
}

/// Windows scored per forward pass when no gradient is needed.
const EVAL_CHUNK: usize = 1024;

/// Trains `model` in place on `split.train` windows, early-stopping on `split.val`, and leaves it
/// holding the weights of the best validation epoch. `on_epoch` sees each epoch as it ends.
pub fn fit(
    model: &StockPredictor,
    windows: &Windows,
    split: &Split,
    config: &TrainConfig,
    rng: &mut ChaCha8Rng,
    device: &Device,
    mut on_epoch: impl FnMut(&EpochReport),
) -> anyhow::Result<FitOutcome> {
    let vars = model.vars();
    let params = ParamsAdamW { lr: config.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
    let mut optimizer = AdamW::new(vars.clone(), params)?;
    let mut order: Vec<usize> = split.train.clone().collect();
    let val: Vec<usize> = split.val.clone().collect();
    let mut best = (f64::INFINITY, 0usize, snapshot(&vars)?);
    let mut history = Vec::new();
    let mut since_best = 0;
    for epoch in 1..=config.epochs {
        let started = Instant::now();
        order.shuffle(rng);
        let mut loss_sum = 0.0;
        for batch in order.chunks(config.batch_size) {
            let loss = train_step(model, windows, batch, config, &mut optimizer, &vars, rng, device)?;
            loss_sum += loss * batch.len() as f64;
        }
        let train_loss = loss_sum / order.len() as f64;
        let val_loss = mean_squared_error(model, windows, &val, device)?;
        if !train_loss.is_finite() || !val_loss.is_finite() {
            anyhow::bail!("training diverged at epoch {epoch} (loss is not finite); try a smaller --lr");
        }
        let report = EpochReport { epoch, train_loss, val_loss, seconds: started.elapsed().as_secs_f64() };
        on_epoch(&report);
        history.push(report);
        if val_loss < best.0 {
            best = (val_loss, epoch, snapshot(&vars)?);
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= config.patience {
                break;
            }
        }
    }
    restore(&vars, &best.2)?;
    let epochs_run = history.len();
    Ok(FitOutcome {
        epochs_run,
        best_epoch: best.1,
        best_val_loss: best.0,
        stopped_early: epochs_run < config.epochs,
        history,
    })
}

/// One optimiser step on the windows in `batch`; returns the batch's loss.
#[allow(clippy::too_many_arguments)]
fn train_step(
    model: &StockPredictor,
    windows: &Windows,
    batch: &[usize],
    config: &TrainConfig,
    optimizer: &mut AdamW,
    vars: &[Var],
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Result<f64> {
    let inputs = windows.inputs(batch, device)?;
    let targets = windows.target_tensor(batch, device)?;
    let p = model.config.dropout;
    let (output, _) = model.forward_train(&inputs, |x| dropout(x, p, rng))?;
    let loss = (output - targets)?.sqr()?.mean_all()?;
    let mut grads = loss.backward()?;
    clip_grad_norm(&mut grads, vars, config.clip_norm)?;
    optimizer.step(&grads)?;
    Ok(loss.to_scalar::<f32>()? as f64)
}

/// Inverted dropout with a mask from the seeded RNG: each element kept with probability 1 − p and
/// scaled by 1 / (1 − p). `x`: any shape; returns the same shape.
fn dropout(x: &Tensor, p: f32, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> =
        (0..x.elem_count()).map(|_| if rng.random::<f32>() < p { 0.0 } else { keep }).collect();
    x * Tensor::from_vec(mask, x.shape(), x.device())?
}

/// Scales all gradients together so their joint L2 norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`). Returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut GradStore, vars: &[Var], max_norm: f64) -> Result<f64> {
    let mut sum_sq = 0.0f64;
    for var in vars {
        if let Some(g) = grads.get(var) {
            sum_sq += g.sqr()?.sum_all()?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        }
    }
    let norm = sum_sq.sqrt();
    if norm > max_norm {
        let factor = max_norm / (norm + 1e-6);
        for var in vars {
            if let Some(g) = grads.get(var) {
                let scaled = g.affine(factor, 0.0)?;
                grads.insert(var, scaled);
            }
        }
    }
    Ok(norm)
}

/// The model's scaled outputs for the windows in `indices` (window `len()` is allowed: the
/// forecast window). Returns one value per window (horizon 1).
pub fn forward_windows(
    model: &StockPredictor,
    windows: &Windows,
    indices: &[usize],
    device: &Device,
) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(indices.len());
    for chunk in indices.chunks(EVAL_CHUNK) {
        let inputs = windows.inputs(chunk, device)?;
        let output = model.forward(&inputs)?;
        out.extend(output.flatten_all()?.to_vec1::<f32>()?);
    }
    Ok(out)
}

/// Mean squared error on scaled targets over `indices`.
fn mean_squared_error(
    model: &StockPredictor,
    windows: &Windows,
    indices: &[usize],
    device: &Device,
) -> Result<f64> {
    let predicted = forward_windows(model, windows, indices, device)?;
    let sum: f64 =
        predicted.iter().zip(indices).map(|(p, &j)| ((p - windows.targets[j]) as f64).powi(2)).sum();
    Ok(sum / indices.len().max(1) as f64)
}

fn snapshot(vars: &[Var]) -> Result<Vec<Tensor>> {
    vars.iter().map(|v| v.as_tensor().copy()).collect()
}

fn restore(vars: &[Var], values: &[Tensor]) -> Result<()> {
    vars.iter().zip(values).try_for_each(|(v, t)| v.set(t))
}
