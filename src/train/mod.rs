//! The training loop: shuffled minibatches inside the training span, Adam, gradient-norm clipping,
//! early stopping on the validation loss keeping the best epoch's weights. One seeded RNG drives
//! initialisation, shuffling and dropout, so the same seed, data, flags and thread count give the
//! same bits.
//!
//! Two implementations of a step, chosen by the model's LSTM path: on CPU (the fused path) the
//! whole step runs on flat buffers ([`crate::model::flat`], [`adam`]) with no candle graph and no
//! allocation per batch; elsewhere (a GPU, or the tensor-op oracle) it runs on candle's autograd
//! and optimiser.
//!
//! Threads: each minibatch is split into `workers` contiguous parts whose forward and backward run
//! on their own threads (each LSTM row's recurrence is independent, and the model's GEMMs are too
//! small to split well); the parts' gradients are summed in part order, so the result does not
//! depend on scheduling. Candle's own operations then run single-threaded (see
//! `runtime::setup_runtime`).

pub mod adam;

use crate::data::{Batches, Split};
use crate::distribution::{batch_nll, Distribution};
use crate::model::flat::{self, ParamLayout, Workspace};
use crate::model::{LstmPath, StockPredictor};
use crate::runtime::Runtime;
use adam::{clip_factor, Adam};
use candle_core::backprop::GradStore;
use candle_core::{Device, Result, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
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
    /// Training windows drawn (seeded, without replacement) per epoch; all of them when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows_per_epoch: Option<usize>,
}

/// Everything about a model that is not data: its shape and how to train it.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub seq_len: usize,
    /// Trading days forecast at once (the head's outputs).
    pub horizon: usize,
    /// Prediction-interval levels, such as 0.9.
    pub levels: Vec<f64>,
    pub hidden: usize,
    pub layers: usize,
    pub dropout: f32,
    /// What the head predicts: a point (squared error) or a distribution (likelihood).
    pub distribution: Distribution,
    pub train: TrainConfig,
}

/// Fewest windows worth a worker thread of their own.
const MIN_WINDOWS_PER_WORKER: usize = 16;

/// Splits `indices` into at most `workers` contiguous parts of at least
/// [`MIN_WINDOWS_PER_WORKER`] (except when there are fewer windows than that).
pub fn split_work(indices: &[usize], workers: usize) -> Vec<&[usize]> {
    let parts = workers.clamp(1, indices.len().div_ceil(MIN_WINDOWS_PER_WORKER).max(1));
    let size = indices.len().div_ceil(parts).max(1);
    indices.chunks(size).collect()
}

/// One epoch's losses (mean squared error on scaled targets, or mean negative log-likelihood of
/// the scaled targets for a distributional head).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    /// The whole epoch: its training batches and scoring the validation span.
    pub seconds: f64,
    /// Of which scoring the validation span.
    pub validation_seconds: f64,
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

/// Windows per forward pass when the flat CPU path scores (its workspace keeps this size).
const FLAT_EVAL_CHUNK: usize = 64;

/// Trains `model` in place on `split.train` windows, early-stopping on `split.val`, and leaves it
/// holding the weights of the best validation epoch. `on_epoch` sees each epoch as it ends.
pub fn fit(
    model: &StockPredictor,
    windows: &impl Batches,
    split: &Split,
    config: &TrainConfig,
    rng: &mut ChaCha8Rng,
    runtime: &Runtime,
    mut on_epoch: impl FnMut(&EpochReport),
) -> crate::error::Result<FitOutcome> {
    let vars = model.vars();
    let mut learner = Learner::new(model, windows, config, runtime)?;
    let mut order: Vec<usize> = split.train.clone();
    let val = &split.val;
    let per_epoch = config.windows_per_epoch.unwrap_or(order.len()).min(order.len());
    let mut best = (f64::INFINITY, 0usize, snapshot(&vars)?);
    let mut history = Vec::new();
    let mut since_best = 0;
    for epoch in 1..=config.epochs {
        let started = Instant::now();
        order.shuffle(rng);
        let mut loss_sum = 0.0;
        for batch in order[..per_epoch].chunks(config.batch_size) {
            loss_sum += learner.train_batch(batch, rng)? * batch.len() as f64;
        }
        let train_loss = loss_sum / per_epoch.max(1) as f64;
        let scoring = Instant::now();
        let val_loss = validation_loss(&learner.outputs(val)?, windows, val, model.config.distribution);
        let validation_seconds = scoring.elapsed().as_secs_f64();
        if !train_loss.is_finite() || !val_loss.is_finite() {
            return Err(crate::error::Error::Internal(format!(
                "training diverged at epoch {epoch} (loss is not finite); try a smaller --lr"
            )));
        }
        let seconds = started.elapsed().as_secs_f64();
        let report = EpochReport { epoch, train_loss, val_loss, seconds, validation_seconds };
        on_epoch(&report);
        history.push(report);
        if val_loss < best.0 {
            learner.sync_model()?;
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

/// How a minibatch becomes an update: the flat CPU step, or candle's graph and optimiser.
enum Learner<'a, W: Batches> {
    Flat(FlatLearner<'a, W>),
    Graph(GraphLearner<'a, W>),
}

impl<'a, W: Batches> Learner<'a, W> {
    fn new(
        model: &'a StockPredictor,
        windows: &'a W,
        config: &TrainConfig,
        runtime: &Runtime,
    ) -> Result<Self> {
        Ok(if model.path == LstmPath::Fused && runtime.device.is_cpu() {
            Learner::Flat(FlatLearner::new(model, windows, config, runtime.threads)?)
        } else {
            let params =
                ParamsAdamW { lr: config.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
            Learner::Graph(GraphLearner {
                model,
                windows,
                optimizer: AdamW::new(model.vars(), params)?,
                clip_norm: config.clip_norm,
                runtime: runtime.clone(),
            })
        })
    }

    /// One update from the windows in `batch`; returns the batch's mean loss.
    fn train_batch(&mut self, batch: &[usize], rng: &mut ChaCha8Rng) -> Result<f64> {
        match self {
            Learner::Flat(learner) => Ok(learner.train_batch(batch, rng)),
            Learner::Graph(learner) => learner.train_batch(batch, rng),
        }
    }

    /// The model's raw outputs for the windows in `indices`, without dropout (see
    /// [`forward_windows`]).
    fn outputs(&mut self, indices: &[usize]) -> Result<Vec<f32>> {
        match self {
            Learner::Flat(learner) => Ok(learner.outputs(indices)),
            Learner::Graph(g) => {
                forward_windows(g.model, g.windows, indices, &g.runtime.device, g.runtime.threads)
            }
        }
    }

    /// Puts the current weights into the model's variables (for snapshots).
    fn sync_model(&self) -> Result<()> {
        match self {
            Learner::Flat(learner) => flat::write_back(learner.model, &learner.layout, &learner.params),
            Learner::Graph(_) => Ok(()),
        }
    }
}

/// The CPU step on flat buffers: parameters, one gradient buffer and one workspace per worker,
/// all allocated once.
struct FlatLearner<'a, W: Batches> {
    model: &'a StockPredictor,
    windows: &'a W,
    layout: ParamLayout,
    params: Vec<f32>,
    grads: Vec<Vec<f32>>,
    workspaces: Vec<Workspace>,
    adam: Adam,
    clip_norm: f64,
}

impl<'a, W: Batches> FlatLearner<'a, W> {
    fn new(model: &'a StockPredictor, windows: &'a W, config: &TrainConfig, workers: usize) -> Result<Self> {
        let layout = ParamLayout::new(&model.config);
        let params = flat::flatten(model)?;
        let workers = workers.max(1);
        Ok(FlatLearner {
            model,
            windows,
            grads: vec![vec![0.0; params.len()]; workers],
            workspaces: (0..workers).map(|_| Workspace::default()).collect(),
            adam: Adam::new(params.len(), config.lr),
            clip_norm: config.clip_norm,
            layout,
            params,
        })
    }

    fn train_batch(&mut self, batch: &[usize], rng: &mut ChaCha8Rng) -> f64 {
        let parts = split_work(batch, self.workspaces.len());
        let jobs: Vec<(&[usize], u64)> = parts.iter().map(|&part| (part, rng.random())).collect();
        let (layout, params, windows) = (&self.layout, &self.params[..], self.windows);
        let step = |(&(part, seed), (workspace, grads)): (&(&[usize], u64), PartBuffers)| {
            flat_part_step(layout, params, windows, workspace, grads, part, batch.len(), seed)
        };
        // On rayon's pool, whose threads persist: a fresh thread per batch would fault in a new
        // stack and gemm's per-thread packing buffer every time. Results come back in part order.
        let buffers = self.workspaces.iter_mut().zip(self.grads.iter_mut());
        let losses: Vec<f64> = if jobs.len() == 1 {
            jobs.iter().zip(buffers).map(step).collect()
        } else {
            crate::pool::start();
            let buffers = self.workspaces.par_iter_mut().zip(self.grads.par_iter_mut());
            jobs.par_iter().zip(buffers).map(step).collect()
        };
        let (total, rest) = self.grads.split_first_mut().expect("at least one worker");
        for part_grads in &rest[..parts.len().saturating_sub(1)] {
            total.iter_mut().zip(part_grads).for_each(|(a, g)| *a += g);
        }
        let (factor, _) = clip_factor(total, self.clip_norm);
        self.adam.step(&mut self.params, total, factor);
        losses.iter().sum()
    }

    /// The raw outputs of the windows in `indices` without dropout (see [`flat_outputs`]).
    fn outputs(&mut self, indices: &[usize]) -> Vec<f32> {
        flat_outputs(&self.layout, &self.params, self.windows, indices, &mut self.workspaces)
    }
}

/// The raw outputs of the windows in `indices` on the flat CPU path, without dropout, window after
/// window: split over the `workspaces` (one per worker), in chunks of [`FLAT_EVAL_CHUNK`].
fn flat_outputs(
    layout: &ParamLayout,
    params: &[f32],
    windows: &impl Batches,
    indices: &[usize],
    workspaces: &mut [Workspace],
) -> Vec<f32> {
    let parts = split_work(indices, workspaces.len());
    let run = |(part, workspace): (&&[usize], &mut Workspace)| {
        let mut out =
            Vec::with_capacity(part.len() * layout.config.distribution.outputs() * layout.config.horizon);
        for chunk in part.chunks(FLAT_EVAL_CHUNK) {
            let rows: Vec<&[f32]> = chunk.iter().map(|&j| windows.window(j)).collect();
            workspace.load_input(layout, &rows, windows.seq_len());
            workspace.forward(layout, params, || 1.0);
            out.extend_from_slice(&workspace.output);
        }
        out
    };
    let results: Vec<Vec<f32>> = if parts.len() <= 1 {
        parts.iter().zip(workspaces.iter_mut()).map(run).collect()
    } else {
        crate::pool::start();
        parts.par_iter().zip(workspaces.par_iter_mut()).map(run).collect()
    };
    results.concat()
}

/// One worker's workspace and gradient buffer.
type PartBuffers<'a> = (&'a mut Workspace, &'a mut Vec<f32>);

/// One part's share of a batch on the flat path: its share of the batch loss (the mean over every
/// window and step of the whole batch, `batch_len` windows), its gradients written into `grads`.
/// Dropout masks come from an RNG seeded with `seed`.
#[allow(clippy::too_many_arguments)]
fn flat_part_step(
    layout: &ParamLayout,
    params: &[f32],
    windows: &impl Batches,
    workspace: &mut Workspace,
    grads: &mut [f32],
    part: &[usize],
    batch_len: usize,
    seed: u64,
) -> f64 {
    let rows: Vec<&[f32]> = part.iter().map(|&j| windows.window(j)).collect();
    workspace.load_input(layout, &rows, windows.seq_len());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let p = layout.config.dropout;
    let keep = 1.0 / (1.0 - p);
    workspace.forward(layout, params, || if rng.random::<f32>() < p { 0.0 } else { keep });
    let targets: Vec<f32> = part.iter().flat_map(|&j| windows.targets_of(j)).copied().collect();
    let horizon = windows.horizon();
    let (loss, gradient) = loss_gradient(
        layout.config.distribution,
        &workspace.output,
        &targets,
        &windows.base_scales_of(part),
        horizon,
        batch_len * horizon,
    );
    workspace.d_output.copy_from_slice(&gradient);
    workspace.backward(layout, params, grads, None);
    loss
}

/// The candle step: autograd through the model's graph, candle's AdamW.
struct GraphLearner<'a, W: Batches> {
    model: &'a StockPredictor,
    windows: &'a W,
    optimizer: AdamW,
    clip_norm: f64,
    runtime: Runtime,
}

impl<W: Batches> GraphLearner<'_, W> {
    fn train_batch(&mut self, batch: &[usize], rng: &mut ChaCha8Rng) -> Result<f64> {
        let (device, workers) = (&self.runtime.device, self.runtime.threads);
        let (loss, mut grads) = batch_gradients(self.model, self.windows, batch, rng, device, workers)?;
        clip_grad_norm(&mut grads, &self.model.vars(), self.clip_norm)?;
        self.optimizer.step(&grads)?;
        Ok(loss)
    }
}

/// The loss (see [`head_loss`]) of the windows in `batch` and its gradients for every parameter, with
/// the batch split over `workers` threads. Each part draws its dropout masks from its own RNG,
/// seeded from `rng` in part order.
pub fn batch_gradients(
    model: &StockPredictor,
    windows: &impl Batches,
    batch: &[usize],
    rng: &mut ChaCha8Rng,
    device: &Device,
    workers: usize,
) -> Result<(f64, GradStore)> {
    let vars = model.vars();
    let parts = split_work(batch, workers);
    let seeds: Vec<u64> = parts.iter().map(|_| rng.random()).collect();
    let results: Vec<Result<(f64, Vec<Tensor>)>> = if parts.len() == 1 {
        vec![part_gradients(model, &vars, windows, parts[0], batch.len(), seeds[0], device)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .iter()
                .zip(&seeds)
                .map(|(part, &seed)| {
                    let vars = &vars;
                    scope.spawn(move || part_gradients(model, vars, windows, part, batch.len(), seed, device))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(candle_core::Error::Msg("a training thread panicked".into())))
                })
                .collect()
        })
    };
    let mut loss = 0.0;
    let mut sums: Option<Vec<Tensor>> = None;
    for result in results {
        let (part_loss, grads) = result?;
        loss += part_loss;
        sums = Some(match sums {
            None => grads,
            Some(acc) => acc.iter().zip(&grads).map(|(a, g)| a + g).collect::<Result<_>>()?,
        });
    }
    let mut store = GradStore::default();
    for (var, grad) in vars.iter().zip(sums.unwrap_or_default()) {
        store.insert(var, grad);
    }
    Ok((loss, store))
}

/// One part's share of the batch loss (the mean over every window and step of the whole batch), and its gradient for every var (zeros where a var does not reach the loss).
fn part_gradients(
    model: &StockPredictor,
    vars: &[Var],
    windows: &impl Batches,
    part: &[usize],
    batch_len: usize,
    seed: u64,
    device: &Device,
) -> Result<(f64, Vec<Tensor>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let inputs = windows.inputs(part, device)?;
    let targets = windows.target_tensor(part, device)?;
    let p = model.config.dropout;
    let (output, _) = model.forward_train(&inputs, |x| dropout(x, p, &mut rng))?;
    let bases = windows.base_scales_of(part);
    let (loss, objective) =
        head_loss(model.config.distribution, &output, &targets, &bases, batch_len * windows.horizon())?;
    let grads = objective.backward()?;
    let per_var = vars
        .iter()
        .map(|v| match grads.get(v) {
            Some(g) => Ok(g.clone()),
            None => v.zeros_like(),
        })
        .collect::<Result<_>>()?;
    Ok((loss, per_var))
}

/// The training loss of a batch part and a scalar tensor whose gradient is the loss's. `output`
/// is the head's raw output (part, outputs × horizon), `targets` (part, horizon), `bases` the
/// windows' base scales (part; empty: 1); the loss is the
/// mean over `denominator` values (the whole batch's windows × horizon) of the squared error
/// (`Distribution::None`) or of the negative log-likelihood. The likelihood and its gradient with
/// respect to the head's outputs are computed by [`batch_nll`]; the returned objective is
/// Σ output · (d loss / d output), a constant-weighted sum whose backward pass carries exactly
/// that gradient into the network.
pub fn head_loss(
    distribution: Distribution,
    output: &Tensor,
    targets: &Tensor,
    bases: &[f32],
    denominator: usize,
) -> Result<(f64, Tensor)> {
    let horizon = targets.dim(1)?;
    let raw = output.flatten_all()?.to_vec1::<f32>()?;
    let targets = targets.flatten_all()?.to_vec1::<f32>()?;
    let (loss, gradient) = loss_gradient(distribution, &raw, &targets, bases, horizon, denominator);
    let weights = Tensor::from_vec(gradient, output.shape(), output.device())?;
    Ok((loss, (output * weights)?.sum_all()?))
}

/// The training loss of a batch part and its gradient with respect to the head's raw outputs
/// `raw` (part, outputs × horizon); `targets` (part, horizon), `bases` the windows' base scales
/// (part; empty: 1). The loss is the mean over `denominator` values (the whole batch's windows ×
/// horizon) of the squared error (`Distribution::None`) or of the negative log-likelihood
/// ([`batch_nll`]).
pub fn loss_gradient(
    distribution: Distribution,
    raw: &[f32],
    targets: &[f32],
    bases: &[f32],
    horizon: usize,
    denominator: usize,
) -> (f64, Vec<f32>) {
    if distribution != Distribution::None {
        return batch_nll(distribution, raw, targets, bases, horizon, denominator);
    }
    let scale = 1.0 / denominator.max(1) as f64;
    let loss = raw.iter().zip(targets).map(|(r, t)| ((r - t) as f64).powi(2)).sum::<f64>() * scale;
    let gradient = raw.iter().zip(targets).map(|(r, t)| (2.0 * (r - t) as f64 * scale) as f32).collect();
    (loss, gradient)
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

/// The model's scaled outputs for the windows in `indices` (up to [`Windows::last_window`], the
/// forecast window), split over `workers` threads. Returns the head's raw outputs, outputs ×
/// horizon values per window (see [`StockPredictor::forward`]), window after window.
pub fn forward_windows(
    model: &StockPredictor,
    windows: &impl Batches,
    indices: &[usize],
    device: &Device,
    workers: usize,
) -> Result<Vec<f32>> {
    if model.path == LstmPath::Fused && device.is_cpu() {
        let layout = ParamLayout::new(&model.config);
        let mut workspaces: Vec<Workspace> = (0..workers.max(1)).map(|_| Workspace::default()).collect();
        return Ok(flat_outputs(&layout, &flat::flatten(model)?, windows, indices, &mut workspaces));
    }
    let run = |part: &[usize]| -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(part.len());
        for chunk in part.chunks(EVAL_CHUNK) {
            let output = model.forward(&windows.inputs(chunk, device)?)?;
            out.extend(output.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(out)
    };
    let parts = split_work(indices, workers);
    if parts.len() <= 1 {
        return run(indices);
    }
    let results: Vec<Result<Vec<f32>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts.iter().map(|part| scope.spawn(move || run(part))).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| Err(candle_core::Error::Msg("a scoring thread panicked".into())))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(indices.len());
    for part in results {
        out.extend(part?);
    }
    Ok(out)
}

/// The training loss of `predicted` (the raw outputs of the windows in `indices`, without
/// dropout): the mean squared error on scaled targets, or the mean negative log-likelihood for a
/// distributional head.
fn validation_loss(
    predicted: &[f32],
    windows: &impl Batches,
    indices: &[usize],
    distribution: Distribution,
) -> f64 {
    let targets: Vec<f32> = indices.iter().flat_map(|&j| windows.targets_of(j)).copied().collect();
    let bases = windows.base_scales_of(indices);
    loss_gradient(distribution, predicted, &targets, &bases, windows.horizon(), targets.len()).0
}

fn snapshot(vars: &[Var]) -> Result<Vec<Tensor>> {
    vars.iter().map(|v| v.as_tensor().copy()).collect()
}

fn restore(vars: &[Var], values: &[Tensor]) -> Result<()> {
    vars.iter().zip(values).try_for_each(|(v, t)| v.set(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Windows;
    use crate::model::ModelConfig;
    use std::collections::HashMap;

    #[test]
    fn work_is_split_into_contiguous_parts_of_useful_size() {
        let idx: Vec<usize> = (0..64).collect();
        let parts = split_work(&idx, 2);
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].len(), parts[1].len()), (32, 32));
        assert_eq!(split_work(&idx[..10], 4).len(), 1); // too few windows to share
        assert_eq!(split_work(&idx, 3).concat(), idx);
        assert_eq!(split_work(&[], 2).len(), 0);
    }

    #[test]
    fn gradients_do_not_depend_on_the_worker_count_beyond_rounding() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let config = ModelConfig {
            input_size: 3,
            hidden_size: 8,
            num_layers: 2,
            horizon: 1,
            dropout: 0.0,
            distribution: Default::default(),
        };
        let model = StockPredictor::init(&config, &mut rng, &Device::Cpu).unwrap();
        let rows = 120;
        let features: Vec<f64> = (0..rows * 3).map(|_| rng.random_range(-1.0..1.0)).collect();
        let returns: Vec<f64> = (0..rows).map(|_| rng.random_range(-1.0..1.0)).collect();
        let windows = Windows::new(&features, 3, &returns, 7, 1);
        let batch: Vec<usize> = (0..64).collect();
        let (loss1, g1) =
            batch_gradients(&model, &windows, &batch, &mut rng.clone(), &Device::Cpu, 1).unwrap();
        let (loss3, g3) =
            batch_gradients(&model, &windows, &batch, &mut rng.clone(), &Device::Cpu, 3).unwrap();
        assert!((loss1 - loss3).abs() < 1e-6 * loss1.abs().max(1.0), "{loss1} vs {loss3}");
        for var in model.vars() {
            let a = g1.get(&var).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let b = g3.get(&var).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
            let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
            assert!(worst <= 1e-5 * scale, "max difference {worst} of {scale}");
        }
    }

    /// A small model and windows over random data, for comparing the two steps.
    fn small_case(distribution: Distribution, dropout: f32) -> (StockPredictor, Windows) {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let config =
            ModelConfig { input_size: 3, hidden_size: 8, num_layers: 2, horizon: 2, dropout, distribution };
        let model = StockPredictor::init(&config, &mut rng, &Device::Cpu).unwrap();
        let rows = 90;
        let features: Vec<f64> = (0..rows * 3).map(|_| rng.random_range(-1.0..1.0)).collect();
        let returns: Vec<f64> = (0..rows).map(|_| rng.random_range(-1.0..1.0)).collect();
        let bases: Vec<f32> = (0..rows).map(|_| rng.random_range(0.5..1.5)).collect();
        (model, Windows::new(&features, 3, &returns, 6, 2).with_base_scales(bases))
    }

    #[test]
    fn the_flat_step_has_the_graph_steps_loss_and_gradients() {
        for distribution in [Distribution::None, Distribution::Normal, Distribution::StudentT] {
            let (model, windows) = small_case(distribution, 0.0);
            let batch: Vec<usize> = (0..40).rev().collect();
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            let (loss, graph) = batch_gradients(&model, &windows, &batch, &mut rng, &Device::Cpu, 1).unwrap();
            let layout = ParamLayout::new(&model.config);
            let params = flat::flatten(&model).unwrap();
            let mut grads = vec![f32::NAN; params.len()];
            let mut workspace = Workspace::default();
            let flat_loss =
                flat_part_step(&layout, &params, &windows, &mut workspace, &mut grads, &batch, 40, 1);
            assert!(
                (loss - flat_loss).abs() < 1e-5 * loss.abs().max(1.0),
                "{distribution:?}: {loss} vs {flat_loss}"
            );
            let mut expected = Vec::new();
            for var in model.vars() {
                expected.extend(graph.get(&var).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap());
            }
            assert_eq!(expected.len(), grads.len());
            let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs()));
            let worst = expected.iter().zip(&grads).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(worst <= 1e-5 * scale, "{distribution:?}: max difference {worst} of {scale}");
        }
    }

    #[test]
    fn flat_training_is_deterministic_for_a_thread_count_and_scores_like_the_graph() {
        let (model, windows) = small_case(Distribution::Normal, 0.2);
        let split = Split { train: (0..60).collect(), val: (60..80).collect() };
        let config = TrainConfig {
            epochs: 3,
            batch_size: 40,
            lr: 1e-2,
            val_fraction: 0.2,
            patience: 10,
            seed: 1,
            clip_norm: 1.0,
            windows_per_epoch: None,
        };
        let runtime = Runtime { device: Device::Cpu, threads: 2 };
        let train = |model: &StockPredictor| {
            let model = model.clone();
            let fresh: HashMap<String, Tensor> = model
                .named_parameters()
                .into_iter()
                .map(|(n, v)| (n, v.as_tensor().copy().unwrap()))
                .collect();
            let model = StockPredictor::from_tensors(&model.config, &fresh).unwrap();
            let outcome =
                fit(&model, &windows, &split, &config, &mut ChaCha8Rng::seed_from_u64(2), &runtime, |_| {})
                    .unwrap();
            (outcome, flat::flatten(&model).unwrap(), model)
        };
        let (first, weights, trained) = train(&model);
        let (second, again, _) = train(&model);
        assert_eq!(
            first.history.iter().map(|e| e.val_loss).collect::<Vec<_>>(),
            second.history.iter().map(|e| e.val_loss).collect::<Vec<_>>()
        );
        assert_eq!(weights, again);
        assert_ne!(weights, flat::flatten(&model).unwrap(), "training changed nothing");
        // The flat scoring path and candle's fused op agree on the trained model.
        let indices: Vec<usize> = (0..80).collect();
        let flat_out = forward_windows(&trained, &windows, &indices, &Device::Cpu, 2).unwrap();
        let graph_out = trained.forward(&windows.inputs(&indices, &Device::Cpu).unwrap()).unwrap();
        let graph_out = graph_out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let worst = flat_out.iter().zip(&graph_out).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-5, "{worst}");
        // One window at a time (predict's batch of one, whose input projection is a product per
        // step) gives the same outputs.
        let one_by_one: Vec<f32> = indices
            .iter()
            .flat_map(|&j| forward_windows(&trained, &windows, &[j], &Device::Cpu, 1).unwrap())
            .collect();
        let worst = one_by_one.iter().zip(&graph_out).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-5, "{worst}");
    }
}
