//! `forecast score`: joins the forecast ledger (`predict --log`) with the actual closes that have
//! arrived since, and reports each model's realised errors beside naive's ("tomorrow = today").

use super::Watchlist;
use crate::cli::{Format, ScoreArgs};
use crate::interval_metrics::{comparison, display_name};
use crate::ledger::{self, ModelScore};
use crate::output::{csv, print_json_as, print_text, table};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Serialize)]
struct ScoreReport {
    log: String,
    csv: String,
    /// One entry per model and series.
    models: Vec<ModelScore>,
}

/// Each model's forecasts of each series are scored against the prices of the `--csv` series with
/// the same id; with one `--csv` and a ledger of one series (or of rows from before the `series`
/// column), against that file whatever its name. Series with no prices given are said on stderr.
pub fn run(args: &ScoreArgs) -> crate::error::Result<()> {
    let log = args.output.log();
    let entries = ledger::read(&args.log)?;
    let watch = Watchlist::load(&args.csv, args.tickers.tickers.as_ref(), &args.load, |_| Ok(()), &log)?;
    watch.warn_failed(&log);
    let mut ids: Vec<Option<&str>> = entries.iter().map(|e| e.series.as_deref()).collect();
    ids.sort();
    ids.dedup();
    let only = match (watch.loaded.as_slice(), ids.iter().flatten().count()) {
        ([one], 0 | 1) => Some(&one.series),
        _ => None,
    };
    let (models, unscored) = ledger::score(&entries, |id| {
        id.and_then(|id| watch.loaded.iter().find(|l| l.id == id)).map(|l| &l.series).or(only)
    });
    for id in unscored {
        log.warn(&format!("{id}: no --csv with this series' prices; its forecasts are not scored"));
    }
    let csv = watch.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ");
    let report = ScoreReport { log: args.log.display().to_string(), csv, models };
    match args.output.format {
        Format::Json | Format::Jsonl => print_json_as(&report, args.output.format == Format::Jsonl),
        Format::Table => print_text(&render(&report)),
        Format::Csv => print_text(&render_csv(&report)?),
    }
}

fn render(r: &ScoreReport) -> String {
    let mut s = format!("forecasts in {} scored against {}\n", r.log, r.csv);
    for m in &r.models {
        let verdict = if m.scored == 0 {
            "nothing to score yet".to_string()
        } else {
            table::naive_verdict(m.skill, Some(&m.significance.squared))
        };
        let series = m.series.as_deref().map(|id| format!(" {id}")).unwrap_or_default();
        let _ = writeln!(
            s,
            "{} ({}){series}  as of {} … {}: {} scored, {} pending\n  rmse {:.4} vs naive {:.4}, mae {:.4} vs {:.4}, skill {:+.4}: {verdict}",
            m.model, m.model_hash, m.first_as_of, m.last_as_of, m.scored, m.pending, m.rmse, m.naive_rmse, m.mae, m.naive_mae, m.skill
        );
        for l in &m.intervals {
            let baselines: Vec<String> = l
                .baselines
                .iter()
                .map(|b| {
                    format!(
                        "{} {:.4}, held {:.1}%",
                        display_name(&b.method),
                        b.interval_score,
                        b.coverage * 100.0
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "  {:.0}% intervals held the close {:.1}% of {} times; interval score {:.4} ({})",
                l.level * 100.0,
                l.coverage * 100.0,
                l.forecasts,
                l.interval_score,
                baselines.join("; ")
            );
            if let Some(b) = l.baselines.iter().find(|b| b.method == "garch-t").or(l.baselines.first()) {
                let _ = writeln!(
                    s,
                    "    {}",
                    comparison(1.0 - l.interval_score / b.interval_score, &b.method, Some(&b.significance),)
                );
            }
        }
    }
    s
}

fn render_csv(r: &ScoreReport) -> crate::error::Result<String> {
    let header = [
        "model",
        "model_hash",
        "series",
        "scored",
        "pending",
        "rmse",
        "mae",
        "naive_rmse",
        "naive_mae",
        "skill",
    ];
    let rows = r.models.iter().map(|m| {
        [
            m.model.clone(),
            m.model_hash.clone(),
            m.series.clone().unwrap_or_default(),
            m.scored.to_string(),
            m.pending.to_string(),
            m.rmse.to_string(),
            m.mae.to_string(),
            m.naive_rmse.to_string(),
            m.naive_mae.to_string(),
            m.skill.to_string(),
        ]
    });
    csv::table(&header, rows)
}
