//! `forecast backtest` end to end, with the naive baseline's metrics recomputed independently
//! from the raw CSV, and the promotion gate of `train --promote-if-better` both ways.

mod common;
use common::{forecast, s, test_data, FAST};
use std::collections::BTreeMap;
use std::path::Path;

/// date → close, read straight from a clean Kaggle-layout file (date,open,high,low,close,…).
fn closes(path: &Path) -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[4].parse().unwrap())
        })
        .collect()
}

#[test]
fn naive_metrics_match_an_independent_computation() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = test_data("XOM_kaggle-sp500-5yr.csv");
    let mut args = vec![
        "backtest",
        "--csv",
        s(&csv),
        "--folds",
        "3",
        "--test-size",
        "40",
        "--format",
        "json",
        "--predictions",
        "days.csv",
        "--plot",
        "bt.svg",
    ];
    args.extend_from_slice(FAST);
    let run = forecast(tmp.path(), &args).ok();
    let out = run.json();
    let folds = out["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    assert!(tmp.path().join("bt.svg").is_file());
    assert!(std::fs::read_to_string(tmp.path().join("bt.svg")).unwrap().contains("<svg"));

    let file = closes(&csv);
    let dates: Vec<&String> = file.keys().collect();
    let days = std::fs::read_to_string(tmp.path().join("days.csv")).unwrap();
    let rows: Vec<Vec<String>> =
        days.lines().skip(1).map(|l| l.split(',').map(String::from).collect()).collect();
    assert_eq!(rows.len(), 120);
    for (k, fold) in folds.iter().enumerate() {
        let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[1] == (k + 1).to_string()).collect();
        assert_eq!(mine.len(), 40);
        assert_eq!(fold["test_start"], mine[0][0]);
        assert_eq!(fold["test_end"], mine[39][0]);
        // Actual and naive come from the file itself: the day's close and the previous row's.
        let (mut actual, mut naive) = (vec![], vec![]);
        for r in &mine {
            let i = dates.iter().position(|d| **d == r[0]).unwrap();
            actual.push(file[dates[i]]);
            naive.push(file[dates[i - 1]]);
            assert_eq!(r[3].parse::<f64>().unwrap(), file[dates[i]]);
            assert_eq!(r[5].parse::<f64>().unwrap(), file[dates[i - 1]]);
        }
        let n = actual.len() as f64;
        let rmse = (actual.iter().zip(&naive).map(|(a, p)| (a - p).powi(2)).sum::<f64>() / n).sqrt();
        let mae = actual.iter().zip(&naive).map(|(a, p)| (a - p).abs()).sum::<f64>() / n;
        let mape = 100.0 * actual.iter().zip(&naive).map(|(a, p)| ((a - p) / a).abs()).sum::<f64>() / n;
        // MASE: scaled by naive's mean absolute error over the fold's training closes.
        let start = dates.iter().position(|d| **d == mine[0][0]).unwrap();
        let train: Vec<f64> = dates[..start].iter().map(|d| file[*d]).collect();
        let scale = train.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (train.len() - 1) as f64;
        let got = &fold["naive"];
        let close = |key: &str, want: f64| {
            let v = got[key].as_f64().unwrap();
            assert!(
                (v - want).abs() <= 1e-9 * want.abs().max(1.0),
                "fold {} naive {key}: {v} vs {want}",
                k + 1
            );
        };
        close("rmse", rmse);
        close("mae", mae);
        close("mape", mape);
        close("mase", mae / scale);
        assert!(got["directional_accuracy"].is_null());
        for key in ["rmse", "mae", "mape", "mase", "directional_accuracy"] {
            assert!(!fold["model"][key].is_null(), "fold model lacks {key}");
            assert!(fold["drift"].get(key).is_some(), "fold drift lacks {key}");
        }
    }
    let summary = &out["summary"];
    for key in ["rmse", "mae", "mape", "mase"] {
        assert!(summary["naive"][key].as_f64().unwrap() > 0.0);
    }
    let skill = summary["skill"].as_f64().unwrap();
    let expected =
        1.0 - summary["model"]["rmse"].as_f64().unwrap() / summary["naive"]["rmse"].as_f64().unwrap();
    assert!((skill - expected).abs() < 1e-12);
    // Beside every skill, whether it is real: the test of the squared errors against naive.
    let test = &summary["significance"]["naive"]["squared"];
    assert!((test["skill"].as_f64().unwrap() - skill).abs() < 1e-12, "{test}");
    for key in ["statistic", "p_value", "ci_low", "ci_high"] {
        assert!(test[key].as_f64().is_some(), "no {key}: {test}");
    }
    assert!(test["ci_low"].as_f64().unwrap() <= test["ci_high"].as_f64().unwrap());
    for baseline in ["drift", "moving_average"] {
        assert!(summary["significance"][baseline]["absolute"]["p_value"].as_f64().is_some());
    }
    let p = test["p_value"].as_f64().unwrap();
    let verdict = out["verdict"].as_str().unwrap();
    let expected = match (skill > 0.0, p < 0.05) {
        (true, true) => "the model beats naive",
        (true, false) => "no evidence the model beats naive",
        (false, _) => "the model does NOT beat naive",
    };
    assert!(verdict.starts_with(expected) && verdict.contains("(DM p "), "{verdict}");
}

/// A series whose daily return alternates ±2 % with a little noise: an LSTM learns it quickly,
/// naive ("tomorrow = today") is always about 2 % off.
fn alternating_csv(dir: &Path) -> String {
    let mut text = String::from("Date,Open,High,Low,Close,Volume\n");
    let mut close = 100.0f64;
    let mut date = chrono::NaiveDate::from_ymd_opt(2020, 1, 6).unwrap();
    for i in 0..400 {
        let noise = ((i * 7919) % 13) as f64 / 13.0 - 0.5;
        let r = if i % 2 == 0 { 0.02 } else { -0.02 } + 0.002 * noise;
        let open = close;
        close *= f64::exp(r);
        text += &format!(
            "{date},{open:.4},{:.4},{:.4},{close:.4},{}\n",
            open.max(close) * 1.001,
            open.min(close) * 0.999,
            1000 + i
        );
        date = date.succ_opt().unwrap();
    }
    let path = dir.join("alternating.csv");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// `train` of `csv` to m.safetensors through the promotion gate (with `gate`'s flags), small and
/// single-threaded, reporting JSON.
fn gated_train<'a>(csv: &'a str, gate: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["train", "--csv", csv, "--out", "m.safetensors", "--promote-if-better"];
    args.extend(gate);
    args.extend(["--format", "json", "--seq-len", "10", "--hidden", "16", "--layers", "1", "--threads", "1"]);
    args
}

#[test]
fn promotion_gate_writes_only_a_better_model() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = alternating_csv(tmp.path());
    let base = gated_train(&csv, &[]);

    // An untrained model cannot beat naive: nothing is written, exit 6.
    let mut weak = base.clone();
    weak.extend(["--epochs", "1", "--lr", "1e-9"]);
    let run = forecast(tmp.path(), &weak).fails_with(6, &["not promoted", "naive", "no model written"]);
    assert_eq!(run.json()["written"], false);
    assert!(!tmp.path().join("m.safetensors").exists());

    // A trained one beats naive by far and is written.
    let mut strong = base.clone();
    strong.extend(["--epochs", "60", "--patience", "60", "--lr", "0.01"]);
    let out = forecast(tmp.path(), &strong).ok().json();
    assert_eq!(out["written"], true);
    assert_eq!(out["promotion"]["promoted"], true);
    assert!(out["validation"]["skill"].as_f64().unwrap() > 0.5, "{out}");
    let good = std::fs::read(tmp.path().join("m.safetensors")).unwrap();

    // A weaker retrain is refused against the existing model; the file stays byte-identical.
    let mut weaker = base.clone();
    weaker.extend(["--epochs", "2", "--lr", "0.001"]);
    let run = forecast(tmp.path(), &weaker).fails_with(6, &["not promoted", "kept the existing model"]);
    let report = run.json();
    assert_eq!(report["written"], false);
    assert!(report["promotion"]["existing_rmse"].as_f64().is_some(), "{report}");
    assert_eq!(std::fs::read(tmp.path().join("m.safetensors")).unwrap(), good);

    // Without the gate, train writes whatever it trained.
    let mut plain = weaker[..5].to_vec();
    plain.extend(["--format", "json", "--seq-len", "10", "--hidden", "16", "--layers", "1", "--epochs", "2"]);
    assert_eq!(forecast(tmp.path(), &plain).ok().json()["written"], true);
    assert_ne!(std::fs::read(tmp.path().join("m.safetensors")).unwrap(), good);
}

#[test]
fn min_significance_promotes_only_a_significant_win() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = alternating_csv(tmp.path());
    let mut args = gated_train(&csv, &["--min-significance", "0.001"]);
    args.extend(["--epochs", "60", "--patience", "60", "--lr", "0.01"]);
    // A model that beats naive by far beats it significantly: promoted, the test in the JSON.
    let out = forecast(tmp.path(), &args).ok().json();
    let promotion = &out["promotion"];
    assert_eq!(promotion["promoted"], true, "{out}");
    assert_eq!(promotion["min_significance"], 0.001);
    let test = &promotion["significance"]["baseline"];
    assert!(test["p_value"].as_f64().unwrap() < 0.001, "{test}");
    assert!(test["statistic"].as_f64().unwrap() < 0.0, "{test}");
    assert!(test["ci_low"].as_f64().unwrap() > 0.0, "{test}");
    assert!(promotion["reason"].as_str().unwrap().contains("each with DM p < 0.001"), "{promotion}");
    // The validation report tests the skill too.
    let validation = &out["validation"]["significance"]["squared"];
    assert!(validation["p_value"].as_f64().unwrap() < 0.001, "{validation}");

    // The flag needs the gate, and a p-value strictly between 0 and 1.
    forecast(tmp.path(), &["train", "--csv", &csv, "--min-significance", "0.05"])
        .fails_with(2, &["--promote-if-better"]);
    for bad in ["0", "1", "1.5", "NaN", "five"] {
        let mut wrong = args.to_vec();
        wrong[7] = bad;
        forecast(tmp.path(), &wrong).fails_with(2, &["--min-significance"]);
    }
}
