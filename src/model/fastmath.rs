//! Branch-free exp, sigmoid and tanh in f32, and the LSTM's two pointwise passes (forward gates,
//! backward gates) built on them: a portable scalar version, and an AVX2+FMA version (8 lanes,
//! `std::arch` intrinsics) chosen at run time when the CPU has it — the binary itself targets any
//! x86-64, no `target-cpu=native`.
//!
//! `exp` is Cephes' `expf` (range reduction by ln 2, degree-6 polynomial; relative error about
//! 2e-7); σ(x) = 1/(1+e^{−x}); tanh(x) = 1 − 2/(1+e^{2x}). The AVX2 version fuses multiply-adds,
//! so its last bits can differ from the scalar one; a given machine always takes the same path.

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 · 2^23: adding and subtracting it rounds an f32 to the nearest integer without a branch.
const ROUND_MAGIC: f32 = 12_582_912.0;

#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // max/min (not clamp) so that NaN maps into range instead of reaching the bit tricks.
    #[allow(clippy::manual_clamp)] // clamp keeps NaN; max/min map it into range.
    let x = x.max(-87.0).min(88.0);
    // t = 1.5·2^23 + round(x·log2 e): its low mantissa bits hold n as an integer.
    let t = x * LOG2E + ROUND_MAGIC;
    let n = t - ROUND_MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let p = p * r * r + r + 1.0;
    // 2^n built from n's bits; integer arithmetic on bit patterns keeps the loop vectorisable
    // (a float-to-int `as` cast saturates and would not be).
    let n_int = (t.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    f32::from_bits((n_int.wrapping_add(127) << 23) as u32) * p
}

#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (1.0 + exp(2.0 * x))
}

/// Forward pointwise pass for one batch row. `gates`: the 4·H pre-activations [i | f | g | o]
/// without the bias `bias` (4·H), replaced by the activations of their sums; `c_prev`: previous
/// cell state (H); writes `c`, `tanh_c`, `h` (H).
#[inline(always)]
fn gates_forward_row(
    gates: &mut [f32],
    bias: &[f32],
    c_prev: &[f32],
    c: &mut [f32],
    tanh_c: &mut [f32],
    h: &mut [f32],
) {
    let hidden = c.len();
    gates.iter_mut().zip(bias).for_each(|(g, b)| *g += b);
    let (i, rest) = gates.split_at_mut(hidden);
    let (f, rest) = rest.split_at_mut(hidden);
    let (g, o) = rest.split_at_mut(hidden);
    let (o, c_prev, tanh_c, h) =
        (&mut o[..hidden], &c_prev[..hidden], &mut tanh_c[..hidden], &mut h[..hidden]);
    for j in 0..hidden {
        let (ij, fj, gj, oj) = (sigmoid(i[j]), sigmoid(f[j]), tanh(g[j]), sigmoid(o[j]));
        let cj = fj * c_prev[j] + ij * gj;
        let tj = tanh(cj);
        i[j] = ij;
        f[j] = fj;
        g[j] = gj;
        o[j] = oj;
        c[j] = cj;
        tanh_c[j] = tj;
        h[j] = oj * tj;
    }
}

/// Backward pointwise pass for one batch row.
///
/// `gates`: activations [i | f | g | o] (4·H); `c_prev`, `tanh_c`: saved states (H);
/// `dh`: gradient reaching h_t (H); `dc`: gradient reaching c_t from outside the recurrence and
/// from step t+1 (H), replaced by the gradient passed on to c_{t−1}; writes `dgates`, the gradient
/// of the 4·H pre-activations.
#[inline(always)]
fn gates_backward_row(
    gates: &[f32],
    c_prev: &[f32],
    tanh_c: &[f32],
    dh: &[f32],
    dc: &mut [f32],
    dgates: &mut [f32],
) {
    let hidden = dc.len();
    let (i, rest) = gates.split_at(hidden);
    let (f, rest) = rest.split_at(hidden);
    let (g, o) = rest.split_at(hidden);
    let (di, rest) = dgates.split_at_mut(hidden);
    let (df, rest) = rest.split_at_mut(hidden);
    let (dg, d_o) = rest.split_at_mut(hidden);
    let (o, d_o, c_prev, tanh_c, dh) =
        (&o[..hidden], &mut d_o[..hidden], &c_prev[..hidden], &tanh_c[..hidden], &dh[..hidden]);
    for j in 0..hidden {
        let (ij, fj, gj, oj, tj) = (i[j], f[j], g[j], o[j], tanh_c[j]);
        let dcj = dc[j] + dh[j] * oj * (1.0 - tj * tj);
        di[j] = dcj * gj * ij * (1.0 - ij);
        df[j] = dcj * c_prev[j] * fj * (1.0 - fj);
        dg[j] = dcj * ij * (1.0 - gj * gj);
        d_o[j] = dh[j] * tj * oj * (1.0 - oj);
        dc[j] = dcj * fj;
    }
}

/// Rows of a batch at one time step, for the forward pass. Slices are (rows × 4H) and (rows × H).
pub struct ForwardStep<'a> {
    /// Pre-activations without the bias, replaced by the activations.
    pub gates: &'a mut [f32],
    /// b_ih + b_hh, (4H), added to every row's pre-activations.
    pub bias: &'a [f32],
    pub c_prev: &'a [f32],
    pub c: &'a mut [f32],
    pub tanh_c: &'a mut [f32],
    pub h: &'a mut [f32],
}

/// Rows of a batch at one time step, for the backward pass.
pub struct BackwardStep<'a> {
    pub gates: &'a [f32],
    pub c_prev: &'a [f32],
    pub tanh_c: &'a [f32],
    pub dh: &'a [f32],
    pub dc: &'a mut [f32],
    pub dgates: &'a mut [f32],
}

#[inline(always)]
fn forward_rows(s: ForwardStep<'_>, hidden: usize) {
    let rows = s.c.len() / hidden;
    for r in 0..rows {
        let (a, b) = (r * hidden, (r + 1) * hidden);
        gates_forward_row(
            &mut s.gates[4 * a..4 * b],
            s.bias,
            &s.c_prev[a..b],
            &mut s.c[a..b],
            &mut s.tanh_c[a..b],
            &mut s.h[a..b],
        );
    }
}

#[inline(always)]
fn backward_rows(s: BackwardStep<'_>, hidden: usize) {
    let rows = s.dc.len() / hidden;
    for r in 0..rows {
        let (a, b) = (r * hidden, (r + 1) * hidden);
        gates_backward_row(
            &s.gates[4 * a..4 * b],
            &s.c_prev[a..b],
            &s.tanh_c[a..b],
            &s.dh[a..b],
            &mut s.dc[a..b],
            &mut s.dgates[4 * a..4 * b],
        );
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The same passes, 8 lanes at a time; a scalar tail handles hidden sizes not divisible by 8.
    use super::{BackwardStep, ForwardStep, LN2_HI, LN2_LO, LOG2E, ROUND_MAGIC};
    use std::arch::x86_64::*;

    #[inline(always)]
    unsafe fn splat(v: f32) -> __m256 {
        _mm256_set1_ps(v)
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn exp8(x: __m256) -> __m256 {
        // maxps returns its second operand for NaN, so NaN maps into range.
        let x = _mm256_min_ps(_mm256_max_ps(x, splat(-87.0)), splat(88.0));
        let t = _mm256_fmadd_ps(x, splat(LOG2E), splat(ROUND_MAGIC));
        let n = _mm256_sub_ps(t, splat(ROUND_MAGIC));
        let r = _mm256_fnmadd_ps(n, splat(LN2_HI), x);
        let r = _mm256_fnmadd_ps(n, splat(LN2_LO), r);
        let mut p = _mm256_fmadd_ps(splat(1.987_569_1e-4), r, splat(1.398_199_9e-3));
        p = _mm256_fmadd_ps(p, r, splat(8.333_452e-3));
        p = _mm256_fmadd_ps(p, r, splat(4.166_579_6e-2));
        p = _mm256_fmadd_ps(p, r, splat(1.666_666_5e-1));
        p = _mm256_fmadd_ps(p, r, splat(0.5));
        p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, splat(1.0)));
        let n_int = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(ROUND_MAGIC.to_bits() as i32));
        let scale = _mm256_slli_epi32::<23>(_mm256_add_epi32(n_int, _mm256_set1_epi32(127)));
        _mm256_mul_ps(p, _mm256_castsi256_ps(scale))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sigmoid8(x: __m256) -> __m256 {
        let one = splat(1.0);
        _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tanh8(x: __m256) -> __m256 {
        let one = splat(1.0);
        let e = exp8(_mm256_add_ps(x, x));
        _mm256_sub_ps(one, _mm256_div_ps(splat(2.0), _mm256_add_ps(one, e)))
    }

    /// Forward pass over all rows; same contract as `super::forward_rows`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn forward_rows(s: ForwardStep<'_>, hidden: usize) {
        let rows = s.c.len() / hidden;
        let lanes = hidden / 8 * 8;
        for r in 0..rows {
            let gates = s.gates[4 * r * hidden..4 * (r + 1) * hidden].as_mut_ptr();
            let bias = s.bias[..4 * hidden].as_ptr();
            let c_prev = s.c_prev[r * hidden..(r + 1) * hidden].as_ptr();
            let c = s.c[r * hidden..(r + 1) * hidden].as_mut_ptr();
            let tanh_c = s.tanh_c[r * hidden..(r + 1) * hidden].as_mut_ptr();
            let h = s.h[r * hidden..(r + 1) * hidden].as_mut_ptr();
            for j in (0..lanes).step_by(8) {
                let pre =
                    |k: usize| _mm256_add_ps(_mm256_loadu_ps(gates.add(k)), _mm256_loadu_ps(bias.add(k)));
                let i = sigmoid8(pre(j));
                let f = sigmoid8(pre(hidden + j));
                let g = tanh8(pre(2 * hidden + j));
                let o = sigmoid8(pre(3 * hidden + j));
                let cj = _mm256_fmadd_ps(f, _mm256_loadu_ps(c_prev.add(j)), _mm256_mul_ps(i, g));
                let tj = tanh8(cj);
                _mm256_storeu_ps(gates.add(j), i);
                _mm256_storeu_ps(gates.add(hidden + j), f);
                _mm256_storeu_ps(gates.add(2 * hidden + j), g);
                _mm256_storeu_ps(gates.add(3 * hidden + j), o);
                _mm256_storeu_ps(c.add(j), cj);
                _mm256_storeu_ps(tanh_c.add(j), tj);
                _mm256_storeu_ps(h.add(j), _mm256_mul_ps(o, tj));
            }
            for j in lanes..hidden {
                let g = std::slice::from_raw_parts_mut(gates, 4 * hidden);
                let b = std::slice::from_raw_parts(bias, 4 * hidden);
                let (ij, fj, gj, oj) = (
                    super::sigmoid(g[j] + b[j]),
                    super::sigmoid(g[hidden + j] + b[hidden + j]),
                    super::tanh(g[2 * hidden + j] + b[2 * hidden + j]),
                    super::sigmoid(g[3 * hidden + j] + b[3 * hidden + j]),
                );
                let cj = fj * *c_prev.add(j) + ij * gj;
                let tj = super::tanh(cj);
                g[j] = ij;
                g[hidden + j] = fj;
                g[2 * hidden + j] = gj;
                g[3 * hidden + j] = oj;
                *c.add(j) = cj;
                *tanh_c.add(j) = tj;
                *h.add(j) = oj * tj;
            }
        }
    }

    /// Backward pass over all rows; same contract as `super::backward_rows`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn backward_rows(s: BackwardStep<'_>, hidden: usize) {
        let rows = s.dc.len() / hidden;
        let lanes = hidden / 8 * 8;
        let one = splat(1.0);
        for r in 0..rows {
            let gates = s.gates[4 * r * hidden..4 * (r + 1) * hidden].as_ptr();
            let c_prev = s.c_prev[r * hidden..(r + 1) * hidden].as_ptr();
            let tanh_c = s.tanh_c[r * hidden..(r + 1) * hidden].as_ptr();
            let dh = s.dh[r * hidden..(r + 1) * hidden].as_ptr();
            let dc = s.dc[r * hidden..(r + 1) * hidden].as_mut_ptr();
            let dgates = s.dgates[4 * r * hidden..4 * (r + 1) * hidden].as_mut_ptr();
            for j in (0..lanes).step_by(8) {
                let i = _mm256_loadu_ps(gates.add(j));
                let f = _mm256_loadu_ps(gates.add(hidden + j));
                let g = _mm256_loadu_ps(gates.add(2 * hidden + j));
                let o = _mm256_loadu_ps(gates.add(3 * hidden + j));
                let t = _mm256_loadu_ps(tanh_c.add(j));
                let dhj = _mm256_loadu_ps(dh.add(j));
                let dcj = _mm256_fmadd_ps(
                    _mm256_mul_ps(dhj, o),
                    _mm256_fnmadd_ps(t, t, one),
                    _mm256_loadu_ps(dc.add(j)),
                );
                let di = _mm256_mul_ps(_mm256_mul_ps(dcj, g), _mm256_mul_ps(i, _mm256_sub_ps(one, i)));
                let df = _mm256_mul_ps(
                    _mm256_mul_ps(dcj, _mm256_loadu_ps(c_prev.add(j))),
                    _mm256_mul_ps(f, _mm256_sub_ps(one, f)),
                );
                let dg = _mm256_mul_ps(_mm256_mul_ps(dcj, i), _mm256_fnmadd_ps(g, g, one));
                let d_o = _mm256_mul_ps(_mm256_mul_ps(dhj, t), _mm256_mul_ps(o, _mm256_sub_ps(one, o)));
                _mm256_storeu_ps(dgates.add(j), di);
                _mm256_storeu_ps(dgates.add(hidden + j), df);
                _mm256_storeu_ps(dgates.add(2 * hidden + j), dg);
                _mm256_storeu_ps(dgates.add(3 * hidden + j), d_o);
                _mm256_storeu_ps(dc.add(j), _mm256_mul_ps(dcj, f));
            }
            for j in lanes..hidden {
                let (ij, fj, gj, oj, tj) = (
                    *gates.add(j),
                    *gates.add(hidden + j),
                    *gates.add(2 * hidden + j),
                    *gates.add(3 * hidden + j),
                    *tanh_c.add(j),
                );
                let dcj = *dc.add(j) + *dh.add(j) * oj * (1.0 - tj * tj);
                *dgates.add(j) = dcj * gj * ij * (1.0 - ij);
                *dgates.add(hidden + j) = dcj * *c_prev.add(j) * fj * (1.0 - fj);
                *dgates.add(2 * hidden + j) = dcj * ij * (1.0 - gj * gj);
                *dgates.add(3 * hidden + j) = *dh.add(j) * tj * oj * (1.0 - oj);
                *dc.add(j) = dcj * fj;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    use std::sync::OnceLock;
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

/// The forward gate pass over every row of one step (AVX2 when available).
pub fn lstm_forward_step(step: ForwardStep<'_>, hidden: usize) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above).
        return unsafe { avx2::forward_rows(step, hidden) };
    }
    forward_rows(step, hidden)
}

/// The backward gate pass over every row of one step (AVX2 when available).
pub fn lstm_backward_step(step: BackwardStep<'_>, hidden: usize) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above).
        return unsafe { avx2::backward_rows(step, hidden) };
    }
    backward_rows(step, hidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_sigmoid_tanh_match_std_closely() {
        let mut worst = (0.0f64, 0.0f64, 0.0f64);
        for k in -20_000..=20_000 {
            let x = k as f32 * 0.004; // −80 … 80
            let e = (x as f64).exp();
            if e > 1e-30 && e < 1e30 {
                worst.0 = worst.0.max(((exp(x) as f64) - e).abs() / e);
            }
            worst.1 = worst.1.max((sigmoid(x) as f64 - 1.0 / (1.0 + (-x as f64).exp())).abs());
            worst.2 = worst.2.max((tanh(x) as f64 - (x as f64).tanh()).abs());
        }
        assert!(worst.0 < 5e-7, "exp relative error {}", worst.0);
        assert!(worst.1 < 2e-7, "sigmoid error {}", worst.1);
        assert!(worst.2 < 5e-7, "tanh error {}", worst.2);
        assert!(sigmoid(-1000.0) >= 0.0 && sigmoid(-1000.0) < 1e-30);
        assert!(tanh(1000.0) == 1.0 && tanh(-1000.0) == -1.0);
    }
}
