//! Hostile input files end to end: whatever the `--csv` path names (a huge or endless file, a FIFO,
//! a device, a secret that is not a CSV, cells full of escape codes), `forecast` exits 0 or 3 in
//! bounded time with at most one line on stderr, never panics, and never echoes more than a short,
//! escaped excerpt of the file. Each run has a time limit: a hang is a failure, not a stuck test.
//! The small fixtures in tests/hostile/csv are replayed by [`every_hostile_fixture_exits_0_or_3`];
//! the large ones are generated in a temporary folder.

mod common;
use common::{forecast, forecast_limited, Run, FAST};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use forecast::data::load::{EXCERPT_CHARS, MAX_FIELDS, MAX_FILE_BYTES, MAX_RECORD_BYTES};

/// The most any run here may take.
const LIMIT: Duration = Duration::from_secs(30);

/// Runs `forecast ARGS` in `dir` like `common::forecast`, but kills it and fails the test when it
/// runs past [`LIMIT`].
fn forecast_within(dir: &Path, args: &[&str]) -> Run {
    match forecast_limited(dir, args, LIMIT) {
        (run, Some(_)) => run,
        (run, None) => panic!("{}\ndid not finish within {LIMIT:?}: a hang", run.command),
    }
}

/// Asserts the run refused the file (exit 3) with one line on stderr mentioning every needle, and
/// no control character (but the final newline) anywhere in its output.
fn refused(run: Run, needles: &[&str]) -> Run {
    let run = run.fails_with(3, needles);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "more than one line on stderr:\n{run}");
    assert_clean(&run);
    run
}

/// No escape codes or other control characters from a file reach the terminal.
fn assert_clean(run: &Run) {
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "control character on {name}:\n{}",
            run.stderr.escape_debug()
        );
    }
}

fn inspect(dir: &Path, csv: &Path) -> Run {
    forecast_within(dir, &["inspect", "--csv", csv.to_str().expect("utf-8 path")])
}

/// `n` weekdays of prices from `start` (YYYY-MM-DD), under a Date,Open,High,Low,Close,Volume header.
fn prices(start: &str, n: usize) -> String {
    let mut text = String::from("Date,Open,High,Low,Close,Volume\n");
    let mut date = chrono::NaiveDate::parse_from_str(start, "%Y-%m-%d").expect("start date");
    for i in 0..n {
        while chrono::Datelike::weekday(&date).number_from_monday() > 5 {
            date = date.succ_opt().expect("next day");
        }
        let close = 10.0 + i as f64 * 0.1 + (i % 7) as f64 * 0.05;
        text.push_str(&format!(
            "{date},{:.2},{:.2},{:.2},{close:.2},{}\n",
            close - 0.1,
            close + 0.3,
            close - 0.4,
            1000 + i % 13
        ));
        date = date.succ_opt().expect("next day");
    }
    text
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

#[test]
fn a_row_of_ten_thousand_fields_is_refused_naming_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = prices("2000-01-03", 2000);
    let second = text.find('\n').map_or(0, |at| at + 1);
    text.insert_str(second, &format!("{}\n", ",".repeat(9_999)));
    let csv = write(tmp.path(), "wide.csv", text);
    let needle = format!("wide.csv:2: the line has 10000 fields; the limit is {MAX_FIELDS}");
    refused(inspect(tmp.path(), &csv), &[&needle, "--delimiter"]);
}

#[test]
fn a_line_past_the_record_limit_is_refused_naming_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = prices("2000-01-03", 10);
    text.push_str(&"7".repeat(4 * MAX_RECORD_BYTES));
    let csv = write(tmp.path(), "long.csv", text);
    let needle = format!("long.csv:12: the record is longer than {MAX_RECORD_BYTES} bytes, the limit");
    refused(inspect(tmp.path(), &csv), &[&needle]);
}

#[test]
fn a_quote_left_open_is_refused_where_it_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = prices("2000-01-03", 5);
    text.push_str("2000-01-10,\"1,2,1,2,3\n");
    text.push_str(&prices("2000-02-01", 20_000).replace("Date,Open,High,Low,Close,Volume\n", ""));
    let csv = write(tmp.path(), "quote.csv", text);
    refused(inspect(tmp.path(), &csv), &["quote.csv:7: the record is longer than", "quotes are balanced"]);
}

#[test]
fn a_file_past_the_size_limit_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("huge.csv");
    let file = std::fs::File::create(&csv).unwrap();
    // Sparse: no disk and no time, but the metadata says it is over the limit.
    file.set_len(MAX_FILE_BYTES + 1).unwrap();
    let needle = format!("the file is {} bytes; the limit is {MAX_FILE_BYTES} bytes", MAX_FILE_BYTES + 1);
    refused(inspect(tmp.path(), &csv), &[&needle]);
}

#[test]
fn a_directory_is_refused_as_one() {
    let tmp = tempfile::tempdir().unwrap();
    refused(inspect(tmp.path(), tmp.path()), &["not a regular file: this is a directory"]);
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("prices.csv");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success(), "mkfifo failed");
    refused(inspect(tmp.path(), &fifo), &["not a regular file: this is a FIFO (named pipe)"]);
}

#[cfg(unix)]
#[test]
fn an_endless_device_is_refused_without_reading_it() {
    let tmp = tempfile::tempdir().unwrap();
    refused(inspect(tmp.path(), Path::new("/dev/zero")), &["not a regular file: this is a character device"]);
    let link = tmp.path().join("zero.csv");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    refused(inspect(tmp.path(), &link), &["zero.csv: not a regular file: this is a character device"]);
}

/// A line such as /etc/shadow's first, with a marker that must never reach the output.
const SECRET: &str = "root:$6$S3CR3TSALT$S3CR3THASHS3CR3THASHS3CR3THASH:19000:0:99999:7:::\n\
                      daemon:*:19000:0:99999:7:::\n";

#[cfg(unix)]
#[test]
fn a_symlink_to_a_secret_file_is_refused_without_echoing_it() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = write(tmp.path(), "shadow", SECRET);
    let link = tmp.path().join("prices.csv");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let run = refused(inspect(tmp.path(), &link), &["no header line found"]);
    assert!(!run.stderr.contains("S3CR3T") && !run.stderr.contains("root"), "secret echoed:\n{run}");
}

/// The CSV path stored in a model file is read by `predict`: replacing that file by a link to a
/// secret must not show the secret either.
#[cfg(unix)]
#[test]
fn the_csv_path_stored_in_a_model_cannot_leak_a_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = write(tmp.path(), "prices.csv", prices("2020-01-01", 80));
    let mut args = vec!["train", "--csv", "prices.csv", "--out", "m.safetensors"];
    args.extend_from_slice(FAST);
    forecast(tmp.path(), &args).ok();
    let secret = write(tmp.path(), "shadow", SECRET);
    std::fs::remove_file(&csv).unwrap();
    std::os::unix::fs::symlink(&secret, &csv).unwrap();
    let run = forecast_within(tmp.path(), &["predict", "--model", "m.safetensors"]);
    let run = refused(run, &["no header line found"]);
    assert!(!run.stderr.contains("S3CR3T") && !run.stderr.contains("root"), "secret echoed:\n{run}");
}

#[test]
fn escape_codes_in_cells_headers_and_tickers_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = prices("2020-01-01", 3);
    text.push_str("2020-01-06,1,2,1,\x1b[2J\x1b[31mPWNED\x07,100\n");
    let csv = write(tmp.path(), "cells.csv", text);
    refused(inspect(tmp.path(), &csv), &["cells.csv:5:5", "\\u{1b}[2J\\u{1b}[31mPWNED\\u{7}"]);

    let text = prices("2020-01-01", 3).replace("Close,", "Clo\x1b[8m\x0bse,");
    write(tmp.path(), "header.csv", text);
    let run = forecast_within(
        tmp.path(),
        &["inspect", "--csv", "header.csv", "--close-column", "nope", "--format", "json"],
    );
    refused(run, &["no such column", "\"Clo\\u{1b}[8m\\u{b}se\""]);

    let mut text = String::from("Ticker,Date,Open,High,Low,Close\n");
    for i in 0..30 {
        text.push_str(&format!("T{i}\x1b]0;pwned\x07,2020-01-02,1,2,1,2\n"));
    }
    let csv = write(tmp.path(), "tickers.csv", text);
    let run = refused(inspect(tmp.path(), &csv), &["30 tickers", "T0\\u{1b}]0;pwned\\u{7}", "and 10 more"]);
    assert!(!run.stderr.contains("T29"), "more than 20 tickers listed:\n{run}");
}

#[test]
fn quoted_cells_are_short_excerpts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = prices("2020-01-01", 3);
    text.push_str(&format!("2020-01-06,1,2,1,{}x,100\n", "9".repeat(100_000)));
    let csv = write(tmp.path(), "long_cell.csv", text);
    let run = refused(inspect(tmp.path(), &csv), &["long_cell.csv:5:5"]);
    assert!(!run.stderr.contains(&"9".repeat(EXCERPT_CHARS + 1)), "more than an excerpt:\n{run}");
    assert!(run.stderr.len() < 1000, "a long message:\n{run}");
}

#[test]
fn a_history_from_1789_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = write(tmp.path(), "index.csv", prices("1789-05-01", 300));
    let csv = csv.to_str().unwrap();
    let out = forecast_within(tmp.path(), &["inspect", "--csv", csv, "--format", "json"]).ok().json();
    assert_eq!(out["first_date"], "1789-05-01");
    assert_eq!(out["rows"], 300);
    assert_eq!(out["date_format"], "%Y-%m-%d");
}

#[test]
fn dates_that_are_not_four_digit_years_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, dates) in [
        ("year0.csv", ["0000-01-03", "0000-01-04"]),
        ("negative.csv", ["-1789-05-01", "-1789-05-02"]),
        ("six_digits.csv", ["123456", "123457"]),
        ("plus.csv", ["+12345-01-01", "+12345-01-02"]),
    ] {
        let text = format!("Date,Open,High,Low,Close\n{},1,2,1,2\n{},1,2,1,2\n", dates[0], dates[1]);
        let csv = write(tmp.path(), name, text);
        refused(inspect(tmp.path(), &csv), &[&format!("{name}:2:1"), "cannot parse date"]);
    }
}

/// Millions of one-character rows: the date detection must not try every format on every row,
/// and memory stays a few times the file.
#[test]
fn millions_of_tiny_rows_are_refused_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!("Date,Open,High,Low,Close\n{}", "1\n".repeat(3_000_000));
    let csv = write(tmp.path(), "tiny.csv", text);
    refused(inspect(tmp.path(), &csv), &["tiny.csv:2:1", "cannot parse date \"1\""]);
}

/// Every fixture in tests/hostile/csv: exit 0 or 3 (never a panic, a crash or a signal) in bounded
/// time, one line on stderr when refused, no control characters out, and nothing of the files
/// named `*secret*` (which are not price files) echoed.
#[test]
fn every_hostile_fixture_exits_0_or_3() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile/csv");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/hostile/csv")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.file_name().is_some_and(|name| !name.to_string_lossy().starts_with('.')))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 20, "fixtures missing from {}", dir.display());
    for fixture in fixtures {
        let run = inspect(&dir, &fixture);
        assert!(run.code == 0 || run.code == 3, "exit {}:\n{run}", run.code);
        assert!(!run.stderr.contains("panicked"), "panic:\n{run}");
        if run.code == 3 {
            assert_eq!(run.stderr.trim_end().lines().count(), 1, "more than one line on stderr:\n{run}");
        }
        assert_clean(&run);
        if fixture.to_string_lossy().contains("secret") {
            assert!(
                !run.stderr.contains("S3CR3T") && !run.stdout.contains("S3CR3T"),
                "secret echoed:\n{run}"
            );
        }
    }
}
