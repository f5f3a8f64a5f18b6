//! `forecast backtest`: walk-forward evaluation against the naive, drift and moving-average
//! baselines, with optional per-day predictions (CSV) and a plot.

use super::{as_of, load_series};
use crate::backtest::{self, Backtest, Progress, SpanMetrics};
use crate::cli::{BacktestArgs, Format};
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
        backtest: &result,
    };
    match args.output.format {
        Format::Json => print_json(&report),
        Format::Table => print_text(&render(&report)),
        Format::Csv => print_text(&crate::output::csv::backtest_predictions(&result)?),
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
    s
}
