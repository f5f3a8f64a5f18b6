//! Beyond one process, end to end on the four tickers of tests/data/big_tech_long.csv: one model
//! per series (`train --each`), every model forecast at once (`predict --model 'dir/*'`), and a
//! run split into shards (`--shard K/N`, or a Slurm or Kubernetes job array's variables) whose
//! outputs `forecast merge` puts back together — bit for bit what one process prints.

mod common;
use common::{command, forecast, s, test_data, Run, FAST};
use std::path::Path;

const IDS: [&str; 4] = ["AAPL", "IBM", "MSFT", "NVDA"];

/// `forecast ARGS` with the environment variables `vars` set.
fn forecast_with(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let output = command().args(args).envs(vars.iter().copied()).current_dir(dir).output().unwrap();
    Run {
        command: format!("{vars:?} forecast {}", args.join(" ")),
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn ids(series: &serde_json::Value) -> Vec<String> {
    series.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

/// `train --each` over the long file's four tickers into `dir/models`.
fn train_each(dir: &Path) {
    let long = test_data("big_tech_long.csv");
    let train =
        [&["train", "--csv", s(&long), "--tickers", "all", "--each", "--out-dir", "models", "-q"], FAST]
            .concat();
    forecast(dir, &train).ok();
}

#[test]
fn each_series_gets_its_own_model_and_a_broken_one_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let long = test_data("big_tech_long.csv");
    std::fs::write(dir.path().join("BROKEN.csv"), "Date,Open,High,Low,Close\n2020-01-02,1,2,x,1\n").unwrap();
    let train = [
        &["train", "--csv", s(&long), "--csv", "BROKEN.csv", "--tickers", "all", "--each", "--out-dir", "m"],
        &["--format", "jsonl"][..],
        FAST,
    ]
    .concat();
    let run =
        forecast(dir.path(), &train).fails_with(3, &["BROKEN: not trained", "1 of 5 series not trained"]);
    let lines: Vec<serde_json::Value> =
        run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let order: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(order, ["AAPL", "BROKEN", "IBM", "MSFT", "NVDA"], "{run}");
    assert_eq!((&lines[1]["status"], &lines[1]["exit_code"]), (&"failed".into(), &3.into()), "{run}");
    for line in lines.iter().filter(|l| l["id"] != "BROKEN") {
        let model = dir.path().join(line["model"].as_str().unwrap());
        assert!(model.ends_with(format!("m/{}.safetensors", line["id"].as_str().unwrap())), "{line}");
        assert!(model.is_file() && line["validation"]["skill"].is_number(), "{line}");
        assert_eq!(line["status"], "trained");
    }
    assert!(!dir.path().join("m/BROKEN.safetensors").exists());
    // Each model is the one `train --csv --ticker` of that series alone writes: same forecast.
    let alone = [
        &[
            "train",
            "--csv",
            s(&long),
            "--ticker",
            "IBM",
            "--out",
            "ibm.safetensors",
            "--format",
            "json",
            "-q",
        ],
        FAST,
    ]
    .concat();
    let alone = forecast(dir.path(), &alone).ok().json();
    assert_eq!(alone["forecast"]["forecasts"], lines[2]["forecast"]["forecasts"]);
    // The summary as CSV: one row per series, with its status.
    let csv = [&train[..train.len() - FAST.len() - 2], &["--format", "csv"], FAST].concat();
    let run = forecast(dir.path(), &csv).fails_with(3, &[]);
    assert!(run.stdout.starts_with("series,status,csv,model,"), "{run}");
    assert_eq!(run.stdout.lines().filter(|l| l.contains(",trained,")).count(), 4, "{run}");
    // Two ids that one file system takes for one name are refused, even when two shards would
    // write them.
    let nvda = test_data("NVDA_stooq_en.csv");
    std::fs::copy(&nvda, dir.path().join("nvda.csv")).unwrap();
    std::fs::copy(&nvda, dir.path().join("NVDA.csv")).unwrap();
    let clash =
        ["train", "--csv", "nvda.csv", "--csv", "NVDA.csv", "--each", "--out-dir", "c", "--shard", "1/2"];
    forecast(dir.path(), &clash).fails_with(2, &["would both be written to"]);
    // Refused before any work: no folder, or a model file that is an input.
    let no_dir = forecast(dir.path(), &["train", "--csv", "x.csv", "--each"]);
    assert_eq!(no_dir.code, 2, "{no_dir}");
    let clash = forecast(dir.path(), &["train", "--csv", "m/IBM.safetensors", "--each", "--out-dir", "m"]);
    clash.fails_with(2, &["--out-dir"]);
}

#[test]
fn many_models_forecast_at_once_sorted_by_series_and_shards_merge_into_the_same_output() {
    let dir = tempfile::tempdir().unwrap();
    train_each(dir.path());
    let predict = |extra: &[&str]| {
        let args = [&["predict", "--model", "models/*.safetensors", "-q"][..], extra].concat();
        forecast(dir.path(), &args).ok()
    };
    let whole = predict(&["--format", "json", "--log", "whole.csv"]);
    let report = whole.json();
    assert_eq!(ids(&report["series"]), IDS, "{whole}");
    assert!(report.get("model").is_none(), "several models: each series names its own");
    assert_eq!(report["series"][1]["model"], "models/IBM.safetensors");
    let lines = predict(&["--format", "jsonl"]).stdout;
    assert_eq!(lines.lines().count(), 4);
    // Three shards, each its own outputs; merged, they are the unsharded run's.
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let log = format!("ledger-{k}.csv");
        let run = predict(&["--shard", &shard, "--format", "jsonl", "--log", &log]);
        std::fs::write(dir.path().join(format!("part-{k}.jsonl")), &run.stdout).unwrap();
    }
    let merged = forecast(dir.path(), &["merge", "part-*.jsonl", "--format", "json"]).ok();
    assert_eq!(merged.stdout, whole.stdout, "merged:\n{merged}");
    let table = forecast(dir.path(), &["merge", "part-1.jsonl", "part-2.jsonl", "part-3.jsonl"]).ok();
    assert!(IDS.iter().all(|id| table.stdout.contains(id)), "{table}");
    // Ledgers: the shards' rows merged are the unsharded ledger's, run times aside.
    forecast(dir.path(), &["merge", "ledger-*.csv", "--out", "merged.csv"]).ok();
    let without_time = |name: &str| -> Vec<String> {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        text.lines().map(|l| l.split_once(',').map_or(l, |(_, rest)| rest).to_string()).collect()
    };
    assert_eq!(without_time("merged.csv"), without_time("whole.csv"));
    assert_eq!(without_time("merged.csv").len(), 1 + 4, "a header and one row per series");
    // Parts printed as JSON merge too, the model of each line kept; a train summary is not
    // forecasts.
    for k in 1..=2 {
        let run = predict(&["--shard", &format!("{k}/2"), "--format", "json"]);
        std::fs::write(dir.path().join(format!("part-{k}.json")), &run.stdout).unwrap();
    }
    let merged = forecast(dir.path(), &["merge", "part-1.json", "part-2.json", "--format", "json"]).ok();
    assert_eq!(merged.stdout, whole.stdout, "merged:\n{merged}");
    let long = test_data("big_tech_long.csv");
    let summary = [
        &["train", "--csv", s(&long), "--ticker", "IBM", "--each"][..],
        &["--out-dir", "again", "--format", "jsonl", "-q"],
        FAST,
    ]
    .concat();
    std::fs::write(dir.path().join("summary.jsonl"), forecast(dir.path(), &summary).ok().stdout).unwrap();
    forecast(dir.path(), &["merge", "summary.jsonl"]).fails_with(3, &["not a forecast"]);
    // Merging again adds nothing.
    let again = forecast(dir.path(), &["merge", "ledger-*.csv", "--out", "merged.csv"]).ok();
    assert!(again.stderr.contains("0 new row(s)"), "{again}");
}

#[test]
fn a_folder_of_models_forecasts_a_watchlist_split_as_train_each_splits_it() {
    let dir = tempfile::tempdir().unwrap();
    let long = test_data("big_tech_long.csv");
    let each = |shard: &str| -> Vec<String> {
        let args = [
            &["train", "--csv", s(&long), "--tickers", "all", "--each", "--out-dir", "models"][..],
            &["--format", "jsonl", "--shard", shard, "-q"],
            FAST,
        ]
        .concat();
        let run = forecast(dir.path(), &args).ok();
        run.stdout
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let folder = |extra: &[&str]| {
        let args =
            [&["predict", "--model", "models", "--csv", s(&long), "--tickers", "all", "-q"][..], extra]
                .concat();
        forecast(dir.path(), &args)
    };
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let trained = each(&shard);
        let run = folder(&["--shard", &shard, "--format", "jsonl"]).ok();
        let forecast_ids: Vec<String> = run
            .stdout
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(forecast_ids, trained, "shard {shard} forecasts the series it trained");
    }
    // The same forecasts as each model re-reading its recorded CSV.
    let by_folder = folder(&["--format", "json"]).ok().json();
    let by_glob =
        forecast(dir.path(), &["predict", "--model", "models/*.safetensors", "--format", "json"]).ok().json();
    assert_eq!(by_folder, by_glob);
    // A series without a model is its own error (exit 4); the others are forecast.
    std::fs::remove_file(dir.path().join("models/MSFT.safetensors")).unwrap();
    let run = folder(&["--format", "json"]).fails_with(4, &["MSFT", "1 of 4 series not forecast"]);
    let report = run.json();
    assert_eq!(report["series"][2]["exit_code"], 4);
    assert!(report["series"][3]["forecasts"].is_array(), "{run}");
    // --csv with a glob of models (not a folder) is refused.
    let glob = forecast(dir.path(), &["predict", "--model", "models/*.safetensors", "--csv", s(&long)]);
    glob.fails_with(2, &["--model DIR"]);
}

#[test]
fn a_sharded_backtest_merges_into_the_unsharded_report_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let long = test_data("big_tech_long.csv");
    let backtest = |extra: &[&str]| {
        let args = [
            &["backtest", "--csv", s(&long), "--tickers", "all", "--compare-local", "--folds", "3", "-q"][..],
            FAST,
            extra,
        ]
        .concat();
        forecast(dir.path(), &args).ok()
    };
    let whole = backtest(&["--format", "json"]);
    for k in 1..=3 {
        let part = backtest(&["--format", "json", "--shard", &format!("{k}/3")]);
        std::fs::write(dir.path().join(format!("part-{k}.json")), &part.stdout).unwrap();
    }
    let merged =
        forecast(dir.path(), &["merge", "part-3.json", "part-1.json", "part-2.json", "--format", "json"])
            .ok();
    let seconds = |text: &str| -> String {
        text.lines().filter(|l| !l.trim_start().starts_with("\"seconds\"")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(seconds(&merged.stdout), seconds(&whole.stdout), "merged:\n{merged}");
    let report = merged.json();
    assert_eq!(report["folds"].as_array().unwrap().len(), 3);
    assert_eq!(ids(&report["local"]["series"]).len(), 4, "the per-series models are merged too");
    // Predictions as CSV, merged, are the unsharded run's.
    let csv = forecast(dir.path(), &["merge", "part-*.json", "--format", "csv"]).ok();
    assert_eq!(csv.stdout, backtest(&["--format", "csv"]).stdout);
    // A missing shard, a shard twice, or parts of another run are refused (exit 3).
    forecast(dir.path(), &["merge", "part-1.json", "part-2.json"]).fails_with(3, &["3/3", "missing"]);
    std::fs::copy(dir.path().join("part-1.json"), dir.path().join("again-1.json")).unwrap();
    let args = ["merge", "part-1.json", "again-1.json", "part-2.json", "part-3.json"];
    forecast(dir.path(), &args).fails_with(3, &["shard 1/3 is also in"]);
    let other = [
        &[
            "backtest",
            "--csv",
            s(&long),
            "--tickers",
            "all",
            "--folds",
            "3",
            "-q",
            "--format",
            "json",
            "--shard",
            "1/3",
        ][..],
        FAST,
    ]
    .concat();
    let other = forecast(dir.path(), &other).ok();
    std::fs::write(dir.path().join("other-1.json"), &other.stdout).unwrap();
    forecast(dir.path(), &["merge", "other-1.json", "part-2.json", "part-3.json"])
        .fails_with(3, &["another backtest"]);
    // A part whose numbers no run gives is refused, not trusted.
    let text = std::fs::read_to_string(dir.path().join("part-2.json")).unwrap();
    assert!(text.contains("\"horizon\":1,"));
    std::fs::write(dir.path().join("bad-2.json"), text.replace("\"horizon\":1,", "\"horizon\":0,")).unwrap();
    forecast(dir.path(), &["merge", "part-1.json", "bad-2.json", "part-3.json"])
        .fails_with(3, &["out of bounds"]);
    // A shard's output is a part: only --format json.
    let table = [&["backtest", "--csv", s(&long), "--shard", "1/2"][..], FAST].concat();
    forecast(dir.path(), &table).fails_with(2, &["--format json"]);
}

#[test]
fn job_array_variables_pick_the_shard_and_stderr_says_so() {
    let dir = tempfile::tempdir().unwrap();
    train_each(dir.path());
    let args = ["predict", "--model", "models", "--format", "jsonl"];
    // Slurm: --array=1-3 gives ids 1..3 with min 1; task 2 is shard 2/3: IBM (sorted: AAPL, IBM, MSFT, NVDA).
    let slurm =
        [("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_MIN", "1")];
    let run = forecast_with(dir.path(), &args, &slurm).ok();
    assert!(
        run.stderr
            .contains("shard 2/3 (SLURM_ARRAY_TASK_ID=2 of SLURM_ARRAY_TASK_COUNT=3): 1 of 4 model files"),
        "{run}"
    );
    assert_eq!(run.stdout.lines().count(), 1);
    assert!(run.stdout.contains("\"id\":\"IBM\""), "{run}");
    // Kubernetes: JOB_COMPLETION_INDEX is 0-based; index 0 of 3 is AAPL and NVDA.
    let k8s = [("JOB_COMPLETION_INDEX", "0"), ("FORECAST_SHARD_COUNT", "3")];
    let run = forecast_with(dir.path(), &args, &k8s).ok();
    let got: Vec<serde_json::Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(got.iter().map(|l| l["id"].as_str().unwrap()).collect::<Vec<_>>(), ["AAPL", "NVDA"], "{run}");
    // --shard wins over the environment; an index without a count is a usage error.
    let run = forecast_with(dir.path(), &[&args[..], &["--shard", "1/1"]].concat(), &k8s).ok();
    assert_eq!(run.stdout.lines().count(), 4);
    forecast_with(dir.path(), &args, &[("JOB_COMPLETION_INDEX", "1")])
        .fails_with(2, &["FORECAST_SHARD_COUNT"]);
    // One series is one unit: --shard on it is a usage error.
    let nvda = test_data("NVDA_stooq_en.csv");
    let one = [&["train", "--csv", s(&nvda), "--out", "one.safetensors", "-q"][..], FAST].concat();
    forecast(dir.path(), &one).ok();
    forecast(dir.path(), &["predict", "--model", "one.safetensors", "--shard", "1/2"])
        .fails_with(2, &["one series"]);
    // A shard with nothing to do prints nothing and succeeds; merging it changes nothing.
    let run = forecast_with(dir.path(), &[&args[..], &["--shard", "5/5"]].concat(), &[]).ok();
    assert!(run.stdout.is_empty(), "{run}");
}

#[test]
fn merge_refuses_what_is_not_a_shard_output_and_mixed_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let sample = common::sample_csv();
    forecast(dir.path(), &["merge", s(&sample)]).fails_with(3, &["not a shard's output"]);
    std::fs::write(
        dir.path().join("a.jsonl"),
        "{\"id\":\"A\",\"csv\":\"a.csv\",\"error\":\"x\",\"exit_code\":3}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("l.csv"), forecast::ledger::HEADER.to_string() + "\n").unwrap();
    forecast(dir.path(), &["merge", "a.jsonl", "l.csv"]).fails_with(2, &["not all of one kind"]);
    // A series' error keeps its exit code through the merge.
    let run = forecast(dir.path(), &["merge", "a.jsonl", "--format", "json"])
        .fails_with(3, &["1 of 1 series not forecast"]);
    assert_eq!(run.json()["series"][0]["exit_code"], 3);
    std::fs::copy(dir.path().join("a.jsonl"), dir.path().join("b.jsonl")).unwrap();
    forecast(dir.path(), &["merge", "a.jsonl", "b.jsonl"]).fails_with(3, &["series A is also in"]);
    forecast(dir.path(), &["merge", "a.jsonl", "--out", "x.csv"]).fails_with(2, &["--out"]);
}
