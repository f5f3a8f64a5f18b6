//! Plain aligned text for people. Every number here is also in the JSON output.

use crate::inference::Forecast;
use crate::metrics::{Comparison, PointMetrics};
use std::fmt::Write;

fn percent(value: Option<f64>) -> String {
    value.map(|v| format!("{:.1}%", v * 100.0)).unwrap_or_else(|| "-".to_string())
}

/// One forecaster's row of the metrics table.
pub fn metric_row(name: &str, m: &PointMetrics) -> String {
    format!(
        "  {name:<8}{:>12.4}{:>12.4}{:>9.3}%{:>9.3}{:>11}\n",
        m.rmse,
        m.mae,
        m.mape,
        m.mase,
        percent(m.directional_accuracy)
    )
}

/// The header of the metrics table.
pub fn metric_header() -> String {
    format!("  {:<8}{:>12}{:>12}{:>10}{:>9}{:>11}\n", "", "rmse", "mae", "mape", "mase", "direction")
}

/// The metrics table: model and naive side by side, then skill with a plain verdict.
pub fn comparison(c: &Comparison) -> String {
    let mut s = metric_header();
    s += &metric_row("model", &c.model);
    s += &metric_row("naive", &c.naive);
    let verdict =
        if c.skill > 0.0 { "better than naive" } else { "NOT better than naive (tomorrow = today)" };
    let _ = writeln!(s, "  {:<8}{:>12.4}  {verdict}", "skill", c.skill);
    s
}

/// The forecast lines, with each step's interval at the first level.
pub fn forecast(f: &Forecast) -> String {
    let mut s = format!("last close  {:.4} on {}\n", f.last_close, f.as_of);
    for step in &f.forecasts {
        let change = (step.close / f.last_close - 1.0) * 100.0;
        let band = match (step.lower, step.upper, step.level) {
            (Some(lo), Some(hi), Some(level)) => {
                format!("  {:.0}% interval {lo:.4} – {hi:.4}", level * 100.0)
            }
            _ => String::new(),
        };
        let sigma = step.sigma.map(|v| format!("  σ {:.2}%", v * 100.0)).unwrap_or_default();
        let _ = writeln!(s, "forecast    {:.4} on {} ({change:+.2}%){band}{sigma}", step.close, step.date);
    }
    s
}
