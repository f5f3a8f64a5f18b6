//! `forecast backtest`: walk-forward evaluation against the naive, drift and moving-average
//! baselines, with optional per-day predictions (CSV) and a plot. Sharded (`--shard K/N` or a
//! job array), it does its units of the plan (see `backtest::plan`) and prints them as a
//! [`ShardRecord`] for `forecast merge`.

use super::{as_of, Watchlist};
use crate::backtest::{self, Backtest, Part, Progress, Scoring, SpanMetrics, StepIntervalScores, Unit};
use crate::calendar::Calendar;
use crate::cli::{BacktestArgs, Format};
use crate::data::Series;
use crate::error::Error;
use crate::forecaster::{Source, TrainingSeries};
use crate::interval_metrics::verdicts;
use crate::limits::{MAX_FOLDS, MAX_HORIZON, MAX_LEVELS, MAX_SERIES};
use crate::output::{plot, print_json_as, print_json_lines, print_text, table};
use crate::runtime::Runtime;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
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
    let started = Instant::now();
    let log = args.output.log();
    let runtime = args.runtime.runtime()?;
    let shard = super::shard(args.shard.shard)?;
    let json = matches!(args.output.format, Format::Json | Format::Jsonl);
    if shard.is_sharded() && (!json || args.plot.is_some() || args.predictions.is_some()) {
        return Err(Error::Usage(format!(
            "shard {} of a backtest is a part for `forecast merge`: give it --format json, and --plot or --predictions to none (merge prints the predictions with --format csv)",
            shard.shard
        )));
    }
    let watch = Watchlist::load(
        &args.csv,
        args.tickers.tickers.as_ref(),
        &args.load,
        |files| args.check_paths(files),
        &log,
    )?;
    if !watch.single && args.plot.is_some() {
        return Err(Error::Usage("--plot shows one series; backtest a watchlist without it".into()));
    }
    if watch.single && args.compare_local {
        return Err(Error::Usage(
            "--compare-local sets a watchlist's global model against one model per series; give several series".into(),
        ));
    }
    watch.warn_failed(&log);
    let histories: Vec<Series> = watch
        .loaded
        .iter()
        .map(|l| as_of(l.series.clone(), args.as_of, &l.csv))
        .collect::<crate::error::Result<_>>()?;
    let members: Vec<TrainingSeries> = watch
        .loaded
        .iter()
        .zip(&histories)
        .map(|(l, series)| TrainingSeries {
            id: l.id.clone(),
            series,
            source: Source {
                csv: &l.csv,
                load_options: l.load_options.clone(),
                calendar: Calendar::Weekdays,
            },
        })
        .collect();
    let settings = args.model.settings();
    let plan = backtest::plan(&members, &settings, (args.folds, args.test_size), args.compare_local)?;
    let units = shard.select(plan.units.iter().copied());
    shard.announce(
        &log,
        units.len(),
        plan.units.len(),
        "units (a fold's model, or one series' model of a fold)",
    );
    let bar = log.bar(units.len() as u64, "models");
    let unit_runtime = unit_runtime(&runtime, plan.units.len());
    let run = |unit: Unit| {
        let part = backtest::run_unit(&members, &settings, &plan, unit, &unit_runtime, |p| match p {
            Progress::Epoch(fold, e) => log.progress(&format!(
                "fold {fold}/{}  epoch {:>3}  train {:.5}  val {:.5}  {:.2}s",
                args.folds, e.epoch, e.train_loss, e.val_loss, e.seconds
            )),
            Progress::Fold(f) => bar.suspend(|| {
                log.info(&format!(
                    "fold {}/{}: {} → {}, {} days, skill {:+.4}",
                    f.fold, args.folds, f.test_start, f.test_end, f.test_days, f.metrics.skill
                ))
            }),
        });
        bar.inc(1);
        part
    };
    // Units in parallel, one worker each, or one at a time with all of them (see unit_runtime);
    // either way the parts come back in plan order.
    let parts: Vec<Part> = if unit_runtime.threads < runtime.threads {
        crate::pool::start();
        units.into_par_iter().map(run).collect::<crate::error::Result<_>>()?
    } else {
        units.into_iter().map(run).collect::<crate::error::Result<_>>()?
    };
    bar.finish_and_clear();
    let csv = watch.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ");
    let rows = histories.iter().map(Series::len).sum();
    if shard.is_sharded() {
        // Every shard of one run has the same: the flags, each series and its rows, the folds.
        let series: Vec<(&str, usize)> = members.iter().map(|m| (m.id.as_str(), m.series.len())).collect();
        let run =
            format!("{settings:?} {series:?} {:?} {csv} {:?} {}", plan.spans, args.as_of, args.compare_local);
        let record = ShardRecord {
            forecast_shard: SHARD_KIND.into(),
            shard: shard.shard.to_string(),
            run: crate::ledger::model_hash(run.as_bytes()),
            csv,
            rows,
            seconds: started.elapsed().as_secs_f64(),
            units: plan.units.len(),
            scoring: plan.scoring,
            parts,
        };
        return print_json_lines(std::slice::from_ref(&record));
    }
    let result = backtest::assemble(parts, &plan.scoring);
    if let Some(path) = &args.predictions {
        crate::output::csv::write_predictions(path, &result)?;
        log.info(&format!("wrote {}", path.display()));
    }
    if let Some(path) = &args.plot {
        plot::backtest(path, &result)?;
        log.info(&format!("wrote {}", path.display()));
    }
    print_report(csv, rows, started.elapsed().as_secs_f64(), &result, args.output.format)
}

/// The runtime each unit of a plan of `units` units trains with: one worker per unit, the units
/// running side by side, when there are at least as many units as CPU workers; otherwise all
/// the workers, each unit's minibatches split over them. Measured on 2 cores (README,
/// Performance): a 5-fold backtest runs faster with its folds side by side than with each
/// minibatch split, as one thread's GEMMs are twice as tall and no thread waits for another.
/// The rule reads the whole plan, not a shard's share of it, so a unit trains with the same
/// worker count, and gives the same bits, in every shard.
fn unit_runtime(runtime: &Runtime, units: usize) -> Runtime {
    if runtime.device.is_cpu() && runtime.threads > 1 && units >= runtime.threads {
        Runtime { threads: 1, ..runtime.clone() }
    } else {
        runtime.clone()
    }
}

/// What a shard's record says it is.
pub const SHARD_KIND: &str = "backtest";

/// What `backtest --shard K/N --format json` prints (one line of JSON): its parts of the backtest, and what
/// `forecast merge` needs to put every shard's parts together into the whole report.
#[derive(Debug, Serialize, Deserialize)]
pub struct ShardRecord {
    /// Always "backtest".
    pub forecast_shard: String,
    /// K/N.
    pub shard: String,
    /// A fingerprint of the run (flags, files, fold dates): every shard of one run has the same.
    pub run: String,
    pub csv: String,
    pub rows: usize,
    pub seconds: f64,
    /// The units of the whole run.
    pub units: usize,
    pub scoring: Scoring,
    pub parts: Vec<Part>,
}

impl ShardRecord {
    /// Refuses a record whose numbers no backtest of this program gives (it is read from a file):
    /// its scoring out of the flags' bounds, a unit outside the run, or a unit twice.
    pub fn check(&self) -> Result<(), String> {
        let sc = &self.scoring;
        if !(1..=MAX_HORIZON).contains(&sc.horizon)
            || !(1..=MAX_FOLDS).contains(&sc.folds)
            || sc.levels.len() > MAX_LEVELS
            || sc.levels.iter().any(|l| !(*l > 0.0 && *l < 1.0))
        {
            return Err("its horizon, folds or levels are out of bounds".into());
        }
        let mut seen = std::collections::HashSet::new();
        for part in &self.parts {
            let fits = match part.unit {
                Unit::Fold(k) => k < sc.folds,
                Unit::Local { fold, series } => sc.compare_local && fold < sc.folds && series < MAX_SERIES,
            };
            if !fits || !seen.insert(part.unit) {
                return Err(format!("its unit {:?} is not one of the run's, or is there twice", part.unit));
            }
        }
        Ok(())
    }
}

/// Prints the report of a whole backtest (of one run, or merged from its shards).
pub fn print_report(
    csv: String,
    rows: usize,
    seconds: f64,
    result: &Backtest,
    format: Format,
) -> crate::error::Result<()> {
    let report = BacktestReport {
        csv,
        rows,
        seconds,
        verdict: verdict(&result.summary),
        interval_verdicts: result.intervals.first().map(interval_verdicts).unwrap_or_default(),
        backtest: result,
    };
    match format {
        Format::Json | Format::Jsonl => print_json_as(&report, format == Format::Jsonl),
        Format::Table => print_text(&render(&report)),
        Format::Csv => print_text(&crate::output::csv::backtest_predictions(result)?),
    }
}

/// One line per level: are the model's intervals better than GARCH(1,1)-t's (EWMA's when GARCH
/// could not be fitted) on `step`'s days?
fn interval_verdicts(step: &StepIntervalScores) -> Vec<String> {
    let find = |name: &str| step.methods.iter().find(|m| m.method == name);
    match (find("model"), find("garch-t").or_else(|| find("ewma"))) {
        (Some(model), Some(baseline)) => verdicts(model, baseline, |level| {
            step.significance
                .iter()
                .find(|t| t.level == level && t.baseline == baseline.method)
                .map(|t| &t.test)
        }),
        _ => vec![],
    }
}

/// Says plainly whether the model beat naive, and whether that is real.
fn verdict(summary: &SpanMetrics) -> String {
    table::naive_verdict(summary.skill, Some(&summary.significance.naive.squared))
}

fn render(r: &BacktestReport) -> String {
    let mut s = format!("backtest    {}  ({} rows, {:.1}s)\n", r.csv, r.rows, r.seconds);
    let _ = writeln!(
        s,
        "  {:>4}  {:<23}  {:<23}  {:>5}  {:>6}  {:>10}  {:>10}  {:>8}  {:>6}",
        "fold", "trained on", "tested on", "days", "epochs", "rmse", "naive rmse", "skill", "DM p"
    );
    for f in &r.backtest.folds {
        let _ = writeln!(
            s,
            "  {:>4}  {} → {}  {} → {}  {:>5}  {:>6}  {:>10.4}  {:>10.4}  {:>+8.4}  {:>6}",
            f.fold,
            f.train_start,
            f.train_end,
            f.test_start,
            f.test_end,
            f.test_days,
            format!("{}/{}", f.best_epoch, f.epochs_run),
            f.metrics.model.rmse,
            f.metrics.naive.rmse,
            f.metrics.skill,
            f.metrics.significance.naive.squared.p_text()
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
        let _ = writeln!(s, "by step        rmse  naive rmse     skill    DM p");
        for st in &r.backtest.steps {
            let p = st.significance.naive.squared.p_text();
            let _ = writeln!(
                s,
                "  {:>4}  {:>10.4}  {:>10.4}  {:>+8.4}  {p:>6}",
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
    s += &render_series(r.backtest);
    s
}

/// The row of all series together, in percent of the last close.
const POOLED: &str = "pooled %";

/// A watchlist's per-series table: step-1 RMSE of the global model beside naive's, the
/// per-series models' with `--compare-local`, and the interval score at the first level against
/// the constant band and GARCH; then the pooled rows.
fn render_series(b: &Backtest) -> String {
    if b.series.is_empty() {
        return String::new();
    }
    let local = b.local.as_deref();
    let mut s =
        String::from("by series (step 1; rmse in the series' prices; interval score at the first level)\n");
    let _ = writeln!(
        s,
        "  {:<10} {:>5}  {:>10}  {:>10}  {:>8}  {:>10}  {:>8}  {:>10}  {:>10}  {:>10}",
        "series",
        "days",
        "naive rmse",
        "global",
        "skill",
        "local",
        "skill",
        "int.global",
        "int.const",
        "int.garch"
    );
    let level_score = |steps: &[StepIntervalScores], method: &str| {
        steps
            .first()
            .and_then(|st| st.methods.iter().find(|m| m.method == method))
            .and_then(|m| m.levels.first())
            .map(|l| l.interval_score)
    };
    let cell = |v: Option<f64>, width: usize, signed: bool| match v {
        Some(v) if signed => format!("{v:>+width$.4}"),
        Some(v) => format!("{v:>width$.4}"),
        None => format!("{:>width$}", "-"),
    };
    let rows = b.series.iter().map(|x| (x.id.as_str(), x.days, &x.summary, x.intervals.as_slice()));
    let pooled_days = b.days.iter().filter(|d| d.step == 1).count();
    let pooled = std::iter::once((POOLED, pooled_days, &b.summary, b.intervals.as_slice()));
    for (id, days, m, intervals) in rows.chain(pooled) {
        let mine = local.and_then(|l| match id {
            POOLED => Some((&l.summary, l.intervals.as_slice())),
            _ => l.series.iter().find(|x| x.id == id).map(|x| (&x.summary, x.intervals.as_slice())),
        });
        let _ = writeln!(
            s,
            "  {:<10} {:>5}  {:>10.4}  {:>10.4}  {:>+8.4}  {}  {}  {}  {}  {}",
            crate::text::excerpt(id, 10),
            days,
            m.naive.rmse,
            m.model.rmse,
            m.skill,
            cell(mine.map(|l| l.0.model.rmse), 10, false),
            cell(mine.map(|l| l.0.skill), 8, true),
            cell(level_score(intervals, "model"), 10, false),
            cell(level_score(intervals, "constant"), 10, false),
            cell(level_score(intervals, "garch-t"), 10, false),
        );
    }
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
