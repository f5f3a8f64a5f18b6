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
            "lstm.weight_ih_l0"
        ]
    );
    assert_eq!(st.tensor("lstm.weight_ih_l0").unwrap().shape(), &[32, 5]);
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["format"], "forecast-model");
    assert_eq!(meta["format_version"], "1");
    assert_eq!(meta["seq_len"], "10");
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

#[test]
fn a_failed_train_leaves_the_existing_model_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_csv();
    forecast(tmp.path(), &train_args(s(&sample), "m.safetensors")).ok();
    let before = std::fs::read(tmp.path().join("m.safetensors")).unwrap();
    // A learning rate this large makes the loss non-finite: training fails after it started.
    let mut args = train_args(s(&sample), "m.safetensors");
    args.extend(["--lr", "1e30", "--clip-norm", "1e30"]);
    forecast(tmp.path(), &args).fails_with(1, &["diverged"]);
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

#[test]
fn help_and_readme_list_the_same_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let help = forecast(tmp.path(), &["--help"]).ok();
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for code in 0..=8 {
        assert!(help.stdout.contains(&format!("\n  {code}  ")), "--help lacks exit code {code}:\n{help}");
        assert!(readme.contains(&format!("| {code} |")), "README lacks exit code {code}");
    }
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
