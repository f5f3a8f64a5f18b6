//! Sliding windows of `seq_len` scaled feature rows and their targets, batched into tensors of
//! shape (batch, seq, feature) — batch first, as in the seed.

use candle_core::{Device, Result, Tensor};

/// Scaled features and targets, ready to cut into windows.
///
/// Window `j` is feature rows `j .. j + seq_len`; its target is `targets[j]`, the close log return
/// of row `j + seq_len` (scaled). So there are `rows − seq_len` windows with targets.
#[derive(Debug, Clone)]
pub struct Windows {
    pub seq_len: usize,
    pub width: usize,
    /// Row-major scaled features, `rows × width`, as f32 for the model.
    pub features: Vec<f32>,
    /// Scaled target of each window.
    pub targets: Vec<f32>,
}

impl Windows {
    /// `features`: row-major scaled values (`rows × width`); `scaled_returns`: the scaled close
    /// return of every row (the target of the window that ends the row before).
    pub fn new(features: &[f64], width: usize, scaled_returns: &[f64], seq_len: usize) -> Windows {
        let rows = features.len() / width.max(1);
        let targets = (seq_len..rows).map(|r| scaled_returns[r] as f32).collect();
        Windows { seq_len, width, features: features.iter().map(|&v| v as f32).collect(), targets }
    }

    /// Number of windows that have a target.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Feature rows of window `j`, flattened (seq_len × width). `j` may be `len()`: the last
    /// window, which ends on the last row and has no target yet (the one predict uses).
    pub fn window(&self, j: usize) -> &[f32] {
        let size = self.seq_len * self.width;
        &self.features[j * self.width..j * self.width + size]
    }

    /// The input tensor (batch, seq, feature) for the windows in `indices`.
    pub fn inputs(&self, indices: &[usize], device: &Device) -> Result<Tensor> {
        let mut data = Vec::with_capacity(indices.len() * self.seq_len * self.width);
        for &j in indices {
            data.extend_from_slice(self.window(j));
        }
        Tensor::from_vec(data, (indices.len(), self.seq_len, self.width), device)
    }

    /// The target tensor (batch, 1) for the windows in `indices`.
    pub fn target_tensor(&self, indices: &[usize], device: &Device) -> Result<Tensor> {
        let data: Vec<f32> = indices.iter().map(|&j| self.targets[j]).collect();
        Tensor::from_vec(data, (indices.len(), 1), device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_end_the_day_before_their_target() {
        // 5 rows of one feature: values 0..5; returns = 10 × row.
        let feats = [0.0, 1.0, 2.0, 3.0, 4.0];
        let rets = [0.0, 10.0, 20.0, 30.0, 40.0];
        let w = Windows::new(&feats, 1, &rets, 3);
        assert_eq!(w.len(), 2);
        assert_eq!(w.window(0), &[0.0, 1.0, 2.0]);
        assert_eq!(w.targets[0], 30.0);
        assert_eq!(w.window(1), &[1.0, 2.0, 3.0]);
        assert_eq!(w.targets[1], 40.0);
        assert_eq!(w.window(2), &[2.0, 3.0, 4.0]); // the forecast window
        let x = w.inputs(&[1, 0], &Device::Cpu).unwrap();
        assert_eq!(x.dims(), &[2, 3, 1]);
        assert_eq!(x.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 0.0, 1.0, 2.0]);
    }
}
