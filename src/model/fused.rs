//! The fast CPU LSTM layer: the whole sequence of one layer as a single candle `CustomOp2`, with a
//! hand-written backward through time. The input projection x·W_ihᵀ + b_ih + b_hh for all steps is
//! one ordinary candle matmul before this op (so candle's autograd handles W_ih, the biases and the
//! input); this op does the recurrence.
//!
//! Per step: one GEMM h_{t−1}·W_hhᵀ added to the projected input, then one fused pointwise pass
//! (σ, σ, tanh, σ, c, tanh c, h) that also saves what backward needs. Backward runs the steps in
//! reverse with one fused pointwise pass and one GEMM (dgates·W_hh) per step, then a single GEMM for
//! dW_hh over all steps. Buffers are time-major and allocated once per call, never inside the step
//! loop. The batch is split into row chunks run on separate threads (each row's recurrence is
//! independent), which beats splitting these small GEMMs; per-chunk dW_hh are summed in chunk
//! order, so results do not depend on scheduling.

use super::fastmath::{lstm_backward_step, lstm_forward_step, BackwardStep, ForwardStep};
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::Mutex;

/// Fewest batch rows worth a thread of their own.
const MIN_ROWS_PER_THREAD: usize = 16;

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

/// What the forward pass of one chunk of batch rows keeps for backward, all time-major.
#[derive(Debug)]
struct ChunkCache {
    rows: Range<usize>,
    /// Activated gates [i | f | g | o], (steps, rows, 4·hidden).
    gates: Vec<f32>,
    /// Cell states, (steps, rows, hidden).
    c: Vec<f32>,
    tanh_c: Vec<f32>,
    /// Hidden states, (steps, rows, hidden).
    h: Vec<f32>,
}

/// Runs the recurrence for rows `rows` of the batch. `xproj`: (batch, steps, 4H) batch-major;
/// `w_hh`: (4H, H). Returns the chunk's saved state.
fn forward_chunk(xproj: &[f32], w_hh: &[f32], d: Dims, rows: Range<usize>) -> ChunkCache {
    let (n, h4, hd) = (rows.len(), 4 * d.hidden, d.hidden);
    let mut gates = vec![0f32; d.steps * n * h4];
    for (r, b) in rows.clone().enumerate() {
        for t in 0..d.steps {
            let src = &xproj[(b * d.steps + t) * h4..][..h4];
            gates[(t * n + r) * h4..][..h4].copy_from_slice(src);
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
    ChunkCache { rows, gates, c, tanh_c, h }
}

/// Backward through time for one chunk. `grad_out`: (batch, steps, 2H) gradients of the op's
/// output [h | c]. Returns dxproj for the chunk's rows (steps, rows, 4H) and the chunk's dW_hh.
fn backward_chunk(cache: &ChunkCache, grad_out: &[f32], w_hh: &[f32], d: Dims) -> (Vec<f32>, Vec<f32>) {
    let (n, h4, hd) = (cache.rows.len(), 4 * d.hidden, d.hidden);
    let mut dgates = vec![0f32; d.steps * n * h4];
    let mut dh_next = vec![0f32; n * hd];
    let mut dh = vec![0f32; n * hd];
    let mut dc = vec![0f32; n * hd];
    let zeros = vec![0f32; n * hd];
    for t in (0..d.steps).rev() {
        for (r, b) in cache.rows.clone().enumerate() {
            let g = &grad_out[(b * d.steps + t) * 2 * hd..][..2 * hd];
            for j in 0..hd {
                dh[r * hd + j] = g[j] + dh_next[r * hd + j];
                dc[r * hd + j] += g[hd + j];
            }
        }
        let c_prev = if t > 0 { &cache.c[(t - 1) * n * hd..t * n * hd] } else { &zeros[..] };
        let step_dgates = &mut dgates[t * n * h4..(t + 1) * n * h4];
        lstm_backward_step(
            BackwardStep {
                gates: &cache.gates[t * n * h4..(t + 1) * n * h4],
                c_prev,
                tanh_c: &cache.tanh_c[t * n * hd..(t + 1) * n * hd],
                dh: &dh,
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

/// The batch rows each thread takes.
fn chunks(batch: usize) -> Vec<Range<usize>> {
    let threads = rayon::current_num_threads().clamp(1, batch.div_ceil(MIN_ROWS_PER_THREAD).max(1));
    let size = batch.div_ceil(threads);
    (0..threads).map(|i| i * size..((i + 1) * size).min(batch)).filter(|r| !r.is_empty()).collect()
}

/// One LSTM layer's recurrence over a whole sequence, as a candle op.
///
/// Inputs: the projected input (batch, steps, 4H) = x·W_ihᵀ + b_ih + b_hh, and W_hh (4H, H), both
/// f32. Output: (batch, steps, 2H), each step's [h_t | c_t]. Zero initial state.
#[derive(Debug, Default)]
pub struct LstmSequence {
    /// Keep the activations for backward (training); inference skips it.
    save_for_backward: bool,
    saved: Mutex<Option<Vec<ChunkCache>>>,
}

impl LstmSequence {
    pub fn new(save_for_backward: bool) -> Self {
        LstmSequence { save_for_backward, saved: Mutex::new(None) }
    }
}

fn f32_slice<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("lstm-sequence needs contiguous inputs"),
    }
}

impl CustomOp2 for LstmSequence {
    fn name(&self) -> &'static str {
        "lstm-sequence"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (batch, steps, h4) = l1.shape().dims3()?;
        let (w_rows, hidden) = l2.shape().dims2()?;
        if h4 != 4 * hidden || w_rows != h4 || steps == 0 {
            candle_core::bail!("lstm-sequence: input {:?} does not match W_hh {:?}", l1.dims(), l2.dims());
        }
        let (xproj, w_hh) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        let d = Dims { steps, hidden };
        let caches: Vec<ChunkCache> =
            chunks(batch).into_par_iter().map(|rows| forward_chunk(xproj, w_hh, d, rows)).collect();
        let mut out = vec![0f32; batch * steps * 2 * hidden];
        for cache in &caches {
            let n = cache.rows.len();
            for (r, b) in cache.rows.clone().enumerate() {
                for t in 0..steps {
                    let src = (t * n + r) * hidden;
                    let dst = &mut out[(b * steps + t) * 2 * hidden..][..2 * hidden];
                    dst[..hidden].copy_from_slice(&cache.h[src..src + hidden]);
                    dst[hidden..].copy_from_slice(&cache.c[src..src + hidden]);
                }
            }
        }
        if self.save_for_backward {
            *self.saved.lock().map_err(|_| candle_core::Error::Msg("lstm-sequence: poisoned".into()))? =
                Some(caches);
        }
        Ok((CpuStorage::F32(out), Shape::from((batch, steps, 2 * hidden))))
    }

    fn bwd(
        &self,
        xproj: &Tensor,
        w_hh: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let caches = self
            .saved
            .lock()
            .map_err(|_| candle_core::Error::Msg("lstm-sequence: poisoned".into()))?
            .take()
            .ok_or_else(|| {
                candle_core::Error::Msg("lstm-sequence: backward without a saved forward".into())
            })?;
        let (batch, steps, h4) = xproj.dims3()?;
        let hidden = h4 / 4;
        let d = Dims { steps, hidden };
        let grad = grad_res.flatten_all()?.to_vec1::<f32>()?;
        let w = w_hh.flatten_all()?.to_vec1::<f32>()?;
        let parts: Vec<(Vec<f32>, Vec<f32>)> =
            caches.par_iter().map(|cache| backward_chunk(cache, &grad, &w, d)).collect();
        let mut dxproj = vec![0f32; batch * steps * h4];
        let mut dw = vec![0f32; h4 * hidden];
        for (cache, (dgates, dw_chunk)) in caches.iter().zip(&parts) {
            let n = cache.rows.len();
            for (r, b) in cache.rows.clone().enumerate() {
                for t in 0..steps {
                    dxproj[(b * steps + t) * h4..][..h4].copy_from_slice(&dgates[(t * n + r) * h4..][..h4]);
                }
            }
            dw.iter_mut().zip(dw_chunk).for_each(|(a, b)| *a += b);
        }
        let dxproj = Tensor::from_vec(dxproj, (batch, steps, h4), xproj.device())?;
        let dw = Tensor::from_vec(dw, (h4, hidden), w_hh.device())?;
        Ok((Some(dxproj), Some(dw)))
    }
}
