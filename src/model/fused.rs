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
//! training uses the cores by splitting the minibatch instead (see `train.rs`).

use super::fastmath::{lstm_backward_step, lstm_forward_step, BackwardStep, ForwardStep};
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use std::sync::{Arc, Mutex};

/// C = A·B (+ C when `accumulate`), all f32, with explicit strides (row stride, column stride).
#[allow(clippy::too_many_arguments)]
fn gemm(
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

/// Sizes of one call.
#[derive(Debug, Clone, Copy)]
struct Dims {
    steps: usize,
    hidden: usize,
}

/// What the forward pass keeps for backward, all time-major.
#[derive(Debug)]
struct Cache {
    batch: usize,
    /// Activated gates [i | f | g | o], (steps, rows, 4·hidden).
    gates: Vec<f32>,
    /// Cell states, (steps, rows, hidden).
    c: Vec<f32>,
    tanh_c: Vec<f32>,
    /// Hidden states, (steps, rows, hidden).
    h: Vec<f32>,
}

impl Cache {
    /// The last step's cell state, (batch, hidden).
    fn c_last(&self, d: Dims) -> &[f32] {
        &self.c[(d.steps - 1) * self.batch * d.hidden..]
    }
}

/// Runs the recurrence. `xproj`: (batch, steps, 4H) batch-major, without bias; `w_hh`: (4H, H);
/// `bias`: (4H). Returns the saved state.
fn forward(xproj: &[f32], w_hh: &[f32], bias: &[f32], d: Dims, batch: usize) -> Cache {
    let (n, h4, hd) = (batch, 4 * d.hidden, d.hidden);
    let mut gates = vec![0f32; d.steps * n * h4];
    for b in 0..n {
        for t in 0..d.steps {
            let src = &xproj[(b * d.steps + t) * h4..][..h4];
            let dst = &mut gates[(t * n + b) * h4..][..h4];
            dst.iter_mut().zip(src.iter().zip(bias)).for_each(|(g, (x, b))| *g = x + b);
        }
    }
    let mut c = vec![0f32; d.steps * n * hd];
    let mut tanh_c = vec![0f32; d.steps * n * hd];
    let mut h = vec![0f32; d.steps * n * hd];
    let zeros = vec![0f32; n * hd];
    for t in 0..d.steps {
        let step_gates = &mut gates[t * n * h4..(t + 1) * n * h4];
        let (h_before, h_now) = h.split_at_mut(t * n * hd);
        if t > 0 {
            // gates_t += h_{t−1} · W_hhᵀ: (n, H) · (H, 4H); W_hhᵀ[k, j] = W_hh[j, k].
            let h_prev = &h_before[(t - 1) * n * hd..];
            gemm(n, h4, hd, step_gates, (h4, 1), true, h_prev, (hd, 1), w_hh, (1, hd));
        }
        let (c_before, c_now) = c.split_at_mut(t * n * hd);
        let c_prev = if t > 0 { &c_before[(t - 1) * n * hd..] } else { &zeros[..] };
        lstm_forward_step(
            ForwardStep {
                gates: step_gates,
                c_prev,
                c: &mut c_now[..n * hd],
                tanh_c: &mut tanh_c[t * n * hd..(t + 1) * n * hd],
                h: &mut h_now[..n * hd],
            },
            hd,
        );
    }
    Cache { batch, gates, c, tanh_c, h }
}

/// Backward through time. `grad_out`: (batch, steps, H), the gradient of the op's output h.
/// Returns dgates (steps, batch, 4H) — the gradient of both the projected input and the bias —
/// and dW_hh (4H, H).
fn backward(cache: &Cache, grad_out: &[f32], w_hh: &[f32], d: Dims) -> (Vec<f32>, Vec<f32>) {
    let (n, h4, hd) = (cache.batch, 4 * d.hidden, d.hidden);
    let mut dgates = vec![0f32; d.steps * n * h4];
    let mut dh_next = vec![0f32; n * hd];
    let mut dc = vec![0f32; n * hd];
    let zeros = vec![0f32; n * hd];
    for t in (0..d.steps).rev() {
        // dh_t = (gradient from above) + (gradient from step t+1), in place in dh_next.
        for b in 0..n {
            let from_above = &grad_out[(b * d.steps + t) * hd..][..hd];
            dh_next[b * hd..(b + 1) * hd].iter_mut().zip(from_above).for_each(|(a, g)| *a += g);
        }
        let c_prev = if t > 0 { &cache.c[(t - 1) * n * hd..t * n * hd] } else { &zeros[..] };
        let step_dgates = &mut dgates[t * n * h4..(t + 1) * n * h4];
        lstm_backward_step(
            BackwardStep {
                gates: &cache.gates[t * n * h4..(t + 1) * n * h4],
                c_prev,
                tanh_c: &cache.tanh_c[t * n * hd..(t + 1) * n * hd],
                dh: &dh_next,
                dc: &mut dc,
                dgates: step_dgates,
            },
            hd,
        );
        // dh_{t−1} = dgates_t · W_hh: (n, 4H) · (4H, H).
        gemm(n, hd, h4, &mut dh_next, (hd, 1), false, step_dgates, (h4, 1), w_hh, (hd, 1));
    }
    // dW_hh = Σ_{t≥1} dgates_tᵀ · h_{t−1}: one GEMM over all steps, (4H, (T−1)·n) · ((T−1)·n, H).
    let mut dw = vec![0f32; h4 * hd];
    let k = (d.steps - 1) * n;
    gemm(h4, hd, k, &mut dw, (hd, 1), false, &dgates[n * h4..], (1, h4), &cache.h, (hd, 1));
    (dgates, dw)
}

/// State shared between an [`LstmSequence`] op inside the graph and its caller.
#[derive(Debug, Default)]
struct Shared {
    /// The forward pass's activations, kept for backward (training only).
    saved: Option<Cache>,
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
        let d = Dims { steps, hidden };
        let cache = forward(xproj, w_hh, bias, d, batch);
        let mut out = vec![0f32; batch * steps * hidden];
        for b in 0..batch {
            for t in 0..steps {
                let src = (t * batch + b) * hidden;
                out[(b * steps + t) * hidden..][..hidden].copy_from_slice(&cache.h[src..src + hidden]);
            }
        }
        let mut shared = self.lock()?;
        shared.c_last = cache.c_last(d).to_vec();
        shared.saved = self.save_for_backward.then_some(cache);
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
        let cache = self.lock()?.saved.take().ok_or_else(|| {
            candle_core::Error::Msg("lstm-sequence: backward without a saved forward".into())
        })?;
        let (batch, steps, h4) = xproj.dims3()?;
        let hidden = h4 / 4;
        let d = Dims { steps, hidden };
        let grad = grad_res.flatten_all()?.to_vec1::<f32>()?;
        let w = w_hh.flatten_all()?.to_vec1::<f32>()?;
        let (dgates, dw) = backward(&cache, &grad, &w, d);
        let mut dxproj = vec![0f32; batch * steps * h4];
        for b in 0..batch {
            for t in 0..steps {
                let src = &dgates[(t * batch + b) * h4..][..h4];
                dxproj[(b * steps + t) * h4..][..h4].copy_from_slice(src);
            }
        }
        let mut dbias = vec![0f32; h4];
        for row in dgates.chunks_exact(h4) {
            dbias.iter_mut().zip(row).for_each(|(a, g)| *a += g);
        }
        let dxproj = Tensor::from_vec(dxproj, (batch, steps, h4), xproj.device())?;
        let dw = Tensor::from_vec(dw, (h4, hidden), w_hh.device())?;
        let dbias = Tensor::from_vec(dbias, bias.shape(), bias.device())?;
        Ok((Some(dxproj), Some(dw), Some(dbias)))
    }
}
