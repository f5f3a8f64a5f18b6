//! The stacked LSTM as plain candle tensor ops: runs on any candle device and gives gradients by
//! candle's autograd. This is the reference ("oracle") path that the golden test checks against
//! PyTorch's `nn.LSTM`.
//!
//! Per layer and time step, PyTorch's equations with gate order i, f, g, o:
//!
//! ```text
//! gates = [x_t, h_{t-1}] · [W_ih, W_hh]ᵀ + b_ih + b_hh      (batch, 4·hidden)
//! i = σ(gates[0:H])  f = σ(gates[H:2H])  g = tanh(gates[2H:3H])  o = σ(gates[3H:4H])
//! c_t = f ⊙ c_{t-1} + i ⊙ g        h_t = o ⊙ tanh(c_t)
//! ```
//!
//! The input and hidden state are concatenated so that each step is one matrix product. Steps are
//! kept as separate tensors (never narrowed out of one big tensor inside the graph, whose backward
//! would cost O(T²)).

use candle_core::{Result, Tensor, Var};
use candle_nn::ops::sigmoid;

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
    /// The last layer's output at every step, each (batch, hidden).
    pub sequence: Vec<Tensor>,
    /// Final hidden state of each layer, each (batch, hidden).
    pub h_n: Vec<Tensor>,
    /// Final cell state of each layer, each (batch, hidden).
    pub c_n: Vec<Tensor>,
}

impl LstmLayer {
    pub fn hidden_size(&self) -> usize {
        self.weight_hh.dims()[1]
    }

    /// Runs the layer over a sequence from zero initial state.
    ///
    /// `steps`: T tensors of (batch, input). Returns the T outputs (batch, hidden) and the final
    /// cell state (batch, hidden).
    pub fn forward(&self, steps: &[Tensor]) -> Result<(Vec<Tensor>, Tensor)> {
        let hidden = self.hidden_size();
        let first = steps.first().ok_or_else(|| candle_core::Error::Msg("empty sequence".into()))?;
        let batch = first.dims()[0];
        // (input + hidden, 4·hidden): one matrix for the whole step.
        let weight =
            Tensor::cat(&[self.weight_ih.as_tensor(), self.weight_hh.as_tensor()], 1)?.t()?.contiguous()?;
        let bias = (self.bias_ih.as_tensor() + self.bias_hh.as_tensor())?.unsqueeze(0)?;
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
}

/// Splits a batch-first input (batch, seq, feature) into `seq` tensors of (batch, feature).
pub fn split_steps(input: &Tensor) -> Result<Vec<Tensor>> {
    let seq = input.dims()[1];
    (0..seq).map(|t| input.narrow(1, t, 1)?.squeeze(1)).collect()
}

/// Runs the stack of layers over `input` (batch, seq, feature). `between_layers` is applied to each
/// layer's outputs before the next layer (dropout in training; identity otherwise).
pub fn forward_stack(
    layers: &[LstmLayer],
    input: &Tensor,
    mut between_layers: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<StackOutput> {
    let mut steps = split_steps(input)?;
    let mut h_n = Vec::with_capacity(layers.len());
    let mut c_n = Vec::with_capacity(layers.len());
    for (k, layer) in layers.iter().enumerate() {
        let (outputs, c_last) = layer.forward(&steps)?;
        h_n.push(outputs.last().cloned().ok_or_else(|| candle_core::Error::Msg("empty sequence".into()))?);
        c_n.push(c_last);
        steps = if k + 1 < layers.len() {
            outputs.iter().map(&mut between_layers).collect::<Result<_>>()?
        } else {
            outputs
        };
    }
    Ok(StackOutput { sequence: steps, h_n, c_n })
}
