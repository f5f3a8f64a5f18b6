//! The stacked LSTM, in two interchangeable implementations of PyTorch's equations (gate order
//! i, f, g, o):
//!
//! ```text
//! gates = x_t · W_ihᵀ + b_ih + h_{t-1} · W_hhᵀ + b_hh      (batch, 4·hidden)
//! i = σ(gates[0:H])  f = σ(gates[H:2H])  g = tanh(gates[2H:3H])  o = σ(gates[3H:4H])
//! c_t = f ⊙ c_{t-1} + i ⊙ g        h_t = o ⊙ tanh(c_t)
//! ```
//!
//! - [`LstmPath::Tensor`]: plain candle tensor ops per step, differentiated by candle's autograd.
//!   Runs on any device; it is the reference ("oracle") the fused path is checked against. Steps are
//!   kept as separate tensors (never narrowed out of one big tensor inside the graph, whose
//!   backward would cost O(T²)).
//! - [`LstmPath::Fused`]: the input projection as one matmul over all steps, then the recurrence as
//!   one CPU op with a hand-written backward ([`super::fused`]). The default on CPU.

use super::fused::LstmSequence;
use candle_core::{Result, Tensor, Var};
use candle_nn::ops::sigmoid;

/// Which implementation runs the recurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LstmPath {
    /// The fused CPU op (fast; CPU only).
    Fused,
    /// Per-step tensor ops (any device; the oracle).
    Tensor,
}

/// Training keeps the autograd graph; inference detaches the weights and skips what only
/// backward needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Train,
    Infer,
}

/// One LSTM layer's parameters, with PyTorch's shapes.
#[derive(Debug, Clone)]
pub struct LstmLayer {
    /// (4·hidden, input)
    pub weight_ih: Var,
    /// (4·hidden, hidden)
    pub weight_hh: Var,
    /// (4·hidden)
    pub bias_ih: Var,
    /// (4·hidden)
    pub bias_hh: Var,
}

/// What a stack of layers produced for one batch.
#[derive(Debug)]
pub struct StackOutput {
    /// The last layer's output at every step, (batch, seq, hidden).
    pub sequence: Tensor,
    /// The last layer's output at the last step, (batch, hidden): what the head reads.
    pub last: Tensor,
    /// Final hidden state of each layer, each (batch, hidden).
    pub h_n: Vec<Tensor>,
    /// Final cell state of each layer, each (batch, hidden).
    pub c_n: Vec<Tensor>,
}

/// A parameter as a tensor: tracked in training, detached (no graph) in inference.
pub fn param(var: &Var, mode: Mode) -> Tensor {
    match mode {
        Mode::Train => var.as_tensor().clone(),
        Mode::Infer => var.as_tensor().detach(),
    }
}

impl LstmLayer {
    pub fn hidden_size(&self) -> usize {
        self.weight_hh.dims()[1]
    }

    /// Tensor path: runs the layer over `steps` (T tensors of (batch, input)) from zero state.
    /// Returns the T outputs (batch, hidden) and the final cell state (batch, hidden).
    pub fn forward_steps(&self, steps: &[Tensor], mode: Mode) -> Result<(Vec<Tensor>, Tensor)> {
        let hidden = self.hidden_size();
        let first = steps.first().ok_or_else(|| candle_core::Error::Msg("empty sequence".into()))?;
        let batch = first.dims()[0];
        // (input + hidden, 4·hidden): one matrix product per step.
        let w_ih = param(&self.weight_ih, mode);
        let weight = Tensor::cat(&[&w_ih, &param(&self.weight_hh, mode)], 1)?.t()?.contiguous()?;
        let bias = (param(&self.bias_ih, mode) + param(&self.bias_hh, mode))?.unsqueeze(0)?;
        let mut h = Tensor::zeros((batch, hidden), first.dtype(), first.device())?;
        let mut c = h.clone();
        let mut outputs = Vec::with_capacity(steps.len());
        for x in steps {
            let gates = Tensor::cat(&[x, &h], 1)?.matmul(&weight)?.broadcast_add(&bias)?;
            let i = sigmoid(&gates.narrow(1, 0, hidden)?)?;
            let f = sigmoid(&gates.narrow(1, hidden, hidden)?)?;
            let g = gates.narrow(1, 2 * hidden, hidden)?.tanh()?;
            let o = sigmoid(&gates.narrow(1, 3 * hidden, hidden)?)?;
            c = ((f * &c)? + (i * g)?)?;
            h = (o * c.tanh()?)?;
            outputs.push(h.clone());
        }
        Ok((outputs, c))
    }

    /// Fused path: `input` (batch, seq, input) → h (batch, seq, hidden) and the final cell state
    /// c_n (batch, hidden).
    pub fn forward_fused(&self, input: &Tensor, mode: Mode) -> Result<(Tensor, Tensor)> {
        let (batch, seq, features) = input.dims3()?;
        let hidden = self.hidden_size();
        let bias = (param(&self.bias_ih, mode) + param(&self.bias_hh, mode))?;
        // One GEMM for every step's input projection: (batch·seq, input) · (input, 4H).
        let xproj = input
            .reshape((batch * seq, features))?
            .matmul(&param(&self.weight_ih, mode).t()?)?
            .reshape((batch, seq, 4 * hidden))?;
        let w_hh = param(&self.weight_hh, mode);
        let op = LstmSequence::new(mode == Mode::Train);
        let h = match mode {
            Mode::Train => xproj.apply_op3(&w_hh, &bias, op.clone())?,
            Mode::Infer => xproj.apply_op3_no_bwd(&w_hh, &bias, &op)?,
        };
        let c_n = Tensor::from_vec(op.c_last()?, (batch, hidden), input.device())?;
        Ok((h, c_n))
    }
}

/// Splits a batch-first input (batch, seq, feature) into `seq` tensors of (batch, feature).
pub fn split_steps(input: &Tensor) -> Result<Vec<Tensor>> {
    let seq = input.dims()[1];
    (0..seq).map(|t| input.narrow(1, t, 1)?.squeeze(1)).collect()
}

fn last_step(sequence: &Tensor) -> Result<Tensor> {
    let seq = sequence.dims()[1];
    sequence.narrow(1, seq - 1, 1)?.squeeze(1)
}

/// Runs the stack over `input` (batch, seq, feature) with the chosen implementation.
/// `between_layers` is applied to each layer's output before the next layer (dropout in training;
/// identity otherwise).
pub fn forward_stack(
    layers: &[LstmLayer],
    input: &Tensor,
    path: LstmPath,
    mode: Mode,
    between_layers: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<StackOutput> {
    if input.dims().get(1).copied().unwrap_or(0) == 0 {
        candle_core::bail!("empty sequence");
    }
    match path {
        LstmPath::Fused => forward_stack_fused(layers, input, mode, between_layers),
        LstmPath::Tensor => forward_stack_tensor(layers, input, mode, between_layers),
    }
}

fn forward_stack_fused(
    layers: &[LstmLayer],
    input: &Tensor,
    mode: Mode,
    mut between_layers: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<StackOutput> {
    let (mut x, mut h_n, mut c_n) = (input.clone(), Vec::new(), Vec::new());
    for (k, layer) in layers.iter().enumerate() {
        let (h, c_last) = layer.forward_fused(&x, mode)?;
        h_n.push(last_step(&h)?);
        c_n.push(c_last);
        x = if k + 1 < layers.len() { between_layers(&h)? } else { h };
    }
    Ok(StackOutput { last: last_step(&x)?, sequence: x, h_n, c_n })
}

fn forward_stack_tensor(
    layers: &[LstmLayer],
    input: &Tensor,
    mode: Mode,
    mut between_layers: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<StackOutput> {
    let mut steps = split_steps(input)?;
    let (mut h_n, mut c_n) = (Vec::new(), Vec::new());
    for (k, layer) in layers.iter().enumerate() {
        let (outputs, c_last) = layer.forward_steps(&steps, mode)?;
        h_n.push(outputs[outputs.len() - 1].clone());
        c_n.push(c_last);
        steps = if k + 1 < layers.len() {
            outputs.iter().map(&mut between_layers).collect::<Result<_>>()?
        } else {
            outputs
        };
    }
    let last = steps[steps.len() - 1].clone();
    Ok(StackOutput { sequence: Tensor::stack(&steps, 1)?, last, h_n, c_n })
}
