//! Forecast error metrics on prices, always beside the naive forecast "tomorrow = today".

use serde::{Deserialize, Serialize};

/// Errors of one forecaster over a span.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PointMetrics {
    pub rmse: f64,
    pub mae: f64,
    /// Share of days where the forecast moved in the same direction as the price (None for a
    /// forecaster that never moves, like naive).
    pub directional_accuracy: Option<f64>,
}

/// A model's metrics beside naive's, and skill = 1 − rmse / naive_rmse (> 0: better than naive).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub model: PointMetrics,
    pub naive: PointMetrics,
    pub skill: f64,
}

pub fn rmse(forecast: &[f64], actual: &[f64]) -> f64 {
    let n = actual.len().max(1) as f64;
    (forecast.iter().zip(actual).map(|(f, a)| (f - a) * (f - a)).sum::<f64>() / n).sqrt()
}

pub fn mae(forecast: &[f64], actual: &[f64]) -> f64 {
    let n = actual.len().max(1) as f64;
    forecast.iter().zip(actual).map(|(f, a)| (f - a).abs()).sum::<f64>() / n
}

/// Share of days where sign(forecast − previous) equals sign(actual − previous); days where the
/// actual price did not move are left out.
pub fn directional_accuracy(previous: &[f64], forecast: &[f64], actual: &[f64]) -> Option<f64> {
    let (mut hits, mut days) = (0usize, 0usize);
    for ((p, f), a) in previous.iter().zip(forecast).zip(actual) {
        let actual_move = (a - p).signum();
        if a == p {
            continue;
        }
        days += 1;
        if (f - p).signum() == actual_move && f != p {
            hits += 1;
        }
    }
    (days > 0).then(|| hits as f64 / days as f64)
}

/// Compares `forecast` with naive (= `previous`) against `actual`, all prices of the same days.
pub fn compare(previous: &[f64], forecast: &[f64], actual: &[f64]) -> Comparison {
    let model = PointMetrics {
        rmse: rmse(forecast, actual),
        mae: mae(forecast, actual),
        directional_accuracy: directional_accuracy(previous, forecast, actual),
    };
    let naive =
        PointMetrics { rmse: rmse(previous, actual), mae: mae(previous, actual), directional_accuracy: None };
    let skill = if naive.rmse > 0.0 { 1.0 - model.rmse / naive.rmse } else { 0.0 };
    Comparison { model, naive, skill }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_against_hand_computed_values() {
        let previous = [10.0, 11.0, 12.0, 12.0];
        let actual = [11.0, 12.0, 11.0, 12.0];
        let forecast = [10.5, 11.5, 12.5, 12.0];
        let c = compare(&previous, &forecast, &actual);
        // naive errors: 1, 1, 1, 0 → rmse sqrt(3/4), mae 3/4
        assert!((c.naive.rmse - (0.75f64).sqrt()).abs() < 1e-12);
        assert!((c.naive.mae - 0.75).abs() < 1e-12);
        // model errors: 0.5, 0.5, 1.5, 0 → mse (0.25+0.25+2.25)/4
        assert!((c.model.rmse - (2.75f64 / 4.0).sqrt()).abs() < 1e-12);
        assert!((c.model.mae - 0.625).abs() < 1e-12);
        // moves: up/up hit, up/up hit, up/down miss, last day no move: left out → 2/3
        assert_eq!(c.model.directional_accuracy, Some(2.0 / 3.0));
        assert!((c.skill - (1.0 - c.model.rmse / c.naive.rmse)).abs() < 1e-12);
        assert_eq!(c.naive.directional_accuracy, None);
    }
}
