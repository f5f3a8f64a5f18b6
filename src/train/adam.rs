//! Adam and gradient-norm clipping over one flat parameter buffer: each a single pass over a slice
//! (the CPU training step keeps parameters and gradients flat, see `model::flat`).
//!
//! The update is candle's `AdamW` with no weight decay (so PyTorch's `Adam`): m ← β₁m + (1−β₁)g,
//! v ← β₂v + (1−β₂)g², θ ← θ − lr · m̂ / (√v̂ + ε) with the bias corrections m̂ = m / (1−β₁ᵗ),
//! v̂ = v / (1−β₂ᵗ). Clipping scales all gradients together, as PyTorch's `clip_grad_norm_`.

/// Adam's state for a flat parameter buffer.
#[derive(Debug, Clone)]
pub struct Adam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    step: i32,
    /// First and second moments, one per parameter.
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    /// PyTorch's defaults (β₁ 0.9, β₂ 0.999, ε 1e-8) for `len` parameters.
    pub fn new(len: usize, lr: f64) -> Adam {
        Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 0, m: vec![0.0; len], v: vec![0.0; len] }
    }

    /// One update of `params` with `grads` multiplied by `grad_scale` (the clipping factor).
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], grad_scale: f32) {
        self.step += 1;
        let (b1, b2) = (self.beta1 as f32, self.beta2 as f32);
        let scale_m = (1.0 / (1.0 - self.beta1.powi(self.step))) as f32;
        let scale_v = (1.0 / (1.0 - self.beta2.powi(self.step))) as f32;
        let (lr, eps) = (self.lr as f32, self.eps as f32);
        let moments = self.m.iter_mut().zip(self.v.iter_mut());
        for ((p, g), (m, v)) in params.iter_mut().zip(grads).zip(moments) {
            let g = g * grad_scale;
            *m = *m * b1 + g * (1.0 - b1);
            *v = *v * b2 + g * g * (1.0 - b2);
            *p -= lr * (*m * scale_m) / ((*v * scale_v).sqrt() + eps);
        }
    }
}

/// The factor that brings the joint L2 norm of `grads` to at most `max_norm` (1 when it already
/// is), and that norm.
pub fn clip_factor(grads: &[f32], max_norm: f64) -> (f32, f64) {
    let norm = grads.iter().map(|&g| (g as f64) * (g as f64)).sum::<f64>().sqrt();
    let factor = if norm > max_norm { max_norm / (norm + 1e-6) } else { 1.0 };
    (factor as f32, norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_step_moves_each_parameter_by_the_learning_rate_against_its_gradient() {
        // With bias correction, m̂ = g and v̂ = g², so the first step is lr · sign(g).
        let mut adam = Adam::new(3, 0.01);
        let mut params = vec![1.0, 1.0, 1.0];
        adam.step(&mut params, &[2.0, -0.5, 0.0], 1.0);
        assert!((params[0] - 0.99).abs() < 1e-6, "{params:?}");
        assert!((params[1] - 1.01).abs() < 1e-6, "{params:?}");
        assert_eq!(params[2], 1.0);
    }

    #[test]
    fn clipping_scales_the_joint_norm_down_only_when_it_is_too_large() {
        let (factor, norm) = clip_factor(&[3.0, 4.0], 1.0);
        assert!((norm - 5.0).abs() < 1e-12);
        assert!((factor - 0.2).abs() < 1e-6);
        assert_eq!(clip_factor(&[0.3, 0.4], 1.0).0, 1.0);
    }
}
