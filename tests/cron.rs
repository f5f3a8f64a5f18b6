//! Made for cron: stale data, --as-of, one writer per model path, and a SIGKILLed train that
//! leaves the old model byte-identical.

mod common;
use common::{forecast, s, sample_csv, test_data, FAST};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn train_fast(dir: &std::path::Path) {
    let sample = sample_csv();
    let mut args = vec!["train", "--csv", s(&sample), "--out", "m.safetensors"];
    args.extend_from_slice(FAST);
    forecast(dir, &args).ok();
}

#[test]
fn stale_data_exits_5_and_as_of_reproduces_an_earlier_day() {
    let tmp = tempfile::tempdir().unwrap();
    train_fast(tmp.path());
    // The sample ends on Friday 2025-01-03.
    forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--max-age", "4"])
        .fails_with(5, &["2025-01-03", "--max-age 4", "refresh"]);
    let fresh = forecast(
        tmp.path(),
        &[
            "predict",
            "--model",
            "m.safetensors",
            "--max-age",
            "4",
            "--as-of",
            "2025-01-06",
            "--format",
            "json",
        ],
    )
    .ok();
    assert_eq!(fresh.json()["as_of"], "2025-01-03");
    let stale = forecast(
        tmp.path(),
        &["predict", "--model", "m.safetensors", "--max-age", "2", "--as-of", "2025-01-06"],
    );
    stale.fails_with(5, &["3 days before 2025-01-06"]);
    // What the nightly job said on Friday 2024-06-28: next trading day Monday 2024-07-01.
    let then = forecast(
        tmp.path(),
        &["predict", "--model", "m.safetensors", "--as-of", "2024-06-28", "--format", "json"],
    )
    .ok()
    .json();
    assert_eq!(then["as_of"], "2024-06-28");
    assert_eq!(then["forecasts"][0]["date"], "2024-07-01");
    forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--as-of", "1990-01-01"])
        .fails_with(3, &["--as-of 1990-01-01"]);
}

/// Starts a long `forecast train -v` on AAPL into `out` and returns once it reports an epoch.
fn start_long_train(dir: &std::path::Path, out: &str) -> std::process::Child {
    let csv = test_data("AAPL_kaggle-huge_aapl.us.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_forecast"))
        .args(["train", "--csv", s(&csv), "--out", out, "--epochs", "1000", "--patience", "1000", "-v"])
        .args(["--hidden", "32", "--threads", "1"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = Instant::now();
    loop {
        let line = lines.next().expect("train ended before its first epoch").unwrap();
        if line.starts_with("epoch") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no epoch within 2 minutes");
    }
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

#[test]
fn a_killed_train_leaves_the_old_model_and_the_next_train_works() {
    let tmp = tempfile::tempdir().unwrap();
    train_fast(tmp.path());
    let before = std::fs::read(tmp.path().join("m.safetensors")).unwrap();
    let mut child = start_long_train(tmp.path(), "m.safetensors");
    child.kill().unwrap(); // SIGKILL, mid-epoch
    child.wait().unwrap();
    assert_eq!(std::fs::read(tmp.path().join("m.safetensors")).unwrap(), before);
    train_fast(tmp.path());
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "temporary files left: {names:?}");
}

#[test]
fn two_trains_on_one_path_never_interleave() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first = start_long_train(tmp.path(), "m.safetensors");
    let sample = sample_csv();
    let mut args = vec!["train", "--csv", s(&sample), "--out", "m.safetensors"];
    args.extend_from_slice(FAST);
    forecast(tmp.path(), &args).fails_with(7, &["another forecast is writing", "--wait"]);
    // Another path is free.
    let mut other = vec!["train", "--csv", s(&sample), "--out", "other.safetensors"];
    other.extend_from_slice(FAST);
    forecast(tmp.path(), &other).ok();
    // With --wait the second queues until the first is gone.
    let mut waiting = Command::new(env!("CARGO_BIN_EXE_forecast"));
    waiting.args(&args).arg("--wait").current_dir(tmp.path()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut waiter = waiting.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(waiter.try_wait().unwrap().is_none(), "--wait did not wait");
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(waiter.wait().unwrap().success());
    assert!(tmp.path().join("m.safetensors").is_file());
}

#[test]
fn the_ledger_keeps_each_forecast_once_and_score_joins_the_actuals() {
    let tmp = tempfile::tempdir().unwrap();
    train_fast(tmp.path());
    let predict = |as_of: &str| {
        forecast(
            tmp.path(),
            &["predict", "--model", "m.safetensors", "--as-of", as_of, "--log", "ledger.csv"],
        )
        .ok()
    };
    let first = predict("2024-12-20");
    assert!(first.stderr.contains("1 new row(s) logged"), "{first}");
    let rerun = predict("2024-12-20");
    assert!(rerun.stderr.contains("0 new row(s) logged"), "{rerun}");
    predict("2024-12-23");
    predict("2025-01-03"); // its day (2025-01-06) is not in the data yet: pending
    let text = std::fs::read_to_string(tmp.path().join("ledger.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "run_time,model,model_hash,as_of,date,step,close,lower,upper,level,last_close,sigma,series"
    );
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[1].contains(",2024-12-20,2024-12-23,1,"), "{text}");

    let sample = sample_csv();
    let out =
        forecast(tmp.path(), &["score", "--log", "ledger.csv", "--csv", s(&sample), "--format", "json"])
            .ok()
            .json();
    let model = &out["models"][0];
    assert_eq!(model["scored"], 2);
    assert_eq!(model["pending"], 1);
    // Recompute the realised errors from the ledger and the sample independently.
    let closes: std::collections::HashMap<String, f64> = std::fs::read_to_string(&sample)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[4].parse().unwrap())
        })
        .collect();
    let (mut se, mut naive_se) = (0.0, 0.0);
    for line in &lines[1..3] {
        let f: Vec<&str> = line.split(',').collect();
        let actual = closes[f[4]];
        se += (f[6].parse::<f64>().unwrap() - actual).powi(2);
        naive_se += (f[10].parse::<f64>().unwrap() - actual).powi(2);
    }
    let rmse = (se / 2.0).sqrt();
    assert!((model["rmse"].as_f64().unwrap() - rmse).abs() < 1e-9, "{out}");
    assert!((model["naive_rmse"].as_f64().unwrap() - (naive_se / 2.0).sqrt()).abs() < 1e-9, "{out}");
    assert_eq!(model["intervals"][0]["forecasts"], 2);
    // The realised interval score, from the logged bounds, beside the EWMA and GARCH bands.
    let mut winkler = 0.0;
    for line in &lines[1..3] {
        let f: Vec<&str> = line.split(',').collect();
        let (lower, upper, level) =
            (f[7].parse::<f64>().unwrap(), f[8].parse::<f64>().unwrap(), f[9].parse::<f64>().unwrap());
        let actual = closes[f[4]];
        let alpha = 1.0 - level;
        winkler += upper - lower
            + if actual < lower { 2.0 / alpha * (lower - actual) } else { 0.0 }
            + if actual > upper { 2.0 / alpha * (actual - upper) } else { 0.0 };
    }
    let interval = &model["intervals"][0];
    assert!((interval["interval_score"].as_f64().unwrap() - winkler / 2.0).abs() < 1e-9, "{out}");
    let baselines: Vec<&str> =
        interval["baselines"].as_array().unwrap().iter().map(|b| b["method"].as_str().unwrap()).collect();
    assert_eq!(baselines, ["ewma", "garch-t"], "{out}");
    // Beside each skill, its test: on 2 scored days, with the skill of the same errors.
    let test = &model["significance"]["squared"];
    assert_eq!(test["n"], 2, "{out}");
    assert!((test["skill"].as_f64().unwrap() - model["skill"].as_f64().unwrap()).abs() < 1e-12, "{out}");
    assert!(test.get("p_value").is_some() && test.get("ci_low").is_some(), "{out}");
    assert_eq!(interval["baselines"][0]["significance"]["n"], 2, "{out}");
    let table = forecast(tmp.path(), &["score", "--log", "ledger.csv", "--csv", s(&sample)]).ok().stdout;
    assert!(table.contains("naive (tomorrow = today): RMSE") && table.contains("(DM p "), "{table}");

    // Ledgers from before the series column, and before the sigma column, still score, and a new
    // forecast rewrites them whole.
    let without = |columns: usize| -> String {
        text.lines()
            .map(|l| (0..columns).fold(l, |l, _| l.rsplit_once(',').unwrap().0).to_string() + "\n")
            .collect()
    };
    let sigma_era = without(1);
    assert!(sigma_era
        .starts_with("run_time,model,model_hash,as_of,date,step,close,lower,upper,level,last_close,sigma\n"));
    std::fs::write(tmp.path().join("sigma.csv"), &sigma_era).unwrap();
    let scored =
        forecast(tmp.path(), &["score", "--log", "sigma.csv", "--csv", s(&sample), "--format", "json"]);
    assert_eq!(scored.ok().json()["models"][0]["scored"], 2);
    let old = without(2);
    assert!(old.starts_with("run_time,model,model_hash,as_of,date,step,close,lower,upper,level,last_close\n"));
    std::fs::write(tmp.path().join("old.csv"), &old).unwrap();
    let again = forecast(tmp.path(), &["score", "--log", "old.csv", "--csv", s(&sample), "--format", "json"])
        .ok()
        .json();
    assert_eq!(again["models"][0]["scored"], 2);
    forecast(
        tmp.path(),
        &["predict", "--model", "m.safetensors", "--as-of", "2024-12-24", "--log", "old.csv"],
    )
    .ok();
    let rewritten = std::fs::read_to_string(tmp.path().join("old.csv")).unwrap();
    assert!(rewritten.starts_with(lines[0]), "{rewritten}");
    assert_eq!(rewritten.lines().count(), 5, "{rewritten}");
}

/// The README's cron jobs, step by step, on a real file: nightly predict with --max-age and
/// --log, weekly gated retraining with --wait, then score.
#[test]
fn the_readme_cron_jobs_run_end_to_end_on_a_real_file() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = test_data("XOM_kaggle-sp500-5yr.csv");
    let train = |extra: &[&str]| {
        let mut args =
            vec!["train", "--csv", s(&csv), "--out", "xom.safetensors", "--quiet", "--format", "json"];
        args.extend_from_slice(FAST);
        args.extend_from_slice(extra);
        forecast(tmp.path(), &args)
    };
    let first = train(&["--promote-if-better", "--wait", "--lr", "0.01"]);
    assert!(first.code == 0 || first.code == 6, "{first}");
    if first.code == 6 {
        // Not better than naive: no model yet; a plain train makes one.
        train(&[]).ok();
    }
    // Nightly, on the days after the data ends: fresh within 4 days, then stale.
    for (day, code) in [("2018-02-08", 0), ("2018-02-09", 0), ("2018-02-14", 5)] {
        let run = forecast(
            tmp.path(),
            &[
                "predict",
                "--model",
                "xom.safetensors",
                "--max-age",
                "4",
                "--as-of",
                day,
                "--log",
                "forecasts.csv",
                "--quiet",
                "--format",
                "json",
            ],
        );
        assert_eq!(run.code, code, "{run}");
    }
    // Earlier days, as the job would have run them, then the weekly retrain and score.
    for day in ["2018-01-29", "2018-01-30", "2018-01-31"] {
        forecast(
            tmp.path(),
            &["predict", "--model", "xom.safetensors", "--as-of", day, "--log", "forecasts.csv", "--quiet"],
        )
        .ok();
    }
    let weekly = train(&["--promote-if-better", "--wait"]);
    assert!(weekly.code == 0 || weekly.code == 6, "{weekly}");
    assert!(std::fs::read_to_string(tmp.path().join("forecasts.csv")).unwrap().lines().count() >= 4);
    let score =
        forecast(tmp.path(), &["score", "--log", "forecasts.csv", "--csv", s(&csv), "--format", "json"])
            .ok()
            .json();
    let model = &score["models"][0];
    assert_eq!(model["scored"], 3, "{score}"); // the three January forecasts have actuals
    assert!(model["pending"].as_u64().unwrap() >= 1, "{score}");
}
