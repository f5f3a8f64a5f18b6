//! `forecast score`: joins the forecast ledger (`predict --log`) with the actual closes that have
//! arrived since, and reports each model's realised errors beside naive's ("tomorrow = today").

use super::load_series;
use crate::cli::{Format, ScoreArgs};
use crate::ledger::{self, Entry};
use crate::metrics::{mae, rmse, skill};
use crate::output::{csv, print_json, print_text};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

/// Realised interval coverage at one level.
#[derive(Debug, Serialize)]
struct LevelScore {
    level: f64,
    forecasts: usize,
    coverage: f64,
}

/// One model's realised accuracy.
#[derive(Debug, Serialize)]
struct ModelScore {
    model: String,
    model_hash: String,
    /// Forecasts whose day has an actual close now.
    scored: usize,
    /// Forecasts still waiting for their day.
    pending: usize,
    first_as_of: String,
    last_as_of: String,
    rmse: f64,
    mae: f64,
    naive_rmse: f64,
    naive_mae: f64,
    /// 1 − rmse / naive_rmse over the scored forecasts.
    skill: f64,
    intervals: Vec<LevelScore>,
}

#[derive(Debug, Serialize)]
struct ScoreReport {
    log: String,
    csv: String,
    models: Vec<ModelScore>,
}

pub fn run(args: &ScoreArgs) -> crate::error::Result<()> {
    let log = args.output.log();
    let entries = ledger::read(&args.log)?;
    let series = load_series(&args.csv, &args.load, &log)?;
    let actual: HashMap<String, f64> =
        series.dates.iter().zip(&series.close).map(|(d, c)| (d.to_string(), *c)).collect();
    let mut by_model: BTreeMap<(String, String), Vec<&Entry>> = BTreeMap::new();
    for e in &entries {
        by_model.entry((e.model_hash.clone(), e.model.clone())).or_default().push(e);
    }
    let models =
        by_model.into_iter().map(|((hash, model), rows)| score_model(hash, model, &rows, &actual)).collect();
    let report =
        ScoreReport { log: args.log.display().to_string(), csv: args.csv.display().to_string(), models };
    match args.output.format {
        Format::Json => print_json(&report),
        Format::Table => print_text(&render(&report)),
        Format::Csv => print_text(&render_csv(&report)?),
    }
}

fn score_model(hash: String, model: String, rows: &[&Entry], actual: &HashMap<String, f64>) -> ModelScore {
    // One point forecast per (as_of, step); the level rows repeat it.
    let mut seen = HashSet::new();
    let (mut forecast, mut naive, mut realised, mut pending) = (vec![], vec![], vec![], 0);
    for e in rows {
        if !seen.insert((e.as_of.as_str(), e.step)) {
            continue;
        }
        match actual.get(&e.date) {
            Some(&a) => {
                forecast.push(e.close);
                naive.push(e.last_close);
                realised.push(a);
            }
            None => pending += 1,
        }
    }
    let mut levels: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for e in rows {
        if let (Some(level), Some(lo), Some(hi), Some(&a)) = (e.level, e.lower, e.upper, actual.get(&e.date))
        {
            let slot = levels.entry(level.to_bits()).or_default();
            slot.0 += 1;
            slot.1 += usize::from(lo <= a && a <= hi);
        }
    }
    let as_of: Vec<&str> = rows.iter().map(|e| e.as_of.as_str()).collect();
    let (model_rmse, naive_rmse) = (rmse(&forecast, &realised), rmse(&naive, &realised));
    ModelScore {
        model,
        model_hash: hash,
        scored: realised.len(),
        pending,
        first_as_of: as_of.iter().min().map(|s| s.to_string()).unwrap_or_default(),
        last_as_of: as_of.iter().max().map(|s| s.to_string()).unwrap_or_default(),
        rmse: model_rmse,
        mae: mae(&forecast, &realised),
        naive_rmse,
        naive_mae: mae(&naive, &realised),
        skill: skill(model_rmse, naive_rmse),
        intervals: levels
            .into_iter()
            .map(|(bits, (n, hits))| LevelScore {
                level: f64::from_bits(bits),
                forecasts: n,
                coverage: hits as f64 / n.max(1) as f64,
            })
            .collect(),
    }
}

fn render(r: &ScoreReport) -> String {
    let mut s = format!("forecasts in {} scored against {}\n", r.log, r.csv);
    for m in &r.models {
        let verdict = if m.scored == 0 {
            "nothing to score yet"
        } else if m.skill > 0.0 {
            "better than naive"
        } else {
            "NOT better than naive (tomorrow = today)"
        };
        let _ = writeln!(
            s,
            "{} ({})  as of {} … {}: {} scored, {} pending\n  rmse {:.4} vs naive {:.4}, mae {:.4} vs {:.4}, skill {:+.4}: {verdict}",
            m.model, m.model_hash, m.first_as_of, m.last_as_of, m.scored, m.pending, m.rmse, m.naive_rmse, m.mae, m.naive_mae, m.skill
        );
        for l in &m.intervals {
            let _ = writeln!(
                s,
                "  {:.0}% intervals held the close {:.1}% of {} times",
                l.level * 100.0,
                l.coverage * 100.0,
                l.forecasts
            );
        }
    }
    s
}

fn render_csv(r: &ScoreReport) -> crate::error::Result<String> {
    let header =
        ["model", "model_hash", "scored", "pending", "rmse", "mae", "naive_rmse", "naive_mae", "skill"];
    let rows = r.models.iter().map(|m| {
        [
            m.model.clone(),
            m.model_hash.clone(),
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
