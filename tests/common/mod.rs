//! The end-to-end harness: runs the built `forecast` binary in a temporary folder and, when an
//! expectation fails, shows the command, exit code, stdout and stderr.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Small, quick library settings for tests that fit in process: a 1-layer LSTM of 8, seq-len 10,
/// horizon 1, 3 epochs, the squared-error head.
pub fn small_settings() -> forecast::train::Settings {
    forecast::train::Settings {
        seq_len: 10,
        horizon: 1,
        levels: vec![0.9],
        hidden: 8,
        layers: 1,
        dropout: 0.0,
        distribution: Default::default(),
        train: forecast::train::TrainConfig {
            epochs: 3,
            batch_size: 32,
            lr: 1e-3,
            val_fraction: 0.1,
            patience: 5,
            seed: 9,
            clip_norm: 1.0,
            windows_per_epoch: None,
        },
    }
}

/// Small, quick training flags for tests (the defaults are exercised by the README command).
pub const FAST: &[&str] =
    &["--hidden", "8", "--layers", "1", "--epochs", "3", "--seq-len", "10", "--threads", "1"];

pub struct Run {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ {}\nexit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// Asserts success and returns self.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success:\n{self}");
        self
    }

    /// Asserts the exit code and that stderr mentions every `needle`.
    pub fn fails_with(self, code: i32, needles: &[&str]) -> Run {
        assert_eq!(self.code, code, "wrong exit code:\n{self}");
        for needle in needles {
            assert!(self.stderr.contains(needle), "stderr lacks {needle:?}:\n{self}");
        }
        assert!(!self.stderr.contains("panicked"), "panic:\n{self}");
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }
}

/// The forecast binary, without the variables of a job array around the tests (a test that wants
/// them sets them): they would shard every run.
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_forecast"));
    for var in
        ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX", "FORECAST_SHARD_COUNT"]
    {
        command.env_remove(var);
    }
    command
}

/// Runs `forecast ARGS` in `dir`, killing it after `limit`: the run and its exit status, `None`
/// when it had to be killed (a hang). Its stdin is empty.
pub fn forecast_limited(dir: &Path, args: &[&str], limit: Duration) -> (Run, Option<ExitStatus>) {
    let mut child = command()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the forecast binary");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|pipe| Box::new(pipe) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|pipe| Box::new(pipe) as Box<dyn Read + Send>));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("cannot wait for forecast") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        command: format!("forecast {}", args.join(" ")),
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    (run, status)
}

/// Runs `forecast ARGS` in `dir`.
pub fn forecast(dir: &Path, args: &[&str]) -> Run {
    let output = command().args(args).current_dir(dir).output().expect("cannot start the forecast binary");
    Run {
        command: format!("forecast {}", args.join(" ")),
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A real price file from tests/data (trimmed copies of ../shared/data; see tests/data/README.md).
pub fn test_data(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

/// The project's synthetic sample.
pub fn sample_csv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample.csv")
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
