//! Branch-free exp, sigmoid and tanh in f32 that the compiler vectorises, and the LSTM's two
//! pointwise passes (forward gates, backward gates) built on them, dispatched at run time to an
//! AVX2+FMA build of the same code when the CPU has it (the binary itself targets any x86-64).
//!
//! `exp` is Cephes' `expf` (range reduction by ln 2, degree-6 polynomial; relative error about
//! 2e-7); σ(x) = 1/(1+e^{−x}); tanh(x) = 1 − 2/(1+e^{2x}). The same operations in the same order
//! run on every path, so results do not depend on the vector width.

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 · 2^23: adding and subtracting it rounds an f32 to the nearest integer without a branch.
const ROUND_MAGIC: f32 = 12_582_912.0;

#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + ROUND_MAGIC) - ROUND_MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let p = p * r * r + r + 1.0;
    f32::from_bits(((n as i32 + 127) << 23) as u32) * p
}

#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (1.0 + exp(2.0 * x))
}

/// Forward pointwise pass for one batch row. `gates`: the 4·H pre-activations [i | f | g | o],
/// replaced by their activations; `c_prev`: previous cell state (H); writes `c`, `tanh_c`, `h` (H).
#[inline(always)]
fn gates_forward_row(gates: &mut [f32], c_prev: &[f32], c: &mut [f32], tanh_c: &mut [f32], h: &mut [f32]) {
    let hidden = c.len();
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
    pub gates: &'a mut [f32],
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
#[target_feature(enable = "avx2,fma")]
unsafe fn forward_rows_avx2(s: ForwardStep<'_>, hidden: usize) {
    forward_rows(s, hidden)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn backward_rows_avx2(s: BackwardStep<'_>, hidden: usize) {
    backward_rows(s, hidden)
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
        return unsafe { forward_rows_avx2(step, hidden) };
    }
    forward_rows(step, hidden)
}

/// The backward gate pass over every row of one step (AVX2 when available).
pub fn lstm_backward_step(step: BackwardStep<'_>, hidden: usize) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked above).
        return unsafe { backward_rows_avx2(step, hidden) };
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
