//! The command line end to end on the synthetic sample and small fixtures: exit codes and their
//! messages, atomic model files, repeatability, output formats.

mod common;
use common::{forecast, s, sample_csv, FAST};
use std::path::Path;

fn train_args<'a>(csv: &'a str, out: &'a str) -> Vec<&'a str> {
    let mut args = vec!["train", "--csv", csv, "--out", out];
    args.extend_from_slice(FAST);
    args
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn train_json_reports_metrics_beside_naive_and_predict_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    let mut args = train_args(s(&sample), "m.safetensors");
    args.extend(["--format", "json"]);
    let out = forecast(tmp.path(), &args).ok().json();
    for key in ["model", "epochs_run", "best_epoch", "val_start", "val_end"] {
        assert!(!out[key].is_null(), "missing {key}: {out}");
    }
    // The validation pass is part of each epoch's time.
    let (epoch, validation) =
        (out["seconds_per_epoch"].as_f64().unwrap(), out["validation_seconds_per_epoch"].as_f64().unwrap());
    assert!(validation > 0.0 && validation < epoch, "{out}");
    let v = &out["validation"];
    for who in ["model", "naive"] {
        assert!(v[who]["rmse"].as_f64().unwrap() > 0.0);
        assert!(v[who]["mae"].as_f64().unwrap() > 0.0);
    }
    let skill = v["skill"].as_f64().unwrap();
    let expected = 1.0 - v["model"]["rmse"].as_f64().unwrap() / v["naive"]["rmse"].as_f64().unwrap();
    assert!((skill - expected).abs() < 1e-12);
    assert_eq!(out["forecast"]["as_of"], "2025-01-03");
    assert_eq!(out["forecast"]["forecasts"][0]["date"], "2025-01-06"); // Friday → Monday

    let table = forecast(tmp.path(), &["predict", "--model", "m.safetensors"]).ok();
    assert!(table.stdout.contains("2025-01-06"), "{table}");
}

#[test]
fn model_file_is_safetensors_with_pytorch_names_and_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    forecast(tmp.path(), &train_args(s(&sample), "m.safetensors")).ok();
    let bytes = std::fs::read(tmp.path().join("m.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    assert_eq!(
        names,
        [
            "fc.bias",
            "fc.weight",
            "lstm.bias_hh_l0",
            "lstm.bias_ih_l0",
            "lstm.weight_hh_l0",
            "lstm.weight_ih_l0",
            "scale.bias",
            "scale.weight"
        ]
    );
    // Five price features and the two volatility features of the default (normal) head.
    assert_eq!(st.tensor("lstm.weight_ih_l0").unwrap().shape(), &[32, 7]);
    assert_eq!(st.tensor("scale.weight").unwrap().shape(), &[1, 8]);
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["format"], "forecast-model");
    assert_eq!(meta["format_version"], "1");
    assert_eq!(meta["seq_len"], "10");
    let model: serde_json::Value = serde_json::from_str(&meta["model"]).unwrap();
    assert_eq!(model["distribution"], "normal");
    let data: serde_json::Value = serde_json::from_str(&meta["data"]).unwrap();
    assert_eq!(data["csv"], s(&sample));
    assert_eq!(data["first_date"], "2015-01-05");
    for key in ["crate_version", "model", "training", "features", "scaler", "validation", "target"] {
        assert!(meta.contains_key(key), "metadata lacks {key}");
    }
}

#[test]
fn same_seed_gives_the_same_model_bits_and_forecast() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    let run = |out: &str, seed: &str| {
        // Two layers with dropout, two threads: every source of randomness and parallelism.
        let args = [
            "train",
            "--csv",
            s(&sample),
            "--out",
            out,
            "--seed",
            seed,
            "--format",
            "json",
            "--dropout",
            "0.2",
            "--layers",
            "2",
            "--hidden",
            "8",
            "--epochs",
            "3",
            "--seq-len",
            "10",
            "--threads",
            "2",
        ];
        forecast(tmp.path(), &args).ok().json()
    };
    let a = run("a.safetensors", "7");
    let b = run("b.safetensors", "7");
    let c = run("c.safetensors", "8");
    let bytes = |name: &str| std::fs::read(tmp.path().join(name)).unwrap();
    assert_eq!(bytes("a.safetensors"), bytes("b.safetensors"), "same seed, different model bits");
    assert_eq!(a["forecast"], b["forecast"]);
    assert_ne!(bytes("a.safetensors"), bytes("c.safetensors"), "the seed must matter");
    assert_ne!(a["forecast"], c["forecast"]);
}

#[test]
fn predict_rereads_the_recorded_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("prices.csv");
    std::fs::copy(sample_csv(), &csv).unwrap();
    forecast(tmp.path(), &train_args("prices.csv", "m.safetensors")).ok();
    // A cron job appends today's bar; predict (run from another folder) must see it.
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("2025-01-06,74.70,75.90,74.10,75.50,2000000\n");
    std::fs::write(&csv, text).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let model = tmp.path().join("m.safetensors");
    let out = forecast(elsewhere.path(), &["predict", "--model", s(&model), "--format", "json"]).ok().json();
    assert_eq!(out["as_of"], "2025-01-06");
    assert_eq!(out["last_close"], 75.5);
    assert_eq!(out["forecasts"][0]["date"], "2025-01-07");
}

#[test]
fn exit_2_for_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    forecast(tmp.path(), &["train"]).fails_with(2, &["--csv"]);
    forecast(tmp.path(), &["train", "--csv", "x.csv", "--val-fraction", "1.5"])
        .fails_with(2, &["--val-fraction"]);
    forecast(tmp.path(), &["predict", "--bogus"]).fails_with(2, &["--bogus"]);
    forecast(tmp.path(), &["predict", "--device", "tpu"]).fails_with(2, &["--device tpu"]);
    forecast(tmp.path(), &["predict", "--device", "cuda:x"]).fails_with(2, &["--device cuda:x"]);
    // Negative numbers reach the range check instead of being taken for flags.
    for (flag, value, range) in [
        ("--hidden", "-1", "between 1 and 1024"),
        ("--epochs", "-5", "between 1 and 100000"),
        ("--lr", "-0.1", "greater than 0 and at most 10"),
        ("--hidden", "100000", "between 1 and 1024"),
        ("--layers", "100000", "between 1 and 8"),
        ("--hidden", "18446744073709551615", "between 1 and 1024"),
    ] {
        let run = forecast(tmp.path(), &["train", "--csv", "x.csv", flag, value]);
        let run = run.fails_with(2, &[&format!("error: {flag} {value}: must be"), range]);
        assert_eq!(run.stderr.lines().count(), 1, "{run}");
    }
    forecast(tmp.path(), &["backtest", "--csv", "x.csv", "--folds", "1000000000000"])
        .fails_with(2, &["--folds 1000000000000: must be between 1 and 1000"]);
    forecast(tmp.path(), &["predict", "--max-age", "9223372036854775808"])
        .fails_with(2, &["--max-age 9223372036854775808: must be between 0 and 1000000"]);
    forecast(tmp.path(), &["bench", "--case", "30x100000"]).fails_with(2, &["--case 30x100000"]);
    // --plot is checked before any training: the CSV does not even exist.
    forecast(tmp.path(), &["train", "--csv", "x.csv", "--plot", "x.gif"]).fails_with(2, &[".png or .svg"]);
    forecast(tmp.path(), &["backtest", "--csv", "x.csv", "--plot", "x.GIF"]).fails_with(2, &[".png or .svg"]);
    let sample = sample_csv();
    forecast(tmp.path(), &train_args(s(&sample), "no/such/folder/m.safetensors"))
        .fails_with(2, &["does not exist"]);
}

#[test]
fn exit_3_for_bad_input_data_naming_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    forecast(tmp.path(), &train_args("missing.csv", "m.safetensors"))
        .fails_with(3, &["missing.csv", "cannot read"]);
    let bad = write(
        tmp.path(),
        "bad.csv",
        "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1,2,0.5,abc,10\n",
    );
    forecast(tmp.path(), &train_args(&bad, "m.safetensors")).fails_with(3, &["bad.csv:3:5", "Close", "abc"]);
    let empty = write(tmp.path(), "empty.csv", "");
    forecast(tmp.path(), &train_args(&empty, "m.safetensors")).fails_with(3, &["empty.csv", "empty"]);
    let short = write(
        tmp.path(),
        "short.csv",
        "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n2024-01-03,1,2,0.5,1.6\n",
    );
    forecast(tmp.path(), &train_args(&short, "m.safetensors")).fails_with(3, &["too few rows", "--seq-len"]);
    assert!(!tmp.path().join("m.safetensors").exists(), "a failed train must not leave a model file");
}

#[test]
fn exit_4_for_bad_model_files() {
    let tmp = tempfile::tempdir().unwrap();
    forecast(tmp.path(), &["predict", "--model", "none.safetensors"])
        .fails_with(4, &["none.safetensors", "train"]);
    write(tmp.path(), "junk.safetensors", "this is not a model");
    forecast(tmp.path(), &["predict", "--model", "junk.safetensors"])
        .fails_with(4, &["junk.safetensors", "damaged"]);

    let sample = sample_csv();
    forecast(tmp.path(), &train_args(s(&sample), "m.safetensors")).ok();
    let good = std::fs::read(tmp.path().join("m.safetensors")).unwrap();
    std::fs::write(tmp.path().join("cut.safetensors"), &good[..good.len() - 100]).unwrap();
    forecast(tmp.path(), &["predict", "--model", "cut.safetensors"]).fails_with(4, &["cut.safetensors"]);

    // A future format version is refused with a message that says what to do.
    let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(good[8..8 + n].to_vec()).unwrap();
    let bumped = header.replace("\"format_version\":\"1\"", "\"format_version\":\"9\"");
    assert_ne!(header, bumped);
    let mut future = good[..8].to_vec();
    future.extend(bumped.as_bytes());
    future.extend(&good[8 + n..]);
    std::fs::write(tmp.path().join("future.safetensors"), future).unwrap();
    forecast(tmp.path(), &["predict", "--model", "future.safetensors"])
        .fails_with(4, &["format version 9", "retrain"]);

    // Trained with volume, asked to predict from a CSV without it.
    let text = std::fs::read_to_string(&sample).unwrap();
    let no_volume: String = text.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n").collect();
    let csv = write(tmp.path(), "novol.csv", &no_volume);
    forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--csv", &csv])
        .fails_with(4, &["m.safetensors", "log_volume_change"]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_train_that_fails_after_training_leaves_the_existing_model_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    forecast(tmp.path(), &train_args(s(&sample), "m.safetensors")).ok();
    let before = std::fs::read(tmp.path().join("m.safetensors")).unwrap();
    // Nothing can be created in /proc: the plot, drawn after training and before the model is
    // written, fails (exit 9) and the run stops there.
    let mut args = train_args(s(&sample), "m.safetensors");
    args.extend(["--plot", "/proc/forecast-test.png"]);
    forecast(tmp.path(), &args).fails_with(9, &["cannot write plot /proc/forecast-test.png"]);
    assert_eq!(std::fs::read(tmp.path().join("m.safetensors")).unwrap(), before);
    let mut entries: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    // The model and its (empty, reusable) lock file; no temporary file.
    assert_eq!(entries, [".m.safetensors.lock", "m.safetensors"], "debris left behind");
}

#[test]
fn quiet_prints_nothing_on_stderr_and_logs_have_no_control_characters() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    let mut args = train_args(s(&sample), "m.safetensors");
    args.push("--quiet");
    let run = forecast(tmp.path(), &args).ok();
    assert_eq!(run.stderr, "", "{run}");
    assert!(!run.stdout.is_empty());
    let mut args = train_args(s(&sample), "m.safetensors");
    args.push("-v");
    let run = forecast(tmp.path(), &args).ok();
    assert!(run.stderr.contains("epoch"), "{run}");
    assert!(!run.stderr.contains('\r') && !run.stderr.contains('\x1b'), "{run}");
}

/// Every subcommand, for the checks that must hold for each.
const SUBCOMMANDS: [&str; 9] =
    ["train", "predict", "backtest", "inspect", "bench", "score", "merge", "completions", "man"];

#[test]
fn help_and_readme_list_the_same_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut helps = vec![forecast(tmp.path(), &["--help"]).ok()];
    for command in SUBCOMMANDS {
        helps.push(forecast(tmp.path(), &[command, "--help"]).ok());
    }
    for code in 0..=9 {
        assert!(readme.contains(&format!("| {code} |")), "README lacks exit code {code}");
        for help in &helps {
            assert!(help.stdout.contains(&format!("\n  {code}  ")), "help lacks exit code {code}:\n{help}");
        }
    }
}

#[test]
fn every_subcommand_is_listed_here() {
    let tmp = tempfile::tempdir().unwrap();
    let help = forecast(tmp.path(), &["--help"]).ok();
    let listed: Vec<&str> = help
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|&name| name != "help")
        .collect();
    assert_eq!(listed, SUBCOMMANDS, "{help}");
}

#[test]
fn device_selection_names_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    let mut args = train_args(s(&sample), "m.safetensors");
    args.extend(["--device", "cuda"]);
    if cfg!(feature = "cuda") {
        // A CUDA build: either a GPU trains, or the error names the driver/GPU.
        let run = forecast(tmp.path(), &args);
        assert!(run.code == 0 || (run.code == 8 && run.stderr.contains("GPU")), "{run}");
    } else {
        forecast(tmp.path(), &args).fails_with(8, &["no CUDA support", "--features cuda"]);
        assert!(!tmp.path().join("m.safetensors").exists());
    }
    // auto quietly uses the CPU when there is no GPU, and the CPU model predicts on the CPU.
    let mut auto = train_args(s(&sample), "m.safetensors");
    auto.extend(["--device", "auto"]);
    forecast(tmp.path(), &auto).ok();
    forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--device", "cpu"]).ok();
}

#[test]
fn threads_come_from_the_flag_then_rayon_num_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    let args = [
        "train",
        "--csv",
        s(&sample),
        "--out",
        "m.safetensors",
        "--epochs",
        "1",
        "--hidden",
        "4",
        "--format",
        "json",
    ];
    let run = |env: Option<&str>, extra: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_forecast"));
        command.args(args).args(extra).current_dir(tmp.path());
        match env {
            Some(v) => command.env("RAYON_NUM_THREADS", v),
            None => command.env_remove("RAYON_NUM_THREADS"),
        };
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["threads"].as_u64().unwrap()
    };
    assert_eq!(run(Some("3"), &[]), 3);
    assert_eq!(run(Some("3"), &["--threads", "2"]), 2);
    let cores = std::thread::available_parallelism().unwrap().get() as u64;
    assert_eq!(run(None, &[]), cores);
}

/// The bytes of every file directly in `dir`, to check that a refused run changed nothing.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn an_output_that_is_an_input_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(sample_csv(), tmp.path().join("p.csv")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("p.csv", tmp.path().join("link.csv")).unwrap();
    let before = snapshot(tmp.path());
    let mut cases: Vec<(Vec<&str>, [&str; 2])> = vec![
        (vec!["train", "--csv", "p.csv", "--out", "p.csv"], ["--out p.csv", "--csv p.csv"]),
        (vec!["train", "--csv", "p.csv", "--out", "./p.csv"], ["--out ./p.csv", "--csv p.csv"]),
        (vec!["train", "--csv", "p.csv", "--plot", "p.csv.png", "--out", "p.csv.png"], ["--out", "--plot"]),
        (vec!["backtest", "--csv", "p.csv", "--predictions", "p.csv"], ["--predictions p.csv", "--csv"]),
        (
            vec!["backtest", "--csv", "p.csv", "--predictions", "x.svg", "--plot", "x.svg"],
            ["--plot", "--predictions"],
        ),
        (
            vec!["predict", "--model", "m.safetensors", "--csv", "p.csv", "--log", "p.csv"],
            ["--log p.csv", "--csv p.csv"],
        ),
        (vec!["predict", "--model", "p.csv", "--log", "./p.csv"], ["--log ./p.csv", "--model p.csv"]),
    ];
    if cfg!(unix) {
        cases.push((vec!["train", "--csv", "link.csv", "--out", "p.csv"], ["--out p.csv", "--csv link.csv"]));
        cases.push((
            vec!["backtest", "--csv", "p.csv", "--predictions", "link.csv"],
            ["--predictions link.csv", "--csv"],
        ));
    }
    for (mut args, needles) in cases {
        if args[0] != "predict" {
            args.extend_from_slice(FAST);
        }
        let run = forecast(tmp.path(), &args).fails_with(2, &needles);
        assert_eq!(run.stderr.lines().count(), 1, "{run}");
        assert_eq!(snapshot(tmp.path()), before, "a refused run changed a file:\n{run}");
    }
}

#[test]
fn the_ledger_is_written_only_to_a_new_file_an_empty_one_or_a_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(sample_csv(), tmp.path().join("p.csv")).unwrap();
    forecast(tmp.path(), &train_args("p.csv", "m.safetensors")).ok();
    write(tmp.path(), "notes.txt", "remember to buy milk\n");
    write(tmp.path(), "header.csv", "Date,Open,High,Low,Close\n");
    write(tmp.path(), "empty.csv", "");
    let before = snapshot(tmp.path());
    for log in ["notes.txt", "header.csv"] {
        let run = forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--log", log])
            .fails_with(3, &[&format!("{log}:1"), "not a forecast ledger", "nothing was written"]);
        assert_eq!(run.stderr.lines().count(), 1, "{run}");
    }
    // The CSV recorded in the model (no --csv given) is not a ledger either.
    forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--log", "p.csv"])
        .fails_with(3, &["p.csv:1", "not a forecast ledger"]);
    assert_eq!(snapshot(tmp.path()), before);
    forecast(tmp.path(), &["score", "--log", "p.csv", "--csv", "p.csv"])
        .fails_with(3, &["p.csv:1", "not a forecast ledger"]);
    forecast(tmp.path(), &["score", "--log", "none.csv", "--csv", "p.csv"]).fails_with(3, &["none.csv"]);
    // An empty file becomes a ledger.
    forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--log", "empty.csv"]).ok();
    let ledger = std::fs::read_to_string(tmp.path().join("empty.csv")).unwrap();
    assert!(ledger.starts_with("run_time,model,model_hash,"), "{ledger}");
}

#[test]
fn a_model_path_with_a_comma_and_a_quote_round_trips_through_the_ledger_and_score() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    let model = "m,\"odd\".safetensors";
    forecast(tmp.path(), &train_args(s(&sample), model)).ok();
    forecast(tmp.path(), &["predict", "--model", model, "--as-of", "2024-12-20", "--log", "l.csv"]).ok();
    forecast(tmp.path(), &["predict", "--model", model, "--as-of", "2024-12-20", "--format", "csv"]).ok();
    let mut reader = csv::Reader::from_path(tmp.path().join("l.csv")).unwrap();
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[1], model);
    let json = forecast(tmp.path(), &["score", "--log", "l.csv", "--csv", s(&sample), "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["models"][0]["model"], model);
    assert_eq!(json["models"][0]["scored"], 1);
    let table =
        forecast(tmp.path(), &["score", "--log", "l.csv", "--csv", s(&sample), "--format", "csv"]).ok();
    let mut reader = csv::Reader::from_reader(table.stdout.as_bytes());
    assert_eq!(reader.headers().unwrap().len(), 10);
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!((&row[0], &row[2], row.len()), (model, "sample", 10), "{table}");
}

/// Runs `sh -c SCRIPT` with the binary as $0 in `dir`.
fn shell(dir: &Path, script: &str) -> std::process::Output {
    std::process::Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_forecast")])
        .current_dir(dir)
        .output()
        .unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn a_closed_stdout_exits_9_and_a_broken_pipe_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    forecast(tmp.path(), &train_args(s(&sample), "m.safetensors")).ok();
    for command in ["\"$0\" predict --model m.safetensors", "\"$0\" completions bash", "\"$0\" man"] {
        let out = shell(tmp.path(), &format!("{command} >&-"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(9), "{command}: {stderr}");
        assert!(stderr.contains("cannot write stdout"), "{command}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        // /dev/null is a place to write to, not a closed stdout.
        let out = shell(tmp.path(), &format!("{command} >/dev/null"));
        assert_eq!(out.status.code(), Some(0), "{command}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // A reader that goes away (| head -c 10) is not an error.
    for command in ["\"$0\" predict --model m.safetensors", "\"$0\" completions bash", "\"$0\" man"] {
        let out = shell(tmp.path(), &format!("{{ {command}; echo $? > code; }} | head -c 10"));
        let code = std::fs::read_to_string(tmp.path().join("code")).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code.trim(), "0", "{command}: {stderr}");
        assert_eq!(out.stdout.len(), 10);
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A pipe closed before anything is written.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_forecast"))
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[cfg(target_os = "linux")]
#[test]
fn leftover_temporary_files_of_dead_writers_are_removed_by_the_next_write() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    // Linux pids stop at 4194304: 4194305 is a writer killed long ago; pid 1 is always alive.
    let dead = [".m.safetensors.tmp-4194305-Ab12Cd", ".v.png.tmp-4194306-Xy34Zw.png"];
    let alive = [".m.safetensors.tmp-1-Ef56Gh", ".v.png.tmp-1-Ij78Kl.png"];
    for name in dead.iter().chain(&alive) {
        write(tmp.path(), name, "partial");
    }
    let mut args = train_args(s(&sample), "m.safetensors");
    args.extend(["--plot", "v.png"]);
    forecast(tmp.path(), &args).ok();
    for name in dead {
        assert!(!tmp.path().join(name).exists(), "{name} was not removed");
    }
    for name in alive {
        assert!(tmp.path().join(name).exists(), "{name} of a live writer was removed");
    }
}

#[test]
fn errors_are_one_line_even_for_paths_with_newlines() {
    let tmp = tempfile::tempdir().unwrap();
    let run = forecast(tmp.path(), &["train", "--csv", "bad\nname\r.csv"]);
    let run = run.fails_with(3, &["bad\\nname\\r.csv"]);
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    let run = forecast(tmp.path(), &["train", "--csv", "x.csv", "--seq-len", "1\n2"]);
    let run = run.fails_with(2, &["--seq-len 1\\n2: must be"]);
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    let run = forecast(tmp.path(), &["predict", "--model", "no\x1b[31mmodel"]);
    let run = run.fails_with(4, &["no\\u{1b}[31mmodel"]);
    assert!(!run.stderr.contains('\x1b'), "{run}");
}
