//! The retraining gate of `train --promote-if-better`: a new forecaster replaces the model file
//! only if it beats naive and the existing model on the same latest days — the new model's
//! validation span — each scored with its own scaler and window length.

use crate::data::Series;
use crate::error::Result;
use crate::forecaster::{Forecaster, Trained};
use crate::metrics::rmse;
use crate::runtime::Runtime;
use serde::Serialize;
use std::path::Path;

/// What the gate decided, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Promotion {
    pub promoted: bool,
    /// RMSE of the new model, naive and (when it could be scored) the existing model, all on the
    /// new model's validation days.
    pub new_rmse: f64,
    pub naive_rmse: f64,
    pub existing_rmse: Option<f64>,
    pub reason: String,
}

/// The existing forecaster's step-1 RMSE on the new model's validation days of `series`.
pub fn existing_rmse(
    existing: &Forecaster,
    trained: &Trained,
    series: &Series,
    csv: &Path,
    model: &Path,
    runtime: &Runtime,
) -> Result<f64> {
    let prepared = existing.prepare(series, csv, model)?;
    let dates = &trained.validation_forecasts[0].dates;
    let days = prepared.days_of(dates).unwrap_or_default();
    let steps = prepared.score(&days, runtime)?;
    Ok(rmse(&steps[0].forecast, &steps[0].actual))
}

/// Decides whether `trained` replaces the existing model: it must beat naive, and the existing
/// model when there is one that could be scored (`existing_rmse`), on the same validation days.
/// A metric that is not a number never promotes.
pub fn decide(trained: &Trained, existing_rmse: Option<f64>) -> Promotion {
    let v = &trained.forecaster.validation;
    let (new_rmse, naive_rmse) = (v.metrics.model.rmse, v.metrics.naive.rmse);
    let span = format!("{} → {}", v.start, v.end);
    let (promoted, reason) = if !beats(new_rmse, naive_rmse) {
        (
            false,
            format!(
                "the new model does not beat naive on {span} (rmse {new_rmse:.4} vs naive {naive_rmse:.4})"
            ),
        )
    } else if let Some(old) = existing_rmse.filter(|&old| !beats(new_rmse, old)) {
        (
            false,
            format!(
                "the new model does not beat the existing one on {span} (rmse {new_rmse:.4} vs {old:.4})"
            ),
        )
    } else {
        let against =
            existing_rmse.map(|old| format!(" and the existing model ({old:.4})")).unwrap_or_default();
        (true, format!("the new model (rmse {new_rmse:.4}) beats naive ({naive_rmse:.4}){against} on {span}"))
    };
    Promotion { promoted, new_rmse, naive_rmse, existing_rmse, reason }
}

/// True when `rmse` is lower than `other`; false when either is not a number.
fn beats(rmse: f64, other: f64) -> bool {
    rmse < other
}
