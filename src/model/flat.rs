//! The network's forward and backward pass on CPU without candle's graph: the training step.
//!
//! The parameters live in one flat buffer in state_dict order ([`ParamLayout`]), and so do their
//! gradients, so that clipping and Adam are single passes over one slice. Every buffer of a pass
//! lives in a [`Workspace`] that is sized once and reused batch after batch: nothing is
//! allocated (and no fresh memory zeroed and faulted in) inside the training loop. Activations are
//! time-major, (steps, batch, width), from the gathered input to the last layer, so that each
//! layer's input projection is one GEMM over all steps and no tensor is ever transposed.
//!
//! Per layer: x·W_ihᵀ for all steps (one GEMM), then the recurrence of
//! [`super::fused`] (which adds b_ih + b_hh in its gate pass); dropout between layers; the linear heads read the last step of the last
//! layer. Backward mirrors it: the heads' gradients, then per layer from the top the recurrence's
//! backward, dW_ih = dgatesᵀ·x and db = Σ dgates (one pass each over all steps), and
//! dx = dgates·W_ih for the layer below. The equations are those of [`super::lstm`]; the golden
//! test checks this path against PyTorch like the other two.

use super::fused::{
    column_sums, gemm, recur_backward, recur_forward, transpose, BackwardScratch, LayerState,
};
use super::{parameter_shapes, ModelConfig, StockPredictor};
use candle_core::{Result, Tensor};
use std::ops::Range;

/// Where each parameter lies in a flat buffer: state_dict order (see [`parameter_shapes`]).
#[derive(Debug, Clone)]
pub struct ParamLayout {
    pub config: ModelConfig,
    ranges: Vec<Range<usize>>,
}

/// One LSTM layer's parameter ranges.
struct LayerRanges {
    w_ih: Range<usize>,
    w_hh: Range<usize>,
    b_ih: Range<usize>,
    b_hh: Range<usize>,
}

impl ParamLayout {
    pub fn new(config: &ModelConfig) -> ParamLayout {
        let mut ranges = Vec::new();
        let mut start = 0;
        for (_, shape) in parameter_shapes(config) {
            let len: usize = shape.iter().product();
            ranges.push(start..start + len);
            start += len;
        }
        ParamLayout { config: config.clone(), ranges }
    }

    /// Values in a flat buffer.
    pub fn len(&self) -> usize {
        self.ranges.last().map_or(0, |r| r.end)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn layer(&self, k: usize) -> LayerRanges {
        let r = &self.ranges[4 * k..4 * k + 4];
        LayerRanges { w_ih: r[0].clone(), w_hh: r[1].clone(), b_ih: r[2].clone(), b_hh: r[3].clone() }
    }

    /// Head `o`'s weight (horizon, hidden) and bias (horizon) ranges, in output order.
    fn head(&self, o: usize) -> (Range<usize>, Range<usize>) {
        let first = 4 * self.config.num_layers + 2 * o;
        (self.ranges[first].clone(), self.ranges[first + 1].clone())
    }

    fn outputs(&self) -> usize {
        self.config.distribution.outputs()
    }
}

/// The model's parameters as one flat buffer (see [`ParamLayout`]).
pub fn flatten(model: &StockPredictor) -> Result<Vec<f32>> {
    let mut values = Vec::new();
    for (_, var) in model.named_parameters() {
        values.extend(var.as_tensor().flatten_all()?.to_vec1::<f32>()?);
    }
    Ok(values)
}

/// Sets the model's parameters from a flat buffer (see [`ParamLayout`]).
pub fn write_back(model: &StockPredictor, layout: &ParamLayout, values: &[f32]) -> Result<()> {
    for ((_, var), range) in model.named_parameters().into_iter().zip(&layout.ranges) {
        var.set(&Tensor::from_slice(&values[range.clone()], var.shape(), var.device())?)?;
    }
    Ok(())
}

/// Every buffer of one forward and backward pass, reused between batches.
#[derive(Debug, Default)]
pub struct Workspace {
    steps: usize,
    batch: usize,
    /// The gathered windows, (steps, batch, input_size).
    input: Vec<f32>,
    /// Each layer's activations.
    layers: Vec<LayerState>,
    /// Per layer but the last, with dropout: the keep factors (0 or 1/(1−p)) of its output and the
    /// output times them, the next layer's input; (steps, batch, hidden) each.
    masks: Vec<Vec<f32>>,
    dropped: Vec<Vec<f32>>,
    /// The heads' raw outputs (batch, outputs × horizon) and their gradient.
    pub output: Vec<f32>,
    pub d_output: Vec<f32>,
    /// b_ih + b_hh of the layer being run, (4·hidden).
    bias: Vec<f32>,
    /// W_hhᵀ of the layer being run, (hidden, 4·hidden) (see [`recur_forward`]).
    w_hh_t: Vec<f32>,
    /// The gradient reaching the current layer's h from above, (steps, batch, hidden).
    dh_above: Vec<f32>,
    /// The current layer's gate gradients, (steps, batch, 4·hidden).
    dgates: Vec<f32>,
    scratch: BackwardScratch,
}

impl Workspace {
    /// Gathers `windows` (each seq × input_size, batch-major rows of one window) as the input,
    /// time-major, and sizes every buffer for this batch.
    pub fn load_input(&mut self, layout: &ParamLayout, windows: &[&[f32]], steps: usize) {
        let c = &layout.config;
        let (batch, width, hidden) = (windows.len(), c.input_size, c.hidden_size);
        (self.steps, self.batch) = (steps, batch);
        self.input.resize(steps * batch * width, 0.0);
        for (b, window) in windows.iter().enumerate() {
            for t in 0..steps {
                self.input[(t * batch + b) * width..][..width].copy_from_slice(&window[t * width..][..width]);
            }
        }
        self.layers.resize_with(c.num_layers, LayerState::default);
        for state in &mut self.layers {
            state.resize(steps, batch, hidden);
        }
        let cells = steps * batch * hidden;
        self.output.resize(batch * layout.outputs() * c.horizon, 0.0);
        self.d_output.resize(self.output.len(), 0.0);
        self.dh_above.resize(cells, 0.0);
        self.dgates.resize(4 * cells, 0.0);
        let between = if c.dropout > 0.0 { c.num_layers.saturating_sub(1) } else { 0 };
        for buffers in [&mut self.masks, &mut self.dropped] {
            buffers.resize_with(between, Vec::new);
            buffers.iter_mut().for_each(|b| b.resize(cells, 0.0));
        }
    }

    /// The input of layer `k`, (steps, batch, width): the gathered windows, or the layer below's
    /// output after dropout.
    fn layer_input(&self, k: usize) -> &[f32] {
        match k {
            0 => &self.input,
            _ if self.dropped.is_empty() => &self.layers[k - 1].h,
            _ => &self.dropped[k - 1],
        }
    }

    /// The forward pass over the loaded input: fills [`Workspace::output`]. `keep`: draws the
    /// dropout keep factor of each element of the layers' outputs (called only with dropout).
    pub fn forward(&mut self, layout: &ParamLayout, params: &[f32], mut keep: impl FnMut() -> f32) {
        let c = &layout.config;
        let (steps, batch, hidden) = (self.steps, self.batch, c.hidden_size);
        let h4 = 4 * hidden;
        for k in 0..c.num_layers {
            let r = layout.layer(k);
            let width = if k == 0 { c.input_size } else { hidden };
            let mut state = std::mem::take(&mut self.layers[k]);
            self.bias.clear();
            self.bias.extend(params[r.b_ih.clone()].iter().zip(&params[r.b_hh.clone()]).map(|(a, b)| a + b));
            // The input projection of every step, x·W_ihᵀ (the bias is added in the gate pass).
            let x = self.layer_input(k);
            let w_ih = &params[r.w_ih];
            if batch == 1 {
                // One window (predict): a product per step takes gemm's matrix-vector path, which
                // skips the cache probe of its first matrix product (about 80 sysfs reads, ~1 ms).
                for (gates, x) in state.gates.chunks_exact_mut(h4).zip(x.chunks_exact(width)).take(steps) {
                    gemm(1, h4, width, gates, (h4, 1), false, x, (width, 1), w_ih, (1, width));
                }
            } else {
                gemm(
                    steps * batch,
                    h4,
                    width,
                    &mut state.gates,
                    (h4, 1),
                    false,
                    x,
                    (width, 1),
                    w_ih,
                    (1, width),
                );
            }
            transpose(&params[r.w_hh], h4, hidden, &mut self.w_hh_t);
            recur_forward(&mut state, &self.w_hh_t, &self.bias);
            if k < self.dropped.len() {
                for ((m, d), h) in self.masks[k].iter_mut().zip(&mut self.dropped[k]).zip(&state.h) {
                    *m = keep();
                    *d = h * *m;
                }
            }
            self.layers[k] = state;
        }
        let last = self.layers[c.num_layers - 1].h_at(steps - 1);
        let (horizon, width) = (c.horizon, layout.outputs() * c.horizon);
        for o in 0..layout.outputs() {
            let (w, b) = layout.head(o);
            for row in self.output.chunks_exact_mut(width) {
                row[o * horizon..(o + 1) * horizon].copy_from_slice(&params[b.clone()]);
            }
            let dst = &mut self.output[o * horizon..];
            gemm(batch, horizon, hidden, dst, (width, 1), true, last, (hidden, 1), &params[w], (1, hidden));
        }
    }

    /// The backward pass after [`Workspace::forward`], from [`Workspace::d_output`] (the loss's
    /// gradient with respect to the outputs): writes every parameter's gradient into `grads`
    /// (same layout as the parameters, overwritten) and, when asked, the input's gradient
    /// (steps, batch, input_size) into `d_input`.
    pub fn backward(
        &mut self,
        layout: &ParamLayout,
        params: &[f32],
        grads: &mut [f32],
        d_input: Option<&mut [f32]>,
    ) {
        let c = &layout.config;
        let (steps, batch, hidden) = (self.steps, self.batch, c.hidden_size);
        let (h4, rows) = (4 * hidden, steps * batch);
        let (horizon, width) = (c.horizon, layout.outputs() * c.horizon);
        self.dh_above.fill(0.0);
        let last = self.layers[c.num_layers - 1].h_at(steps - 1);
        let d_last = &mut self.dh_above[(steps - 1) * batch * hidden..];
        for o in 0..layout.outputs() {
            let (w, b) = layout.head(o);
            let d_out = &self.d_output[o * horizon..];
            // dW = d_outᵀ · last: (horizon, batch) · (batch, hidden); db = Σ_batch d_out.
            gemm(
                horizon,
                hidden,
                batch,
                &mut grads[w.clone()],
                (hidden, 1),
                false,
                d_out,
                (1, width),
                last,
                (hidden, 1),
            );
            let db = &mut grads[b];
            db.fill(0.0);
            for row in self.d_output.chunks_exact(width) {
                db.iter_mut().zip(&row[o * horizon..]).for_each(|(a, g)| *a += g);
            }
            // d_last += d_out · W: (batch, horizon) · (horizon, hidden).
            gemm(
                batch,
                hidden,
                horizon,
                d_last,
                (hidden, 1),
                true,
                d_out,
                (width, 1),
                &params[w],
                (hidden, 1),
            );
        }
        let mut d_input = d_input;
        for k in (0..c.num_layers).rev() {
            let r = layout.layer(k);
            let in_width = if k == 0 { c.input_size } else { hidden };
            recur_backward(
                &self.layers[k],
                &self.dh_above,
                &params[r.w_hh.clone()],
                &mut self.dgates,
                &mut grads[r.w_hh],
                &mut self.scratch,
            );
            column_sums(&self.dgates, &mut grads[r.b_ih.clone()]);
            grads.copy_within(r.b_ih.clone(), r.b_hh.start);
            // dW_ih = dgatesᵀ · x: (4H, rows) · (rows, input).
            let x = self.layer_input(k);
            gemm(
                h4,
                in_width,
                rows,
                &mut grads[r.w_ih.clone()],
                (in_width, 1),
                false,
                &self.dgates,
                (1, h4),
                x,
                (in_width, 1),
            );
            // dx = dgates · W_ih: (rows, 4H) · (4H, input): the gradient reaching the layer below.
            let w_ih = &params[r.w_ih];
            if k > 0 {
                gemm(
                    rows,
                    hidden,
                    h4,
                    &mut self.dh_above,
                    (hidden, 1),
                    false,
                    &self.dgates,
                    (h4, 1),
                    w_ih,
                    (hidden, 1),
                );
                if let Some(mask) = self.masks.get(k - 1) {
                    self.dh_above.iter_mut().zip(mask).for_each(|(d, m)| *d *= m);
                }
            } else if let Some(d_input) = d_input.as_deref_mut() {
                gemm(
                    rows,
                    in_width,
                    h4,
                    d_input,
                    (in_width, 1),
                    false,
                    &self.dgates,
                    (h4, 1),
                    w_ih,
                    (in_width, 1),
                );
            }
        }
    }
}
