//! `forecast backtest`: walk-forward evaluation against the naive, drift and moving-average
//! baselines, with optional per-day predictions (CSV) and a plot.

use super::{as_of, load_series};
use crate::backtest::{self, Backtest, Progress, SpanMetrics, StepIntervalScores};
use crate::cli::{BacktestArgs, Format};
use crate::interval_metrics::verdicts;
use crate::output::{plot, print_json, print_text, table};
use serde::Serialize;
use std::fmt::Write;
use std::time::Instant;

/// What `backtest --format json` prints.
#[derive(Debug, Serialize)]
struct BacktestReport<'a> {
    csv: String,
    rows: usize,
    seconds: f64,
    /// One plain sentence: does the model beat naive over all test days?
    verdict: String,
    /// One plain sentence per level: are the model's step-1 intervals better than GARCH's?
    interval_verdicts: Vec<String>,
    #[serde(flatten)]
    backtest: &'a Backtest,
}

pub fn run(args: &BacktestArgs) -> crate::error::Result<()> {
    args.check_paths()?;
    let started = Instant::now();
    let log = args.output.log();
    let runtime = args.runtime.runtime()?;
    let series = as_of(load_series(&args.csv, &args.load, &log)?, args.as_of, &args.csv)?;
    let settings = args.model.settings();
    let bar = log.bar(args.folds as u64, "folds");
    let result =
        backtest::run(&series, &settings, (args.folds, args.test_size), &runtime, &args.csv, |p| match p {
            Progress::Epoch(fold, e) => log.progress(&format!(
                "fold {fold}/{}  epoch {:>3}  train {:.5}  val {:.5}  {:.2}s",
                args.folds, e.epoch, e.train_loss, e.val_loss, e.seconds
            )),
            Progress::Fold(f) => {
                bar.suspend(|| {
                    log.info(&format!(
                        "fold {}/{}: {} → {}, {} days, skill {:+.4}",
                        f.fold, args.folds, f.test_start, f.test_end, f.test_days, f.metrics.skill
                    ))
                });
                bar.inc(1);
            }
        })?;
    bar.finish_and_clear();
    if let Some(path) = &args.predictions {
        crate::output::csv::write_predictions(path, &result)?;
        log.info(&format!("wrote {}", path.display()));
    }
    if let Some(path) = &args.plot {
        plot::backtest(path, &result)?;
        log.info(&format!("wrote {}", path.display()));
    }
    let report = BacktestReport {
        csv: args.csv.display().to_string(),
        rows: series.len(),
        seconds: started.elapsed().as_secs_f64(),
        verdict: verdict(&result.summary),
        interval_verdicts: result.intervals.first().map(interval_verdicts).unwrap_or_default(),
        backtest: &result,
    };
    match args.output.format {
        Format::Json => print_json(&report),
        Format::Table => print_text(&render(&report)),
        Format::Csv => print_text(&crate::output::csv::backtest_predictions(&result)?),
    }
}

/// One line per level: are the model's intervals better than GARCH(1,1)-t's (EWMA's when GARCH
/// could not be fitted) on `step`'s days?
fn interval_verdicts(step: &StepIntervalScores) -> Vec<String> {
    let find = |name: &str| step.methods.iter().find(|m| m.method == name);
    match (find("model"), find("garch-t").or_else(|| find("ewma"))) {
        (Some(model), Some(baseline)) => verdicts(model, baseline),
        _ => vec![],
    }
}

/// Says plainly whether the model beat naive.
fn verdict(summary: &SpanMetrics) -> String {
    if summary.skill > 0.0 {
        format!("the model beats naive (tomorrow = today): RMSE {:.1}% lower", summary.skill * 100.0)
    } else {
        format!(
            "the model does NOT beat naive (tomorrow = today): RMSE {:.1}% higher; use naive",
            -summary.skill * 100.0
        )
    }
}

fn render(r: &BacktestReport) -> String {
    let mut s = format!("backtest    {}  ({} rows, {:.1}s)\n", r.csv, r.rows, r.seconds);
    let _ = writeln!(
        s,
        "  {:>4}  {:<23}  {:<23}  {:>5}  {:>6}  {:>10}  {:>10}  {:>8}",
        "fold", "trained on", "tested on", "days", "epochs", "rmse", "naive rmse", "skill"
    );
    for f in &r.backtest.folds {
        let _ = writeln!(
            s,
            "  {:>4}  {} → {}  {} → {}  {:>5}  {:>6}  {:>10.4}  {:>10.4}  {:>+8.4}",
            f.fold,
            f.train_start,
            f.train_end,
            f.test_start,
            f.test_end,
            f.test_days,
            format!("{}/{}", f.best_epoch, f.epochs_run),
            f.metrics.model.rmse,
            f.metrics.naive.rmse,
            f.metrics.skill
        );
    }
    let m = &r.backtest.summary;
    let days: usize = r.backtest.folds.iter().map(|f| f.test_days).sum();
    let _ = writeln!(s, "all {days} test days");
    s += &table::metric_header();
    s += &table::metric_row("model", &m.model);
    s += &table::metric_row("naive", &m.naive);
    s += &table::metric_row("drift", &m.drift);
    s += &table::metric_row("mov.avg", &m.moving_average);
    let _ = writeln!(s, "  {:<8}{:>12.4}  {}", "skill", m.skill, r.verdict);
    if r.backtest.steps.len() > 1 {
        let _ = writeln!(s, "by step        rmse  naive rmse     skill");
        for st in &r.backtest.steps {
            let _ = writeln!(
                s,
                "  {:>4}  {:>10.4}  {:>10.4}  {:>+8.4}",
                st.step, st.model.rmse, st.naive.rmse, st.skill
            );
        }
    }
    if !r.backtest.coverage.is_empty() {
        let _ = writeln!(s, "intervals  level  step  coverage  mean width");
        for c in &r.backtest.coverage {
            let _ = writeln!(
                s,
                "           {:>4.0}%  {:>4}  {:>7.1}%  {:>9.4} ({:.2}%)",
                c.level * 100.0,
                c.step,
                c.coverage * 100.0,
                c.mean_width,
                c.mean_width_pct
            );
        }
    }
    s += &render_intervals(&r.backtest.intervals);
    s
}

/// Each step's interval scores, the model beside every baseline, with the interval score and
/// pinball loss per unit of naive MAE, and the verdict against GARCH (EWMA when GARCH could not
/// be fitted).
fn render_intervals(steps: &[StepIntervalScores]) -> String {
    let mut s = String::new();
    for st in steps {
        let _ = writeln!(
            s,
            "intervals, step {} ({} days; interval score and pinball per unit of naive MAE {:.4})",
            st.step, st.days, st.naive_mae
        );
        let _ = writeln!(
            s,
            "  {:<10} {:>5}  {:>8}  {:>8}  {:>8}  {:>9}  {:>9}",
            "method", "level", "coverage", "calm 1/5", "wild 1/5", "rel.width", "int.score"
        );
        for m in &st.methods {
            for l in &m.levels {
                let _ = writeln!(
                    s,
                    "  {:<10} {:>4.0}%  {:>7.1}%  {:>7.1}%  {:>7.1}%  {:>8.2}%  {:>9.3}",
                    m.method,
                    l.level * 100.0,
                    l.coverage * 100.0,
                    l.coverage_low_vol * 100.0,
                    l.coverage_high_vol * 100.0,
                    l.relative_width * 100.0,
                    l.interval_score / st.naive_mae
                );
            }
        }
        let _ = writeln!(s, "  {:<10} {:>9}  {:>9}", "method", "pinball", "log-lik");
        for m in &st.methods {
            let ll = m.log_likelihood.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into());
            let _ = writeln!(s, "  {:<10} {:>9.4}  {:>9}", m.method, m.pinball / st.naive_mae, ll);
        }
        for line in interval_verdicts(st) {
            let _ = writeln!(s, "  {line}");
        }
    }
    s
}
