//! One global model for a watchlist, end to end on real files: the four tickers of
//! tests/data/big_tech_long.csv (a cut of ../shared/data/MULTI_big_tech_stock_prices.csv), read
//! with `--tickers`, or split by the test into one file per ticker and named by a glob; a broken
//! file in the middle of the watchlist; a series the model never saw (cold start); the ledger and
//! score per series; walk-forward backtests per series, pooled and against per-series models.

mod common;
use common::{forecast, s, test_data, FAST};
use std::path::{Path, PathBuf};

const TICKERS: [&str; 4] = ["MSFT", "NVDA", "IBM", "AAPL"];

/// Writes one file per ticker of the long file into `dir/prices` (each keeps the header and its
/// ticker column), and returns the folder.
fn split_by_ticker(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(test_data("big_tech_long.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let prices = dir.join("prices");
    std::fs::create_dir_all(&prices).unwrap();
    for ticker in TICKERS {
        let rows: Vec<&str> = text.lines().skip(1).filter(|l| l.starts_with(&format!("{ticker},"))).collect();
        assert_eq!(rows.len(), 700, "{ticker}");
        std::fs::write(prices.join(format!("{ticker}.csv")), format!("{header}\n{}\n", rows.join("\n")))
            .unwrap();
    }
    prices
}

fn ids(series: &serde_json::Value) -> Vec<String> {
    series.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_glob_trains_one_model_that_forecasts_every_series_and_survives_a_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    split_by_ticker(dir.path());
    // A broken file in the middle of the watchlist (sorted: AAPL, BROKEN, IBM, MSFT, NVDA).
    std::fs::write(dir.path().join("prices/BROKEN.csv"), "Date,Open,High,Low,Close\n2020-01-02,1,2,x,1\n")
        .unwrap();
    let train =
        [&["train", "--csv", "prices/*.csv", "--out", "tech.safetensors", "--format", "json"], FAST].concat();
    let run = forecast(dir.path(), &train).ok();
    assert!(run.stderr.contains("BROKEN: left out"), "{run}");
    let report = run.json();
    assert_eq!(report["series_trained"], 4, "{run}");
    assert_eq!(ids(&report["series"]), ["AAPL", "IBM", "MSFT", "NVDA"], "{run}");
    assert_eq!(report["skipped"][0]["id"], "BROKEN", "{run}");
    assert_eq!(report["validation_by_series"].as_array().unwrap().len(), 4);
    let cutoff = report["cutoff"].as_str().unwrap().to_string();
    assert_eq!(report["val_start"], cutoff.as_str(), "the validation span starts at the one cut-off");
    for s in report["series"].as_array().unwrap() {
        let close = s["forecasts"][0]["close"].as_f64().unwrap();
        let last = s["last_close"].as_f64().unwrap();
        assert!(close > 0.5 * last && close < 1.5 * last, "{s}");
    }
    // The model file records every series: id, source, load options, dates, rows, scaler.
    let bytes = std::fs::read(dir.path().join("tech.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let meta = &header["__metadata__"];
    assert_eq!(meta["format_version"], "2");
    let series: serde_json::Value = serde_json::from_str(meta["series"].as_str().unwrap()).unwrap();
    assert_eq!(ids(&series), ["AAPL", "IBM", "MSFT", "NVDA"]);
    for entry in series.as_array().unwrap() {
        assert!(entry["data"]["csv"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{}.csv", entry["id"].as_str().unwrap())));
        assert_eq!(entry["data"]["rows"], 700);
        assert_eq!(entry["data"]["first_date"], "2020-03-23");
        assert!(entry["scaler"]["target_std"].as_f64().unwrap() > 0.0);
    }

    // Predict: every series, refreshed from its file; the table and CSV have a series column.
    let out =
        forecast(dir.path(), &["predict", "--model", "tech.safetensors", "--format", "json"]).ok().json();
    assert_eq!(out["model"], "tech.safetensors");
    assert_eq!(ids(&out["series"]), ["AAPL", "IBM", "MSFT", "NVDA"]);
    assert_eq!(out["series"][2]["as_of"], "2022-12-29");
    let table = forecast(dir.path(), &["predict", "--model", "tech.safetensors"]).ok();
    assert!(table.stdout.starts_with("series"), "{table}");
    assert_eq!(table.stdout.lines().filter(|l| l.starts_with("NVDA ")).count(), 1, "{table}");
    let csv = forecast(dir.path(), &["predict", "--model", "tech.safetensors", "--format", "csv"]).ok();
    assert!(csv.stdout.starts_with("series,date,step,close,lower,upper,level,sigma\n"), "{csv}");
    assert_eq!(csv.stdout.lines().filter(|l| l.starts_with("IBM,2022-12-30,1,")).count(), 1, "{csv}");

    // A file that breaks after training: its own error in place, the others still forecast, and
    // the exit code is the most severe one (a data error, 3, over stale data, 5).
    std::fs::write(dir.path().join("prices/IBM.csv"), "not,a,price,file\n").unwrap();
    let run = forecast(
        dir.path(),
        &[
            "predict",
            "--model",
            "tech.safetensors",
            "--format",
            "json",
            "--max-age",
            "3",
            "--as-of",
            "2023-06-01",
        ],
    );
    let out = run.json();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("4 of 4 series not forecast"), "{run}");
    let ibm = &out["series"][1];
    assert_eq!(ibm["id"], "IBM");
    assert_eq!(ibm["exit_code"], 3);
    assert!(ibm["error"].as_str().unwrap().contains("IBM.csv"), "{ibm}");
    assert_eq!(out["series"][0]["exit_code"], 5, "AAPL is stale: {run}");
    let run = forecast(dir.path(), &["predict", "--model", "tech.safetensors", "--format", "json"]);
    assert_eq!(run.code, 3, "{run}");
    let out = run.json();
    assert!(out["series"][0]["forecasts"][0]["close"].as_f64().is_some(), "AAPL still forecast: {run}");
    assert!(out["series"][3]["forecasts"][0]["close"].as_f64().is_some(), "NVDA still forecast: {run}");
    assert!(run.stderr.contains("1 of 4 series not forecast"), "{run}");
}

#[test]
fn tickers_of_a_long_file_train_one_model_and_predict_from_one_read() {
    let dir = tempfile::tempdir().unwrap();
    let long = test_data("big_tech_long.csv");
    let train = [
        &["train", "--csv", s(&long), "--tickers", "all", "--out", "all.safetensors", "--format", "json"],
        FAST,
    ]
    .concat();
    let report = forecast(dir.path(), &train).ok().json();
    assert_eq!(ids(&report["series"]), TICKERS);
    let out =
        forecast(dir.path(), &["predict", "--model", "all.safetensors", "--format", "json"]).ok().json();
    assert_eq!(ids(&out["series"]), ["AAPL", "IBM", "MSFT", "NVDA"], "predict lists the series by id");
    // A list picks some, in the order given; an unknown one is its own error.
    let some = [
        &[
            "train",
            "--csv",
            s(&long),
            "--tickers",
            "IBM,aapl",
            "--out",
            "two.safetensors",
            "--format",
            "json",
        ],
        FAST,
    ]
    .concat();
    assert_eq!(ids(&forecast(dir.path(), &some).ok().json()["series"]), ["IBM", "AAPL"]);
    let unknown =
        [&["train", "--csv", s(&long), "--tickers", "IBM,ZZZZ,AAPL", "--out", "u.safetensors"], FAST]
            .concat();
    let run = forecast(dir.path(), &unknown).ok();
    assert!(run.stderr.contains("ZZZZ: left out"), "{run}");
    // The same ticker from two sources is an error naming both.
    split_by_ticker(dir.path());
    let twice = [
        &[
            "train",
            "--csv",
            s(&long),
            "--csv",
            "prices/IBM.csv",
            "--tickers",
            "all",
            "--out",
            "d.safetensors",
        ],
        FAST,
    ]
    .concat();
    forecast(dir.path(), &twice).fails_with(3, &["series IBM is also in", "big_tech_long.csv"]);
    // Series too short for the window are left out; none left is a data error.
    let short =
        ["train", "--csv", s(&long), "--tickers", "all", "--out", "s.safetensors", "--seq-len", "690"];
    let short = [&short[..], &["--hidden", "8", "--layers", "1", "--epochs", "1"]].concat();
    forecast(dir.path(), &short).fails_with(3, &["no series has enough rows to train"]);
    // --compare-local needs a watchlist; a watchlist cannot be plotted.
    let one = ["backtest", "--csv", "prices/IBM.csv", "--compare-local"];
    forecast(dir.path(), &one).fails_with(2, &["--compare-local", "several series"]);
    let plot = ["backtest", "--csv", s(&long), "--tickers", "all", "--plot", "p.png"];
    forecast(dir.path(), &plot).fails_with(2, &["--plot shows one series"]);
    // A glob that matches nothing is a usage error.
    forecast(dir.path(), &["train", "--csv", "nothing/*.csv"]).fails_with(2, &["matches no file"]);
}

#[test]
fn a_series_the_model_never_saw_is_forecast_from_a_cold_start() {
    let dir = tempfile::tempdir().unwrap();
    let long = test_data("big_tech_long.csv");
    let train = [&["train", "--csv", s(&long), "--tickers", "MSFT,NVDA,IBM", "--out", "m.safetensors"], FAST]
        .concat();
    forecast(dir.path(), &train).ok();
    let prices = split_by_ticker(dir.path());
    let aapl = prices.join("AAPL.csv");
    let run =
        forecast(dir.path(), &["predict", "--model", "m.safetensors", "--csv", s(&aapl), "--format", "json"])
            .ok();
    assert!(run.stderr.contains("AAPL: not in the model; cold start"), "{run}");
    let out = run.json();
    assert_eq!(out["series"][0]["id"], "AAPL");
    assert_eq!(out["series"][0]["cold_start"], true);
    let close = out["series"][0]["forecasts"][0]["close"].as_f64().unwrap();
    assert!((close / 129.610001 - 1.0).abs() < 0.2, "{run}");
    // A known series read through --csv keeps its stored scaler: no cold start.
    let ibm = prices.join("IBM.csv");
    let run =
        forecast(dir.path(), &["predict", "--model", "m.safetensors", "--csv", s(&ibm), "--format", "json"])
            .ok();
    assert!(
        !run.stderr.contains("cold start") && run.json()["series"][0].get("cold_start").is_none(),
        "{run}"
    );
}

#[test]
fn the_ledger_has_a_series_column_and_score_reports_per_series() {
    let dir = tempfile::tempdir().unwrap();
    split_by_ticker(dir.path());
    let train = [&["train", "--csv", "prices/*.csv", "--out", "m.safetensors"], FAST].concat();
    forecast(dir.path(), &train).ok();
    for day in ["2022-12-01", "2022-12-02", "2022-12-05"] {
        forecast(dir.path(), &["predict", "--model", "m.safetensors", "--as-of", day, "--log", "ledger.csv"])
            .ok();
    }
    let ledger = std::fs::read_to_string(dir.path().join("ledger.csv")).unwrap();
    assert!(ledger.starts_with(
        "run_time,model,model_hash,as_of,date,step,close,lower,upper,level,last_close,sigma,series\n"
    ));
    assert_eq!(ledger.lines().filter(|l| l.ends_with(",NVDA")).count(), 3, "{ledger}");
    let out =
        forecast(dir.path(), &["score", "--log", "ledger.csv", "--csv", "prices/*.csv", "--format", "json"])
            .ok()
            .json();
    let models = out["models"].as_array().unwrap();
    let scored: Vec<(&str, u64)> =
        models.iter().map(|m| (m["series"].as_str().unwrap(), m["scored"].as_u64().unwrap())).collect();
    assert_eq!(scored, [("AAPL", 3), ("IBM", 3), ("MSFT", 3), ("NVDA", 3)]);
    // With the prices of one series only, the others are said to be unscored.
    let run = forecast(
        dir.path(),
        &["score", "--log", "ledger.csv", "--csv", "prices/IBM.csv", "--format", "json"],
    )
    .ok();
    assert_eq!(run.json()["models"].as_array().unwrap().len(), 1, "{run}");
    assert!(run.stderr.contains("NVDA: no --csv with this series' prices"), "{run}");
}

#[test]
fn a_watchlist_backtest_reports_per_series_pooled_and_local_models() {
    let dir = tempfile::tempdir().unwrap();
    let long = test_data("big_tech_long.csv");
    let args = [
        &[
            "backtest",
            "--csv",
            s(&long),
            "--tickers",
            "all",
            "--folds",
            "2",
            "--test-size",
            "20",
            "--compare-local",
        ][..],
        FAST,
    ]
    .concat();
    let run = forecast(dir.path(), &[&args[..], &["--format", "json"]].concat()).ok();
    let out = run.json();
    assert_eq!(ids(&out["series"]), TICKERS, "{run}");
    // Two folds of 20 dates: every ticker trades every date, so 40 days each, 160 pooled.
    for s in out["series"].as_array().unwrap() {
        assert_eq!(s["days"], 40, "{s}");
        assert!(s["summary"]["naive"]["rmse"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(out["folds"].as_array().unwrap().len(), 2);
    assert_eq!(out["folds"][0]["test_days"], 80);
    // Pooled metrics are in percent of the last close: a naive RMSE of a few percent.
    let pooled = out["summary"]["naive"]["rmse"].as_f64().unwrap();
    assert!(pooled > 0.3 && pooled < 10.0, "{pooled}");
    // The pooled tests take one observation a date (the series of a date move together): 40 dates,
    // not 160 days; each series' own, its 40 days.
    assert_eq!(out["summary"]["significance"]["naive"]["squared"]["n"], 40, "{}", out["summary"]);
    assert_eq!(out["series"][0]["summary"]["significance"]["naive"]["squared"]["n"], 40);
    let local = &out["local"];
    assert_eq!(ids(&local["series"]), TICKERS);
    assert!(local["summary"]["skill"].as_f64().is_some());
    assert_eq!(local["folds"][1]["test_days"], 80, "a fold of the per-series models covers every series");
    let table = forecast(dir.path(), &args).ok();
    assert!(table.stdout.contains("pooled %") && table.stdout.contains("local"), "{table}");
}

#[test]
fn a_watchlist_model_is_the_same_bits_for_the_same_seed_data_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let long = test_data("big_tech_long.csv");
    let bits = |out: &str, extra: &[&str]| {
        let train =
            [&["train", "--csv", s(&long), "--tickers", "all", "--out", out][..], FAST, extra].concat();
        forecast(dir.path(), &train).ok();
        std::fs::read(dir.path().join(out)).unwrap()
    };
    assert_eq!(bits("a.safetensors", &[]), bits("b.safetensors", &[]));
    let sampled = bits("c.safetensors", &["--windows-per-epoch", "256"]);
    assert_eq!(sampled, bits("d.safetensors", &["--windows-per-epoch", "256"]));
    assert_ne!(sampled, bits("a.safetensors", &[]), "--windows-per-epoch changed nothing");
    let text = String::from_utf8_lossy(&sampled);
    assert!(text.contains(r#"\"windows_per_epoch\":256"#), "the model file records it");
}
