//! Plain aligned text for people. Every number here is also in the JSON output.

use crate::inference::Forecast;
use crate::metrics::{Comparison, PointMetrics};
use crate::significance::{Significance, Verdict, DEFAULT_ALPHA};
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
    let verdict = naive_verdict(c.skill, c.significance.as_ref().map(|t| &t.squared));
    let _ = writeln!(s, "  {:<8}{:>12.4}  {verdict}", "skill", c.skill);
    s
}

/// Says plainly how the model did against naive (tomorrow = today): the RMSE `skill` (1 − rmse /
/// naive rmse) and, with the `test` of the squared errors, whether the difference is real. Only
/// a significantly lower RMSE "beats naive".
pub fn naive_verdict(skill: f64, test: Option<&Significance>) -> String {
    let change = if skill > 0.0 {
        format!("RMSE {:.1}% lower", skill * 100.0)
    } else {
        format!("RMSE {:.1}% higher", -skill * 100.0)
    };
    let Some(test) = test else {
        return match skill > 0.0 {
            true => format!("the model beats naive (tomorrow = today): {change}"),
            false => format!("the model does NOT beat naive (tomorrow = today): {change}; use naive"),
        };
    };
    let tested = test.describe(DEFAULT_ALPHA);
    match (skill > 0.0, test.verdict(DEFAULT_ALPHA)) {
        (true, Verdict::SignificantlyBetter) => {
            format!("the model beats naive (tomorrow = today): {change}, {tested}")
        }
        (true, _) => format!(
            "no evidence the model beats naive (tomorrow = today): {change}, {tested}; treat it as no better"
        ),
        (false, _) => {
            format!("the model does NOT beat naive (tomorrow = today): {change}, {tested}; use naive")
        }
    }
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

/// A watchlist's forecasts, one line per series and step with the series first; a series that
/// failed has one line with its error.
pub fn watchlist(series: &[crate::output::SeriesForecast]) -> String {
    let width = series.iter().map(|s| s.id.chars().count()).max().unwrap_or(6).clamp(6, 24);
    let mut s = format!(
        "{:<width$}  {:<10}  {:>4}  {:>12}  {:>8}  {:>27}  {:>7}\n",
        "series", "date", "step", "close", "change", "interval", "σ"
    );
    for item in series {
        let id = crate::text::excerpt(&item.id, 24);
        let Some(f) = &item.forecast else {
            let _ = writeln!(s, "{id:<width$}  error: {}", item.error.as_deref().unwrap_or("no forecast"));
            continue;
        };
        for step in &f.forecasts {
            let change = (step.close / f.last_close - 1.0) * 100.0;
            let band = match (step.lower, step.upper, step.level) {
                (Some(lo), Some(hi), Some(level)) => format!("{:.0}% {lo:.4} – {hi:.4}", level * 100.0),
                _ => String::new(),
            };
            let sigma = step.sigma.map(|v| format!("{:.2}%", v * 100.0)).unwrap_or_default();
            let cold = if item.cold_start { "  (cold start)" } else { "" };
            let _ = writeln!(
                s,
                "{id:<width$}  {:<10}  {:>4}  {:>12.4}  {change:>+7.2}%  {band:>27}  {sigma:>7}{cold}",
                step.date, step.step, step.close
            );
        }
    }
    s
}

/// Each series' step-1 validation RMSE beside naive's.
pub fn series_validation(series: &[crate::forecaster::SeriesValidation]) -> String {
    let mut s =
        format!("{:<12}  {:>7}  {:>12}  {:>12}  {:>8}\n", "series", "windows", "rmse", "naive rmse", "skill");
    for v in series {
        let _ = writeln!(
            s,
            "{:<12}  {:>7}  {:>12.4}  {:>12.4}  {:>+8.4}",
            crate::text::excerpt(&v.id, 24),
            v.windows,
            v.metrics.model.rmse,
            v.metrics.naive.rmse,
            v.metrics.skill
        );
    }
    s
}
