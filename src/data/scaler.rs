//! A z-score scaler, fitted on the training span only and stored in the model file; predict and
//! backtest only ever `transform` with the stored statistics.

use serde::{Deserialize, Serialize};

/// Per-column mean and standard deviation (population), plus the same for the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub target_mean: f64,
    pub target_std: f64,
}

/// Mean and population standard deviation; a constant column gets std 1 so it scales to zeros.
fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let std = var.sqrt();
    (mean, if std > 1e-12 { std } else { 1.0 })
}

impl Scaler {
    /// Fits on the first `rows` rows of a row-major matrix of `width` columns, and on `targets`.
    pub fn fit(values: &[f64], width: usize, rows: usize, targets: &[f64]) -> Scaler {
        let (mean, std) = (0..width).map(|c| mean_std((0..rows).map(move |r| values[r * width + c]))).unzip();
        let (target_mean, target_std) = mean_std(targets.iter().copied());
        Scaler { mean, std, target_mean, target_std }
    }

    /// Scales a row-major matrix whose width is `self.mean.len()`.
    pub fn transform(&self, values: &[f64]) -> Vec<f64> {
        let width = self.mean.len();
        values.iter().enumerate().map(|(i, v)| (v - self.mean[i % width]) / self.std[i % width]).collect()
    }

    pub fn transform_target(&self, target: f64) -> f64 {
        (target - self.target_mean) / self.target_std
    }

    pub fn inverse_target(&self, scaled: f64) -> f64 {
        scaled * self.target_std + self.target_mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_only_the_rows_it_is_given() {
        // Two columns; the third row is outside the fitted span and must not move the statistics.
        let values = [1.0, 10.0, 3.0, 10.0, 1e9, -1e9];
        let s = Scaler::fit(&values, 2, 2, &[0.5, 1.5]);
        assert_eq!(s.mean, vec![2.0, 10.0]);
        assert_eq!(s.std, vec![1.0, 1.0]); // constant column → std 1
        assert_eq!((s.target_mean, s.target_std), (1.0, 0.5));
        assert_eq!(s.transform(&[3.0, 12.0]), vec![1.0, 2.0]);
        assert_eq!(s.inverse_target(s.transform_target(0.25)), 0.25);
    }
}
