//! The fast CPU LSTM layer: the whole sequence of one layer as a single candle `CustomOp3`, with a
//! hand-written backward through time. The input projection x·W_ihᵀ for all steps is one ordinary
//! candle matmul before this op (so candle's autograd handles W_ih and the input); this op adds
//! the bias (and returns its gradient, a plain sum, cheaper than candle's broadcast reduction) and
//! does the recurrence.
//!
//! Per step: one GEMM h_{t−1}·W_hhᵀ added to the projected input, then one fused pointwise pass
//! (σ, σ, tanh, σ, c, tanh c, h) that also saves what backward needs. Backward runs the steps in
//! reverse with one fused pointwise pass and one GEMM (dgates·W_hh) per step, then a single GEMM for
//! dW_hh over all steps. Buffers are time-major and allocated once per call, never inside the step
//! loop. The op itself is single-threaded: GEMMs this small (64×64×256) get slower when split, so
//! training uses the cores by splitting the minibatch instead (see `train/mod.rs`). The recurrence
//! and its backward ([`recur_forward`], [`recur_backward`]) are shared with the flat CPU training
//! step (`super::flat`), which calls them on its own reused buffers.

use super::fastmath::{lstm_backward_step, lstm_forward_step, BackwardStep, ForwardStep};
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use std::sync::{Arc, Mutex};

/// C = A·B (+ C when `accumulate`), all f32, with explicit strides (row stride, column stride).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_strides: (usize, usize),
    accumulate: bool,
    lhs: &[f32],
    lhs_strides: (usize, usize),
    rhs: &[f32],
    rhs_strides: (usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.iter_mut().for_each(|v| *v = 0.0);
        }
        return;
    }
    // Bounds: the last element each operand touches must lie inside its slice.
    let last = |rows: usize, cols: usize, (rs, cs): (usize, usize)| (rows - 1) * rs + (cols - 1) * cs;
    assert!(last(m, n, dst_strides) < dst.len() && last(m, k, lhs_strides) < lhs.len());
    assert!(last(k, n, rhs_strides) < rhs.len());
    // SAFETY: the asserts above keep every access in bounds; the slices do not overlap (one is
    // borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_strides.1 as isize,
            dst_strides.0 as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_strides.1 as isize,
            lhs_strides.0 as isize,
            rhs.as_ptr(),
            rhs_strides.1 as isize,
            rhs_strides.0 as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// One layer's activations over a sequence, all time-major: what the forward pass keeps for
/// backward. Reused between calls of the same size without being re-zeroed.
#[derive(Debug, Default)]
pub struct LayerState {
    pub steps: usize,
    pub batch: usize,
    pub hidden: usize,
    /// Pre-activations on entry to [`recur_forward`], activated gates [i | f | g | o] after it,
    /// (steps, batch, 4·hidden).
    pub gates: Vec<f32>,
    /// Cell states, (steps, batch, hidden).
    pub c: Vec<f32>,
    pub tanh_c: Vec<f32>,
    /// Hidden states, (steps, batch, hidden): the layer's output.
    pub h: Vec<f32>,
    /// The zero state before step 0, (batch, hidden).
    zeros: Vec<f32>,
}

impl LayerState {
    /// Sizes the buffers for a call (contents are overwritten by the forward pass).
    pub fn resize(&mut self, steps: usize, batch: usize, hidden: usize) {
        (self.steps, self.batch, self.hidden) = (steps, batch, hidden);
        let cells = steps * batch * hidden;
        self.gates.resize(4 * cells, 0.0);
        for buffer in [&mut self.c, &mut self.tanh_c, &mut self.h] {
            buffer.resize(cells, 0.0);
        }
        self.zeros.clear();
        self.zeros.resize(batch * hidden, 0.0);
    }

    /// Elements of one step of a (steps, batch, hidden) buffer.
    fn step_len(&self) -> usize {
        self.batch * self.hidden
    }

    /// Step `t` of h, (batch, hidden).
    pub fn h_at(&self, t: usize) -> &[f32] {
        &self.h[t * self.step_len()..(t + 1) * self.step_len()]
    }

    /// The last step's cell state, (batch, hidden).
    pub fn c_last(&self) -> &[f32] {
        &self.c[(self.steps - 1) * self.step_len()..self.steps * self.step_len()]
    }

    /// The cell state before step `t`, (batch, hidden): zeros before step 0.
    fn c_before(&self, t: usize) -> &[f32] {
        if t == 0 {
            &self.zeros
        } else {
            &self.c[(t - 1) * self.step_len()..t * self.step_len()]
        }
    }
}

/// Runs the recurrence in place. On entry `state.gates` holds x_t·W_ihᵀ for every step, and
/// `bias` (4H) is b_ih + b_hh, added in the gate pass;
/// `w_hh_t`: W_hhᵀ, (H, 4H) row-major (see [`transpose`]: with this layout the per-step product
/// needs no packing, measured 20 % faster than reading W_hh with strides). Fills the activated
/// gates, c, tanh c and h (see [`LayerState`]).
pub fn recur_forward(state: &mut LayerState, w_hh_t: &[f32], bias: &[f32]) {
    let (n, hd) = (state.batch, state.hidden);
    let h4 = 4 * hd;
    for t in 0..state.steps {
        let step_gates = &mut state.gates[t * n * h4..(t + 1) * n * h4];
        let (h_before, h_now) = state.h.split_at_mut(t * n * hd);
        if t > 0 {
            // gates_t += h_{t−1} · W_hhᵀ: (n, H) · (H, 4H).
            let h_prev = &h_before[(t - 1) * n * hd..];
            gemm(n, h4, hd, step_gates, (h4, 1), true, h_prev, (hd, 1), w_hh_t, (h4, 1));
        }
        let (c_before, c_now) = state.c.split_at_mut(t * n * hd);
        let c_prev = if t > 0 { &c_before[(t - 1) * n * hd..] } else { &state.zeros[..] };
        lstm_forward_step(
            ForwardStep {
                gates: step_gates,
                bias,
                c_prev,
                c: &mut c_now[..n * hd],
                tanh_c: &mut state.tanh_c[t * n * hd..(t + 1) * n * hd],
                h: &mut h_now[..n * hd],
            },
            hd,
        );
    }
}

/// Scratch space of [`recur_backward`], reused between calls.
#[derive(Debug, Default)]
pub struct BackwardScratch {
    /// The gradient reaching h_t, (batch, hidden).
    dh: Vec<f32>,
    /// The gradient reaching c_t, (batch, hidden).
    dc: Vec<f32>,
}

/// Backward through time of the layer whose forward pass left `state`. `dh_above`: (steps, batch,
/// H), the gradient reaching each step's h from above (the next layer or the head). Writes
/// `dgates` (steps, batch, 4H) — the gradient of the pre-activations, so of the projected input
/// and of both biases — and `dw_hh` (4H, H), overwriting both.
pub fn recur_backward(
    state: &LayerState,
    dh_above: &[f32],
    w_hh: &[f32],
    dgates: &mut [f32],
    dw_hh: &mut [f32],
    scratch: &mut BackwardScratch,
) {
    let (n, hd, steps) = (state.batch, state.hidden, state.steps);
    let h4 = 4 * hd;
    let BackwardScratch { dh, dc } = scratch;
    dh.clear();
    dh.resize(n * hd, 0.0);
    dc.clear();
    dc.resize(n * hd, 0.0);
    for t in (0..steps).rev() {
        // dh_t = (gradient from above) + (gradient from step t+1), in place in dh.
        let from_above = &dh_above[t * n * hd..(t + 1) * n * hd];
        dh.iter_mut().zip(from_above).for_each(|(a, g)| *a += g);
        let step_dgates = &mut dgates[t * n * h4..(t + 1) * n * h4];
        lstm_backward_step(
            BackwardStep {
                gates: &state.gates[t * n * h4..(t + 1) * n * h4],
                c_prev: state.c_before(t),
                tanh_c: &state.tanh_c[t * n * hd..(t + 1) * n * hd],
                dh,
                dc,
                dgates: step_dgates,
            },
            hd,
        );
        // dh_{t−1} = dgates_t · W_hh: (n, 4H) · (4H, H).
        gemm(n, hd, h4, dh, (hd, 1), false, step_dgates, (h4, 1), w_hh, (hd, 1));
    }
    // dW_hh = Σ_{t≥1} dgates_tᵀ · h_{t−1}: one GEMM over all steps, (4H, (T−1)·n) · ((T−1)·n, H).
    let k = (steps - 1) * n;
    gemm(h4, hd, k, dw_hh, (hd, 1), false, &dgates[n * h4..], (1, h4), &state.h, (hd, 1));
}

/// `dst` = the transpose of `src`, a (rows, cols) row-major matrix.
pub fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut Vec<f32>) {
    dst.resize(rows * cols, 0.0);
    for (r, row) in src.chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            dst[c * rows + r] = v;
        }
    }
}

/// Copies between batch-major (batch, steps, width) and time-major (steps, batch, width).
pub fn to_time_major(src: &[f32], dst: &mut [f32], batch: usize, steps: usize, width: usize) {
    for b in 0..batch {
        for t in 0..steps {
            dst[(t * batch + b) * width..][..width].copy_from_slice(&src[(b * steps + t) * width..][..width]);
        }
    }
}

/// The inverse of [`to_time_major`].
pub fn to_batch_major(src: &[f32], dst: &mut [f32], batch: usize, steps: usize, width: usize) {
    for b in 0..batch {
        for t in 0..steps {
            dst[(b * steps + t) * width..][..width].copy_from_slice(&src[(t * batch + b) * width..][..width]);
        }
    }
}

/// Adds each `width`-wide row of `rows` into `sums` (which is overwritten first).
pub fn column_sums(rows: &[f32], sums: &mut [f32]) {
    sums.fill(0.0);
    for row in rows.chunks_exact(sums.len()) {
        sums.iter_mut().zip(row).for_each(|(a, g)| *a += g);
    }
}

/// State shared between an [`LstmSequence`] op inside the graph and its caller.
#[derive(Debug, Default)]
struct Shared {
    /// The forward pass's activations, kept for backward (training only).
    saved: Option<LayerState>,
    /// The last step's cell state, (batch, hidden): c_n, which is not an output of the op.
    c_last: Vec<f32>,
}

/// One LSTM layer's recurrence over a whole sequence, as a candle op.
///
/// Inputs: the projected input x·W_ihᵀ (batch, steps, 4H) without bias, W_hh (4H, H) and the
/// summed bias b_ih + b_hh (4H), all f32. Output: h for every step, (batch, steps, H). Zero initial
/// state. The final cell state is available from [`LstmSequence::c_last`] after the forward pass.
#[derive(Debug, Clone)]
pub struct LstmSequence {
    save_for_backward: bool,
    shared: Arc<Mutex<Shared>>,
}

impl LstmSequence {
    /// `save_for_backward`: keep the activations (training); inference skips it.
    pub fn new(save_for_backward: bool) -> Self {
        LstmSequence { save_for_backward, shared: Arc::default() }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Shared>> {
        self.shared.lock().map_err(|_| candle_core::Error::Msg("lstm-sequence: poisoned lock".into()))
    }

    /// The final cell state (batch, hidden) of the last forward pass, flattened.
    pub fn c_last(&self) -> Result<Vec<f32>> {
        Ok(self.lock()?.c_last.clone())
    }
}

fn f32_slice<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("lstm-sequence needs contiguous inputs"),
    }
}

impl CustomOp3 for LstmSequence {
    fn name(&self) -> &'static str {
        "lstm-sequence"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (batch, steps, h4) = l1.shape().dims3()?;
        let (w_rows, hidden) = l2.shape().dims2()?;
        if h4 != 4 * hidden || w_rows != h4 || l3.shape().elem_count() != h4 || steps == 0 {
            candle_core::bail!(
                "lstm-sequence: shapes {:?}, {:?}, {:?} do not fit",
                l1.dims(),
                l2.dims(),
                l3.dims()
            );
        }
        let (xproj, w_hh, bias) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?, f32_slice(s3, l3)?);
        let mut state = LayerState::default();
        state.resize(steps, batch, hidden);
        to_time_major(xproj, &mut state.gates, batch, steps, h4);
        let mut w_hh_t = Vec::new();
        transpose(w_hh, h4, hidden, &mut w_hh_t);
        recur_forward(&mut state, &w_hh_t, bias);
        let mut out = vec![0f32; batch * steps * hidden];
        to_batch_major(&state.h, &mut out, batch, steps, hidden);
        let mut shared = self.lock()?;
        shared.c_last = state.c_last().to_vec();
        shared.saved = self.save_for_backward.then_some(state);
        Ok((CpuStorage::F32(out), Shape::from((batch, steps, hidden))))
    }

    fn bwd(
        &self,
        xproj: &Tensor,
        w_hh: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let state = self.lock()?.saved.take().ok_or_else(|| {
            candle_core::Error::Msg("lstm-sequence: backward without a saved forward".into())
        })?;
        let (batch, steps, h4) = xproj.dims3()?;
        let hidden = h4 / 4;
        let mut dh_above = vec![0f32; batch * steps * hidden];
        to_time_major(&grad_res.flatten_all()?.to_vec1::<f32>()?, &mut dh_above, batch, steps, hidden);
        let w = w_hh.flatten_all()?.to_vec1::<f32>()?;
        let mut dgates = vec![0f32; steps * batch * h4];
        let mut dw = vec![0f32; h4 * hidden];
        recur_backward(&state, &dh_above, &w, &mut dgates, &mut dw, &mut BackwardScratch::default());
        let mut dxproj = vec![0f32; batch * steps * h4];
        to_batch_major(&dgates, &mut dxproj, batch, steps, h4);
        let mut dbias = vec![0f32; h4];
        column_sums(&dgates, &mut dbias);
        let dxproj = Tensor::from_vec(dxproj, (batch, steps, h4), xproj.device())?;
        let dw = Tensor::from_vec(dw, (h4, hidden), w_hh.device())?;
        let dbias = Tensor::from_vec(dbias, bias.shape(), bias.device())?;
        Ok((Some(dxproj), Some(dw), Some(dbias)))
    }
}
