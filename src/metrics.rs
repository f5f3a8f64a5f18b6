//! Forecast error metrics on prices, always beside the naive forecast "tomorrow = today", and the
//! simple baselines a model has to beat.
//!
//! All forecasts here are one step ahead from real history: the forecast for day d uses closes up
//! to day d − 1 only.

use crate::exact_float::nan_as_null;
use crate::significance::{losses, significance, Loss, Significance};
use serde::{Deserialize, Serialize};

/// Errors of one forecaster over a span.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PointMetrics {
    #[serde(with = "nan_as_null")]
    pub rmse: f64,
    #[serde(with = "nan_as_null")]
    pub mae: f64,
    /// Mean absolute percentage error, in percent.
    #[serde(with = "nan_as_null")]
    pub mape: f64,
    /// Mean absolute scaled error: MAE divided by the naive forecast's in-sample MAE on the
    /// training span (below 1: better than naive was in training).
    #[serde(with = "nan_as_null")]
    pub mase: f64,
    /// Share of days where the forecast moved in the same direction as the price (None for a
    /// forecaster that never moves, like naive).
    pub directional_accuracy: Option<f64>,
}

/// A model's metrics beside naive's, and skill = 1 − rmse / naive_rmse (> 0: better than naive).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub model: PointMetrics,
    pub naive: PointMetrics,
    #[serde(with = "nan_as_null")]
    pub skill: f64,
    /// Whether the difference from naive is real (absent in model files written before it was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub significance: Option<SkillTests>,
}

/// The model against one baseline on the same days: the Diebold–Mariano test and the bootstrap
/// interval of the RMSE skill (squared errors) and of the MAE skill (absolute errors). See
/// [`crate::significance`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SkillTests {
    pub squared: Significance,
    pub absolute: Significance,
}

impl SkillTests {
    /// From the two forecasters' errors (forecast − actual) of `horizon`-step forecasts on the
    /// same days, dated `dates` (pooled by date: see [`by_date`]).
    pub fn of_errors<K: Ord + Copy>(
        model: &[f64],
        baseline: &[f64],
        dates: &[K],
        horizon: usize,
    ) -> SkillTests {
        let test = |loss| {
            let (m, b) = (by_date(dates, &losses(model, loss)), by_date(dates, &losses(baseline, loss)));
            significance(&m, &b, loss, horizon)
        };
        SkillTests { squared: test(Loss::Squared), absolute: test(Loss::Absolute) }
    }
}

/// The loss series of days from several series: the mean of `losses` over the days of each date
/// (`dates`, the same length), in date order. The tests need one value a date: the days of one
/// date move together, so they are one observation, not several. One series: its losses as they
/// are, sorted by date.
pub fn by_date<K: Ord + Copy>(dates: &[K], losses: &[f64]) -> Vec<f64> {
    let mut sums: std::collections::BTreeMap<K, (f64, usize)> = std::collections::BTreeMap::new();
    for (&date, &loss) in dates.iter().zip(losses) {
        let entry = sums.entry(date).or_insert((0.0, 0));
        *entry = (entry.0 + loss, entry.1 + 1);
    }
    sums.into_values().map(|(sum, count)| sum / count as f64).collect()
}

/// forecast − actual, day by day.
pub fn errors(forecast: &[f64], actual: &[f64]) -> Vec<f64> {
    forecast.iter().zip(actual).map(|(f, a)| f - a).collect()
}

pub fn rmse(forecast: &[f64], actual: &[f64]) -> f64 {
    let n = actual.len().max(1) as f64;
    (forecast.iter().zip(actual).map(|(f, a)| (f - a) * (f - a)).sum::<f64>() / n).sqrt()
}

pub fn mae(forecast: &[f64], actual: &[f64]) -> f64 {
    let n = actual.len().max(1) as f64;
    forecast.iter().zip(actual).map(|(f, a)| (f - a).abs()).sum::<f64>() / n
}

/// Mean absolute percentage error, in percent (prices are positive).
pub fn mape(forecast: &[f64], actual: &[f64]) -> f64 {
    let n = actual.len().max(1) as f64;
    100.0 * forecast.iter().zip(actual).map(|(f, a)| ((f - a) / a).abs()).sum::<f64>() / n
}

/// The naive forecast's mean absolute error over a span of closes: mean |c_t − c_{t−1}|. The
/// denominator of MASE, computed on the training span.
pub fn naive_mae(closes: &[f64]) -> f64 {
    let n = closes.len().saturating_sub(1).max(1) as f64;
    closes.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / n
}

/// [`naive_mae`] in percent of the previous close: mean of 100·|c_t − c_{t−1}| / c_{t−1}, the
/// MASE scale of closes rebased to 100 at each origin.
pub fn relative_naive_mae(closes: &[f64]) -> f64 {
    let n = closes.len().saturating_sub(1).max(1) as f64;
    closes.windows(2).map(|w| 100.0 * (w[1] - w[0]).abs() / w[0]).sum::<f64>() / n
}

/// Share of days where sign(forecast − previous) equals sign(actual − previous); days where the
/// actual price did not move are left out.
pub fn directional_accuracy(previous: &[f64], forecast: &[f64], actual: &[f64]) -> Option<f64> {
    let (mut hits, mut days) = (0usize, 0usize);
    for ((p, f), a) in previous.iter().zip(forecast).zip(actual) {
        if a == p {
            continue;
        }
        days += 1;
        if f != p && (f - p).signum() == (a - p).signum() {
            hits += 1;
        }
    }
    (days > 0).then(|| hits as f64 / days as f64)
}

/// All metrics of `forecast` against `actual`; `previous` is the close before each day and
/// `scale` the in-sample naive MAE (see [`naive_mae`]).
pub fn point_metrics(previous: &[f64], forecast: &[f64], actual: &[f64], scale: f64) -> PointMetrics {
    let mae = mae(forecast, actual);
    let moves = forecast.iter().zip(previous).any(|(f, p)| f != p);
    PointMetrics {
        rmse: rmse(forecast, actual),
        mae,
        mape: mape(forecast, actual),
        mase: if scale > 0.0 { mae / scale } else { f64::NAN },
        directional_accuracy: if moves { directional_accuracy(previous, forecast, actual) } else { None },
    }
}

/// Compares `forecast` with naive (= `previous`) against `actual`, all prices of the same days.
pub fn compare(previous: &[f64], forecast: &[f64], actual: &[f64], scale: f64) -> Comparison {
    let model = point_metrics(previous, forecast, actual, scale);
    let naive = point_metrics(previous, previous, actual, scale);
    Comparison { model, naive, skill: skill(model.rmse, naive.rmse), significance: None }
}

/// [`compare`] with the tests against naive of `horizon`-step forecasts; `dates` (one a day) pool
/// the days of several series by date (see [`by_date`]).
pub fn compare_tested<K: Ord + Copy>(
    previous: &[f64],
    forecast: &[f64],
    actual: &[f64],
    scale: f64,
    (dates, horizon): (&[K], usize),
) -> Comparison {
    let tests = SkillTests::of_errors(&errors(forecast, actual), &errors(previous, actual), dates, horizon);
    Comparison { significance: Some(tests), ..compare(previous, forecast, actual, scale) }
}

/// 1 − rmse / naive_rmse: above 0 the model beats naive.
pub fn skill(rmse: f64, naive_rmse: f64) -> f64 {
    if naive_rmse > 0.0 {
        1.0 - rmse / naive_rmse
    } else {
        0.0
    }
}

/// The drift forecast `step` days ahead of each origin day `o` in `origins`: the origin close
/// plus `step` times the average daily change since the first close, (c_o − c_0) / o.
pub fn drift_forecasts(closes: &[f64], origins: &[usize], step: usize) -> Vec<f64> {
    origins
        .iter()
        .map(|&o| {
            let last = closes[o];
            if o >= 1 {
                last + step as f64 * (last - closes[0]) / o as f64
            } else {
                last
            }
        })
        .collect()
}

/// Days of returns averaged by [`moving_average_forecasts`].
pub const MOVING_AVERAGE_DAYS: usize = 20;

/// The moving-average-of-returns forecast `step` days ahead of each origin day `o`:
/// c_o · exp(step × mean of the last [`MOVING_AVERAGE_DAYS`] daily log returns up to o).
pub fn moving_average_forecasts(closes: &[f64], origins: &[usize], step: usize) -> Vec<f64> {
    origins
        .iter()
        .map(|&o| {
            let last = closes[o];
            let window = &closes[o.saturating_sub(MOVING_AVERAGE_DAYS)..=o];
            if window.len() < 2 {
                return last;
            }
            let mean = window.windows(2).map(|w| (w[1] / w[0]).ln()).sum::<f64>() / (window.len() - 1) as f64;
            last * (step as f64 * mean).exp()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_that_cannot_be_computed_round_trip_through_json() {
        // A price that never moved in training: MASE divides by zero.
        let mut c = compare(&[5.0, 5.0], &[5.0, 5.0], &[5.0, 5.0], 0.0);
        c.skill = f64::INFINITY;
        assert!(c.model.mase.is_nan());
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains("\"mase\":null") && text.contains("\"skill\":null"), "{text}");
        let back: Comparison = serde_json::from_str(&text).unwrap();
        assert!(back.skill.is_nan() && back.model.mase.is_nan());
        assert_eq!(back.model.rmse, 0.0);
    }

    #[test]
    fn metrics_against_hand_computed_values() {
        let previous = [10.0, 11.0, 12.0, 12.0];
        let actual = [11.0, 12.0, 11.0, 12.0];
        let forecast = [10.5, 11.5, 12.5, 12.0];
        let c = compare(&previous, &forecast, &actual, 0.5);
        // naive errors: 1, 1, 1, 0 → rmse sqrt(3/4), mae 3/4
        assert!((c.naive.rmse - (0.75f64).sqrt()).abs() < 1e-12);
        assert!((c.naive.mae - 0.75).abs() < 1e-12);
        assert!((c.naive.mase - 1.5).abs() < 1e-12);
        let naive_mape = 100.0 * (1.0 / 11.0 + 1.0 / 12.0 + 1.0 / 11.0) / 4.0;
        assert!((c.naive.mape - naive_mape).abs() < 1e-12);
        // model errors: 0.5, 0.5, 1.5, 0 → mse (0.25+0.25+2.25)/4
        assert!((c.model.rmse - (2.75f64 / 4.0).sqrt()).abs() < 1e-12);
        assert!((c.model.mae - 0.625).abs() < 1e-12);
        assert!((c.model.mase - 1.25).abs() < 1e-12);
        // moves: up/up hit, up/up hit, up/down miss, last day no move: left out → 2/3
        assert_eq!(c.model.directional_accuracy, Some(2.0 / 3.0));
        assert!((c.skill - (1.0 - c.model.rmse / c.naive.rmse)).abs() < 1e-12);
        assert_eq!(c.naive.directional_accuracy, None);
    }

    #[test]
    fn days_of_several_series_are_pooled_by_date() {
        // Two series on 3 dates, given out of order: one loss a date, the mean of that date's.
        let dates = ["2024-01-03", "2024-01-02", "2024-01-02", "2024-01-04", "2024-01-03"];
        let losses = [4.0, 1.0, 3.0, 7.0, 6.0];
        assert_eq!(by_date(&dates, &losses), vec![2.0, 5.0, 7.0]);
        // One series: its losses, in date order.
        assert_eq!(by_date(&[3, 1, 2], &[30.0, 10.0, 20.0]), vec![10.0, 20.0, 30.0]);
    }

    #[test]
    fn comparisons_carry_the_test_of_the_same_errors() {
        let previous: Vec<f64> = (0..60).map(|i| 100.0 + (i as f64 * 0.7).sin()).collect();
        let actual: Vec<f64> = previous.iter().enumerate().map(|(i, p)| p + (i as f64 * 1.3).cos()).collect();
        // A forecast that gets every move's direction and half its size: a real edge.
        let forecast: Vec<f64> = previous.iter().zip(&actual).map(|(p, a)| p + 0.5 * (a - p)).collect();
        let dates: Vec<usize> = (0..60).collect();
        let c = compare_tested(&previous, &forecast, &actual, 1.0, (&dates, 1));
        let test = c.significance.unwrap().squared;
        assert!((test.skill - c.skill).abs() < 1e-12, "{test:?} vs {}", c.skill);
        assert_eq!(test.n, 60);
        assert!(test.p_value < 1e-6 && test.statistic < 0.0 && test.ci_low > 0.0, "{test:?}");
    }

    #[test]
    fn baselines_use_only_earlier_closes() {
        let closes = [100.0, 102.0, 101.0, 105.0, 1e9];
        assert!((naive_mae(&closes[..4]) - (2.0 + 1.0 + 4.0) / 3.0).abs() < 1e-12);
        // From origin day 3: 105 + (105 − 100) / 3 per step; the 1e9 on day 4 is never read.
        assert_eq!(drift_forecasts(&closes, &[3], 1), vec![105.0 + 5.0 / 3.0]);
        assert_eq!(drift_forecasts(&closes, &[3], 2), vec![105.0 + 10.0 / 3.0]);
        assert_eq!(drift_forecasts(&closes, &[0], 1), vec![100.0]);
        let ma = moving_average_forecasts(&closes, &[3], 1)[0];
        let mean = ((102.0f64 / 100.0).ln() + (101.0f64 / 102.0).ln() + (105.0f64 / 101.0).ln()) / 3.0;
        assert!((ma - 105.0 * mean.exp()).abs() < 1e-9);
        let ma2 = moving_average_forecasts(&closes, &[3], 2)[0];
        assert!((ma2 - 105.0 * (2.0 * mean).exp()).abs() < 1e-9);
    }
}
