//! Fuzzes the CSV loader: arbitrary bytes, read with one of a few option sets (picked by the first
//! byte), must give either a `DataError` or a series that keeps the `Series` promises. Any panic is
//! a bug; crashes found here become fixtures in tests/hostile/csv (replayed by
//! tests/hostile_csv.rs) or unit tests in src/data/load/tests.rs.
//!
//! Messages and warnings are checked too: the file's content may appear in them only escaped (no
//! control characters: the path and the flags here have none) and cut short.
#![no_main]

use std::path::Path;

use chrono::NaiveDate;
use forecast::data::load::{parse_csv_on, LastRow, LoadOptions, EXCERPT_CHARS};
use forecast::data::Series;
use libfuzzer_sys::fuzz_target;

fn options(selector: u8) -> LoadOptions {
    let text = |s: &str| Some(s.to_string());
    match selector % 6 {
        0 => LoadOptions::default(),
        1 => LoadOptions { date_format: text("%d/%m/%Y"), ..LoadOptions::default() },
        2 => LoadOptions { ticker: text("AAPL"), ..LoadOptions::default() },
        3 => LoadOptions {
            price_column: text("close"),
            last_row: Some(LastRow::Drop),
            ..LoadOptions::default()
        },
        4 => LoadOptions { delimiter: Some(';'), date_format: text("unix-ms"), ..LoadOptions::default() },
        _ => LoadOptions {
            date_column: text("2"),
            close_column: text("Price"),
            volume_column: text("none"),
            ..LoadOptions::default()
        },
    }
}

/// The promises every loaded series keeps.
fn check(series: &Series) {
    let n = series.len();
    assert!(n > 0);
    assert_eq!(series.open.len(), n);
    assert_eq!(series.high.len(), n);
    assert_eq!(series.low.len(), n);
    assert_eq!(series.close.len(), n);
    assert!(series.dates.windows(2).all(|pair| pair[0] < pair[1]), "dates not strictly ascending");
    for i in 0..n {
        let (open, high, low, close) = (series.open[i], series.high[i], series.low[i], series.close[i]);
        for price in [open, high, low, close] {
            assert!(price.is_finite() && price > 0.0, "bad price {price}");
        }
        assert!(low <= close && close <= high, "close {close} outside [{low}, {high}]");
    }
    if let Some(volume) = &series.volume {
        assert_eq!(volume.len(), n);
        assert!(volume.iter().all(|v| v.is_finite() && *v >= 0.0), "bad volume");
    }
}

/// A message or warning: one line, no control characters, and no more of the input than a
/// bounded number of excerpts could hold.
fn check_text(text: &str) {
    assert!(!text.chars().any(char::is_control), "control character in {text:?}");
    // 20 listed values of EXCERPT_CHARS (+ quotes and separators), plus the fixed wording.
    let most = 2_000 + 20 * (EXCERPT_CHARS + 8);
    assert!(text.len() <= most, "message of {} bytes: {text:.200}", text.len());
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let today = NaiveDate::from_ymd_opt(2026, 1, 6).unwrap_or_default();
    match parse_csv_on(bytes, Path::new("fuzz.csv"), &options(selector), today) {
        Ok((series, report)) => {
            check(&series);
            assert_eq!(report.rows_used, series.len());
            assert!(report.rows_used <= report.rows_read);
            for warning in &report.warnings {
                check_text(warning);
            }
            for name in report.columns.values().chain(report.ticker.iter()) {
                check_text(name);
            }
        }
        Err(err) => check_text(&err.to_string()),
    }
});
