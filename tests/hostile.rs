//! Hostile command lines, replayed from tests/hostile/cases.txt (the file says its format): each
//! runs the built binary in a folder of fixtures, with a 60-second limit, and must exit with the
//! expected code, print a failure as exactly one line on stderr (with the expected text), never
//! panic or die by a signal, print no NaN or inf, and leave every fixture byte-identical.

mod common;
use common::{forecast, forecast_limited, Run, FAST};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

/// How long one case may run.
const LIMIT: Duration = Duration::from_secs(60);

/// The commands that take --quiet (added to every case of theirs, so that stderr holds nothing
/// but a failure's error line).
const QUIET: [&str; 6] = ["train", "predict", "backtest", "inspect", "score", "bench"];

/// One line of cases.txt.
#[derive(Debug)]
struct Case {
    line: usize,
    code: i32,
    args: Vec<String>,
    needle: Option<String>,
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(3, '|').map(str::trim).collect();
        assert!(parts.len() >= 2, "cases.txt:{}: expected EXIT | ARGS [| TEXT]: {raw}", i + 1);
        let code = parts[0].parse().unwrap_or_else(|_| panic!("cases.txt:{}: bad exit code", i + 1));
        let args = parts[1]
            .split_whitespace()
            .map(|a| if a == "''" { String::new() } else { a.to_string() })
            .collect();
        let needle = parts.get(2).filter(|t| !t.is_empty()).map(|t| t.to_string());
        cases.push(Case { line: i + 1, code, args, needle });
    }
    cases
}

/// `rows` weekdays of a deterministic random walk from 2020-01-01, as a price CSV.
fn synthetic_csv(rows: usize) -> String {
    let mut text = String::from("Date,Open,High,Low,Close,Volume\n");
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut close = 100.0f64;
    let mut day = 0u32; // days since 2020-01-01, a Wednesday
    let mut written = 0;
    while written < rows {
        let weekday = (day + 2) % 7; // 0 = Monday
        if weekday < 5 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let step = (state % 2001) as f64 / 1000.0 - 1.0; // -1 … 1
            let open = close;
            close = (close * (1.0 + step * 0.02)).max(1.0);
            let (high, low) = (open.max(close) * 1.01, open.min(close) * 0.99);
            let volume = 1_000_000 + state % 500_000;
            let date = date_of(day);
            text += &format!("{date},{open:.4},{high:.4},{low:.4},{close:.4},{volume}\n");
            written += 1;
        }
        day += 1;
    }
    text
}

/// The date `days` after 2020-01-01, as YYYY-MM-DD.
fn date_of(days: u32) -> String {
    let (mut year, mut left) = (2020u32, days);
    loop {
        let length = if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) { 366 } else { 365 };
        if left < length {
            break;
        }
        left -= length;
        year += 1;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let months = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut month = 0;
    while left >= months[month] {
        left -= months[month];
        month += 1;
    }
    format!("{year}-{:02}-{:02}", month + 1, left + 1)
}

/// Writes the fixtures into `dir`; returns the files that no case may change.
fn fixtures(dir: &Path) -> Vec<PathBuf> {
    let csv = synthetic_csv(300);
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).unwrap();
        dir.join(name)
    };
    let mut kept = vec![
        write("p.csv", &csv),
        write("prices.png", &csv),
        write("notes.txt", "remember: buy low, sell high\n"),
        write("header.csv", "Date,Open,High,Low,Close,Volume\n"),
        write("empty.safetensors", ""),
        write("empty.csv", ""),
    ];
    std::fs::create_dir(dir.join("d")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("p.csv", dir.join("link.csv")).unwrap();
    let mut train = vec!["train", "--csv", "p.csv", "--out", "m.safetensors", "--quiet"];
    train.extend_from_slice(FAST);
    forecast(dir, &train).ok();
    kept.push(dir.join("m.safetensors"));
    kept
}

/// Whether `text` holds a NaN or an infinity as a word ("NaN", "inf", "-inf", "infinity").
fn has_non_finite(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| ["nan", "inf", "infinity"].contains(&word.to_ascii_lowercase().as_str()))
}

/// What is wrong with one case's run, if anything.
fn judge(case: &Case, run: &Run, status: Option<ExitStatus>) -> Vec<String> {
    let mut wrong = Vec::new();
    match status {
        None => wrong.push(format!("still running after {}s; killed", LIMIT.as_secs())),
        Some(status) if status.code().is_none() => wrong.push(format!("killed by a signal: {status}")),
        Some(_) if run.code == 101 => wrong.push("exit 101 (a panic)".into()),
        Some(_) if run.code != case.code => wrong.push(format!("exit {}, expected {}", run.code, case.code)),
        Some(_) => {}
    }
    if run.stderr.contains("panicked") {
        wrong.push("panicked".into());
    }
    if case.code != 0 && run.stderr.lines().count() != 1 {
        wrong.push(format!("{} lines on stderr, expected one", run.stderr.lines().count()));
    }
    if let Some(needle) = &case.needle {
        if !run.stderr.contains(needle.as_str()) {
            wrong.push(format!("stderr lacks {needle:?}"));
        }
    }
    if has_non_finite(&run.stdout) {
        wrong.push("NaN or inf on stdout".into());
    }
    wrong
}

#[test]
fn hostile_command_lines_fail_cleanly_with_the_right_code() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile/cases.txt"))
        .expect("tests/hostile/cases.txt");
    let cases = parse_cases(&text);
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let tmp = tempfile::tempdir().unwrap();
    let kept = fixtures(tmp.path());
    let snapshot = || kept.iter().map(|p| std::fs::read(p).unwrap_or_default()).collect::<Vec<_>>();
    let before = snapshot();
    let mut failures = Vec::new();
    for case in &cases {
        let mut args = case.args.clone();
        if args.first().is_some_and(|c| QUIET.contains(&c.as_str())) {
            args.push("--quiet".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (run, status) = forecast_limited(tmp.path(), &args, LIMIT);
        let mut wrong = judge(case, &run, status);
        if snapshot() != before {
            wrong.push("a fixture was changed".into());
            // Put them back, so that one failure does not cascade.
            let _ = std::fs::remove_dir_all(tmp.path());
            std::fs::create_dir_all(tmp.path()).unwrap();
            fixtures(tmp.path());
        }
        if !wrong.is_empty() {
            failures.push(format!("cases.txt:{}: {}\n{run}", case.line, wrong.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_synthetic_csv_is_weekdays_in_order() {
    let csv = synthetic_csv(10);
    let dates: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(dates[..3], ["2020-01-01", "2020-01-02", "2020-01-03"]);
    assert_eq!(dates[3], "2020-01-06"); // Monday after the weekend
    assert_eq!(date_of(365 + 59), "2021-02-28");
    assert_eq!(date_of(59), "2020-02-29");
}
