//! Fuzzes the CSV loader: arbitrary bytes, read with one of a few option sets (picked by the first
//! byte), must give either a `DataError` or a series that keeps the `Series` promises. Any panic is
//! a bug; crashes found here become regression tests in tests/fuzz_regressions.rs.
#![no_main]

use std::path::Path;

use chrono::NaiveDate;
use forecast::data::load::{parse_csv_on, LastRow, LoadOptions};
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

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let today = NaiveDate::from_ymd_opt(2026, 1, 6).unwrap_or_default();
    if let Ok((series, report)) = parse_csv_on(bytes, Path::new("fuzz.csv"), &options(selector), today) {
        check(&series);
        assert_eq!(report.rows_used, series.len());
        assert!(report.rows_used <= report.rows_read);
    }
});
