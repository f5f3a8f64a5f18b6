//! Intervals end to end: every interval metric `backtest` reports is recomputed here from its
//! `--predictions` file alone (with statrs for the distributions' quantiles and densities), and on
//! the synthetic GARCH sample the distributional head's intervals beat the constant band.

mod common;
use common::{forecast, s, sample_csv, test_data, FAST};
use serde_json::Value;
use statrs::distribution::{Continuous, ContinuousCDF, Normal, StudentsT};

const QUANTILES: [f64; 7] = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95];

/// One predictions row as a map from column to text.
type Row = std::collections::HashMap<String, String>;

fn read_rows(path: &std::path::Path) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| header.iter().cloned().zip(r.unwrap().iter().map(String::from)).collect())
        .collect()
}

fn num(row: &Row, column: &str) -> f64 {
    row[column].parse().unwrap_or_else(|_| panic!("{column} = {:?}", row[column]))
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12), "{what}: file gives {a}, report {b}");
}

/// Checks one method's reported scores (`reported`, from the JSON) against the file's columns.
fn check_method(rows: &[Row], prefix: &str, located: bool, reported: &Value, levels: &[f64]) {
    let n = rows.len() as f64;
    // Calm and turbulent fifths by the EWMA volatility known at the origin, ties by position.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        num(&rows[a], "ranking_volatility").total_cmp(&num(&rows[b], "ranking_volatility")).then(a.cmp(&b))
    });
    let fifth = (n * 0.2).round() as usize;
    let (low, high) = (&order[..fifth], &order[rows.len() - fifth..]);
    for (l, level) in levels.iter().enumerate() {
        let bounds =
            |r: &Row| (num(r, &format!("{prefix}lower_{level}")), num(r, &format!("{prefix}upper_{level}")));
        let inside = |r: &Row| {
            let (lo, up) = bounds(r);
            let y = num(r, "actual");
            lo <= y && y <= up
        };
        let share =
            |idx: &[usize]| idx.iter().filter(|&&i| inside(&rows[i])).count() as f64 / idx.len() as f64;
        let alpha = 1.0 - level;
        let winkler: f64 = rows
            .iter()
            .map(|r| {
                let ((lo, up), y) = (bounds(r), num(r, "actual"));
                up - lo
                    + if y < lo { 2.0 / alpha * (lo - y) } else { 0.0 }
                    + if y > up { 2.0 / alpha * (y - up) } else { 0.0 }
            })
            .sum::<f64>()
            / n;
        let width: f64 = rows.iter().map(|r| (bounds(r).1 - bounds(r).0) / num(r, "naive")).sum::<f64>() / n;
        let got = &reported["levels"][l];
        let what = |m: &str| format!("{prefix}{m} at {level}");
        close(
            share(&(0..rows.len()).collect::<Vec<_>>()),
            got["coverage"].as_f64().unwrap(),
            &what("coverage"),
        );
        close(share(low), got["coverage_low_vol"].as_f64().unwrap(), &what("calm coverage"));
        close(share(high), got["coverage_high_vol"].as_f64().unwrap(), &what("wild coverage"));
        close(width, got["relative_width"].as_f64().unwrap(), &what("relative width"));
        close(winkler, got["interval_score"].as_f64().unwrap(), &what("interval score"));
    }
    // Pinball and log-likelihood from the location, σ and ν of each row.
    let (mut pinball, mut loglik) = (0.0, 0.0);
    for r in rows {
        let origin = num(r, "naive");
        let y = num(r, "actual");
        let mu = if located { (num(r, "forecast") / origin).ln() } else { 0.0 };
        let sigma = num(r, &format!("{prefix}sigma"));
        let df = r[&format!("{prefix}df")].parse::<f64>().ok();
        let (quantile, density): (Box<dyn Fn(f64) -> f64>, f64) = match df {
            None => {
                let d = Normal::new(mu, sigma).unwrap();
                (Box::new(move |t| d.inverse_cdf(t)), d.ln_pdf((y / origin).ln()))
            }
            Some(nu) => {
                let d = StudentsT::new(mu, sigma, nu).unwrap();
                (Box::new(move |t| d.inverse_cdf(t)), d.ln_pdf((y / origin).ln()))
            }
        };
        for tau in QUANTILES {
            let q = origin * quantile(tau).exp();
            pinball += if y >= q { (y - q) * tau } else { (q - y) * (1.0 - tau) };
        }
        loglik += density;
    }
    close(
        pinball / (n * QUANTILES.len() as f64),
        reported["pinball"].as_f64().unwrap(),
        &format!("{prefix}pinball"),
    );
    match reported.get("log_likelihood") {
        Some(v) => close(loglik / n, v.as_f64().unwrap(), &format!("{prefix}log-likelihood")),
        None => assert_eq!(prefix, "constant_", "only the constant band has no likelihood"),
    }
}

#[test]
fn every_interval_metric_can_be_recomputed_from_the_predictions_file() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = test_data("XOM_kaggle-sp500-5yr.csv");
    let mut args = vec![
        "backtest",
        "--csv",
        s(&csv),
        "--folds",
        "2",
        "--test-size",
        "60",
        "--format",
        "json",
        "--predictions",
        "days.csv",
        "--distribution",
        "student-t",
        "--level",
        "0.8,0.95",
    ];
    args.extend_from_slice(FAST);
    let out = forecast(tmp.path(), &args).ok().json();
    let rows = read_rows(&tmp.path().join("days.csv"));
    assert_eq!(rows.len(), 120);
    let step = &out["intervals"][0];
    assert_eq!(step["days"], 120);
    let methods = step["methods"].as_array().unwrap();
    let names: Vec<&str> = methods.iter().map(|m| m["method"].as_str().unwrap()).collect();
    assert_eq!(names, ["model", "constant", "ewma", "garch-t"]);
    // The model's σ grows and shrinks with the market: it is not one number.
    let sigmas: Vec<f64> = rows.iter().map(|r| num(r, "sigma")).collect();
    let (lo, hi) = sigmas.iter().fold((f64::MAX, 0f64), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(hi > 1.2 * lo, "σ from {lo} to {hi}");
    for (m, prefix, located) in
        [(0, "", true), (1, "constant_", true), (2, "ewma_", false), (3, "garch-t_", false)]
    {
        check_method(&rows, prefix, located, &methods[m], &[0.8, 0.95]);
    }
    // Beside the interval scores, the model's test against every baseline at every level: its
    // skill is that of the scores just checked against the rows, on all 120 days.
    let tests = step["significance"].as_array().unwrap();
    let pairs: Vec<(f64, &str)> =
        tests.iter().map(|t| (t["level"].as_f64().unwrap(), t["baseline"].as_str().unwrap())).collect();
    let want = [0.8, 0.95].iter().flat_map(|&l| ["constant", "ewma", "garch-t"].map(|b| (l, b)));
    assert_eq!(pairs, want.collect::<Vec<_>>());
    for t in tests {
        let (level, baseline) = (t["level"].as_f64().unwrap(), t["baseline"].as_str().unwrap());
        let l = usize::from(level == 0.95);
        let m = names.iter().position(|n| *n == baseline).unwrap();
        let score = |m: usize| methods[m]["levels"][l]["interval_score"].as_f64().unwrap();
        let test = &t["test"];
        close(
            1.0 - score(0) / score(m),
            test["skill"].as_f64().unwrap(),
            &format!("{baseline} test at {level}"),
        );
        assert_eq!(test["n"], 120, "{t}");
        assert!(test["p_value"].as_f64().is_some_and(|p| (0.0..=1.0).contains(&p)), "{t}");
    }
    // Interval score and pinball are reported per unit of the naive MAE in the table.
    let naive_mae: f64 = rows.iter().map(|r| (num(r, "actual") - num(r, "naive")).abs()).sum::<f64>() / 120.0;
    close(naive_mae, step["naive_mae"].as_f64().unwrap(), "naive MAE");
}

/// The check on the GARCH sample, at the default sizes and head: the distributional head's
/// intervals beat the constant band's interval score, and cover the most volatile fifth of days
/// within 5 points of the level.
#[test]
fn on_the_garch_sample_the_model_beats_the_constant_band() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    let args = ["backtest", "--csv", s(&sample), "--level", "0.8,0.95", "--format", "json"];
    let out = forecast(tmp.path(), &args).ok().json();
    let methods = out["intervals"][0]["methods"].as_array().unwrap();
    let (model, constant) = (&methods[0], &methods[1]);
    assert_eq!((model["method"].as_str(), constant["method"].as_str()), (Some("model"), Some("constant")));
    for l in 0..2 {
        let (m, c) = (&model["levels"][l], &constant["levels"][l]);
        let level = m["level"].as_f64().unwrap();
        let (ms, cs) = (m["interval_score"].as_f64().unwrap(), c["interval_score"].as_f64().unwrap());
        assert!(ms < cs, "level {level}: model interval score {ms} ≥ constant band's {cs}");
        let wild = m["coverage_high_vol"].as_f64().unwrap();
        assert!((wild - level).abs() <= 0.05, "level {level}: high-volatility coverage {wild}");
    }
}

/// `--promote-metric interval-score`: the gate compares the interval score at the first level
/// with the EWMA band's and the existing model's on the same days, and its decision and exit code
/// follow those numbers.
#[test]
fn the_promotion_gate_can_judge_interval_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = test_data("XOM_kaggle-sp500-5yr.csv");
    let train = |distribution: &str, out: &str, gate: bool| {
        let mut args = vec![
            "train",
            "--csv",
            s(&csv),
            "--out",
            out,
            "--distribution",
            distribution,
            "--level",
            "0.8",
            "--format",
            "json",
        ];
        if gate {
            args.extend(["--promote-if-better", "--promote-metric", "interval-score"]);
        }
        args.extend_from_slice(FAST);
        forecast(tmp.path(), &args)
    };
    let check = |run: &common::Run, existing: bool| {
        let p = &run.json()["promotion"];
        assert_eq!(p["metric"], "interval-score", "{run}");
        let scores = &p["interval_scores"];
        assert_eq!(scores["level"], 0.8, "{run}");
        let (new, ewma) = (scores["new"].as_f64().unwrap(), scores["ewma"].as_f64().unwrap());
        let old = scores["existing"].as_f64();
        assert_eq!(old.is_some(), existing, "{run}");
        let should = new < ewma && old.is_none_or(|old| new < old);
        assert_eq!(p["promoted"], should, "{run}");
        assert_eq!(run.code, if should { 0 } else { 6 }, "{run}");
        assert!(
            p["reason"].as_str().unwrap().contains(if old.is_some() && new < ewma {
                "existing"
            } else {
                "EWMA band"
            }),
            "{run}"
        );
    };
    // No model file yet: the EWMA band is the only bar.
    let first = train("student-t", "a.safetensors", true);
    check(&first, false);
    assert_eq!(tmp.path().join("a.safetensors").exists(), first.code == 0, "{first}");
    // Against an existing model (a squared-error one, written without the gate), scored on the
    // same days at the same level.
    train("none", "m.safetensors", false).ok();
    let before = std::fs::read(tmp.path().join("m.safetensors")).unwrap();
    let second = train("student-t", "m.safetensors", true);
    check(&second, true);
    if second.code == 6 {
        assert_eq!(
            std::fs::read(tmp.path().join("m.safetensors")).unwrap(),
            before,
            "a refused model was written"
        );
    }
}

/// Multi-step: a student-t model forecasts 5 days, each with σ of the log return from the last
/// close (non-decreasing: the steps' variances add up), ν, and bands around the close; predict's
/// CSV carries σ; backtest scores every step against every baseline.
#[test]
fn a_distributional_model_forecasts_every_step_with_sigma() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = test_data("XOM_kaggle-sp500-5yr.csv");
    let mut args = vec![
        "train",
        "--csv",
        s(&csv),
        "--out",
        "m.safetensors",
        "--distribution",
        "student-t",
        "--horizon",
        "5",
    ];
    args.extend_from_slice(FAST);
    forecast(tmp.path(), &args).ok();
    let out = forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--format", "json"]).ok().json();
    let steps = out["forecasts"].as_array().unwrap();
    assert_eq!(steps.len(), 5);
    let mut previous = 0.0;
    for step in steps {
        let sigma = step["sigma"].as_f64().unwrap();
        assert!(sigma > 0.0 && sigma < 1.0 && sigma >= previous, "{out}");
        previous = sigma;
        assert!(step["df"].as_f64().unwrap() > 2.0, "{out}");
        let (lo, close, hi) = (
            step["lower"].as_f64().unwrap(),
            step["close"].as_f64().unwrap(),
            step["upper"].as_f64().unwrap(),
        );
        assert!(lo < close && close < hi, "{out}");
    }
    let table = forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--format", "csv"]).ok();
    let rows = table.stdout.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse::<f64>().unwrap());
    assert_eq!(rows.count(), 5, "{table}");

    let mut args = vec![
        "backtest",
        "--csv",
        s(&csv),
        "--folds",
        "2",
        "--test-size",
        "30",
        "--format",
        "json",
        "--distribution",
        "normal",
        "--horizon",
        "3",
        "--level",
        "0.9",
    ];
    args.extend_from_slice(FAST);
    let bt = forecast(tmp.path(), &args).ok().json();
    let intervals = bt["intervals"].as_array().unwrap();
    assert_eq!(intervals.len(), 3);
    for (k, step) in intervals.iter().enumerate() {
        assert_eq!(step["step"], k + 1);
        assert_eq!(step["methods"].as_array().unwrap().len(), 4, "{step}");
        assert!(step["methods"][0]["log_likelihood"].as_f64().is_some(), "{step}");
    }
}
