//! The loader's unit tests: one behaviour each, on small inline files. The layouts of real
//! exporters are tested end to end in tests/layouts.rs.

use super::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

const HEADER: &str = "Date,Open,High,Low,Close,Volume\n";

fn parse(bytes: &[u8]) -> Result<(Series, LoadReport), DataError> {
    parse_with(bytes, &LoadOptions::default())
}

fn parse_with(bytes: &[u8], opts: &LoadOptions) -> Result<(Series, LoadReport), DataError> {
    parse_csv_on(bytes, Path::new("prices.csv"), opts, date("2030-01-01"))
}

fn load(text: &str) -> (Series, LoadReport) {
    match parse(text.as_bytes()) {
        Ok(loaded) => loaded,
        Err(err) => panic!("expected the fixture to load, got: {err}"),
    }
}

fn fail(text: &str) -> DataError {
    match parse(text.as_bytes()) {
        Ok((series, _)) => panic!("expected an error, got {} rows", series.len()),
        Err(err) => err,
    }
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
}

fn line_and_column(err: &DataError) -> (u64, Option<(usize, String)>) {
    let location = err.location.clone().expect("error has a location");
    (location.line, location.column)
}

#[test]
fn plain_file_loads_every_field() {
    let (series, report) =
        load("Date,Open,High,Low,Close,Volume\n2020-01-02,1,3,0.5,2,100\n2020-01-03,2,4,1.5,3,200.5\n");
    assert_eq!(series.dates, vec![date("2020-01-02"), date("2020-01-03")]);
    assert_eq!(series.open, vec![1.0, 2.0]);
    assert_eq!(series.high, vec![3.0, 4.0]);
    assert_eq!(series.low, vec![0.5, 1.5]);
    assert_eq!(series.close, vec![2.0, 3.0]);
    assert_eq!(series.volume, Some(vec![100.0, 200.5]));
    assert_eq!(report.rows_read, 2);
    assert_eq!(report.rows_used, 2);
    assert_eq!(report.delimiter, ',');
    assert_eq!(report.path, PathBuf::from("prices.csv"));
    assert!(report.dropped.is_empty());
    assert!(report.warnings.is_empty());
}

#[test]
fn utf8_bom_is_stripped() {
    let (series, report) = load("\u{FEFF}Date,Open,High,Low,Close\n2020-01-02,1,2,1,2\n");
    assert_eq!(report.columns.get("date").map(String::as_str), Some("Date"));
    assert_eq!(series.dates, vec![date("2020-01-02")]);
}

#[test]
fn crlf_line_endings_load_and_errors_name_the_physical_line() {
    let (series, _) = load("Date,Open,High,Low,Close\r\n2020-01-02,1,2,1,2\r\n2020-01-03,2,3,2,3\r\n");
    assert_eq!(series.close, vec![2.0, 3.0]);
    let err = fail("Date,Open,High,Low,Close\r\n2020-01-02,1,2,1,2\r\n2020-01-03,2,x,2,3\r\n");
    assert_eq!(line_and_column(&err), (3, Some((3, "High".to_string()))));
}

#[test]
fn last_row_without_trailing_newline_is_read() {
    let (series, report) = load("Date,Open,High,Low,Close\n2020-01-02,1,2,1,2\n2020-01-03,2,3,2,3");
    assert_eq!(series.close, vec![2.0, 3.0]);
    assert_eq!(report.rows_read, 2);
}

#[test]
fn descending_input_is_sorted_ascending() {
    let (series, _) =
        load("timestamp,open,high,low,close\n2020-01-03,3,3,3,3\n2020-01-02,2,2,2,2\n2020-01-01,1,1,1,1\n");
    assert_eq!(series.dates, vec![date("2020-01-01"), date("2020-01-02"), date("2020-01-03")]);
    assert_eq!(series.close, vec![1.0, 2.0, 3.0]);
}

#[test]
fn unsorted_input_is_sorted_ascending() {
    let (series, _) =
        load("Date,Open,High,Low,Close\n2020-01-02,2,2,2,2\n2020-01-03,3,3,3,3\n2020-01-01,1,1,1,1\n");
    assert_eq!(series.close, vec![1.0, 2.0, 3.0]);
}

#[test]
fn duplicate_dates_keep_the_last_row_and_are_counted_and_named() {
    let (series, report) = load(
        "Date,Open,High,Low,Close\n2020-01-03,5,5,5,5\n2020-01-02,1,1,1,1\n2020-01-03,6,6,6,6\n\
         2020-01-02,2,2,2,2\n2020-01-03,7,7,7,7\n",
    );
    assert_eq!(series.dates, vec![date("2020-01-02"), date("2020-01-03")]);
    assert_eq!(series.close, vec![2.0, 7.0]);
    assert_eq!(report.dropped.get("duplicate date"), Some(&3));
    assert_eq!(report.duplicates, vec![date("2020-01-02"), date("2020-01-03")]);
    assert_eq!(report.rows_read, 5);
    assert_eq!(report.rows_used, 2);
    assert_eq!(
        report.warnings,
        vec![
            "3 rows repeated an earlier date (2 dates: 2020-01-02 (kept line 5, dropped 3), 2020-01-03 (kept \
             line 6, dropped 2, 4)); the last row in the file for each date was kept."
                .to_string()
        ]
    );
}

#[test]
fn duplicate_warning_names_at_most_five_dates() {
    let mut text = String::from("Date,Open,High,Low,Close\n");
    for _ in 0..2 {
        for day in 1..=7 {
            text.push_str(&format!("2020-01-0{day},1,1,1,1\n"));
        }
    }
    let (series, report) = load(&text);
    assert_eq!(series.len(), 7);
    assert_eq!(report.dropped.get("duplicate date"), Some(&7));
    assert_eq!(report.duplicates.len(), 7);
    let warning = &report.warnings[0];
    assert!(warning.contains("(7 dates: 2020-01-01 (kept line 9, dropped 2), 2020-01-02"), "{warning}");
    assert!(warning.contains("2020-01-05 (kept line 13, dropped 6), ...)"), "{warning}");
    assert!(!warning.contains("2020-01-06"), "{warning}");
}

#[test]
fn null_rows_are_dropped_and_counted() {
    let (series, report) = load(
        "Date,Open,High,Low,Close,Adj Close,Volume\n2020-04-16,1,2,1,2,2,10\n\
         2020-04-17,null,null,null,null,null,null\n2020-04-18,NULL,NaN,nan,-,null,-\n2020-04-19,2,3,2,3,3,20\n",
    );
    assert_eq!(series.dates, vec![date("2020-04-16"), date("2020-04-19")]);
    assert_eq!(report.dropped.get("missing price"), Some(&2));
    assert_eq!(report.rows_read, 4);
    assert_eq!(report.rows_used, 2);
    assert!(report.warnings.is_empty(), "volume of dropped rows is not warned about: {:?}", report.warnings);
}

#[test]
fn missing_open_is_filled_and_missing_high_low_or_close_drops_the_row() {
    let (series, report) = load(
        "date,open,high,low,close,volume,Name\n2015-07-16,88,89,87,88.5,100,DHR\n\
         2015-07-17,,88.76,88.24,88.72,2056819,DHR\n2016-01-12,,,,88.55,0,DHR\n2016-01-13,1,,1,1,0,DHR\n",
    );
    assert_eq!(series.dates, vec![date("2015-07-16"), date("2015-07-17")]);
    assert_eq!(series.open, vec![88.0, 88.5], "the previous close");
    assert_eq!(report.dropped.get("missing price"), Some(&2));
    assert!(report.warnings.iter().any(|w| w.starts_with("1 row had an open of 0 or none (2015-07-17)")));
}

#[test]
fn a_filled_open_stays_inside_the_days_range() {
    let (series, report) = load(
        "Date,Open,High,Low,Close\n1980-03-17,0,5.2,5.0,5.1\n1980-03-18,0,5.0,4.8,4.9\n1980-03-19,0,5.5,5.3,5.4\n\
         1980-03-20,5.4,5.6,5.3,5.5\n",
    );
    assert_eq!(series.open, vec![5.1, 5.0, 5.3, 5.4]);
    assert_eq!(
        report.warnings,
        vec![
            "3 rows had an open of 0 or none (1980-03-17 to 1980-03-19); open was set to the previous close, \
             within the day's low-high range."
                .to_string()
        ]
    );
    assert!(report.dropped.is_empty());
}

#[test]
fn short_record_is_a_missing_price_and_missing_volume_is_zero() {
    let (series, report) =
        load(&format!("{HEADER}2020-01-02,1,2\n2020-01-03,1,2,1,2\n2020-01-06,2,3,2,3,50\n"));
    assert_eq!(report.dropped.get("missing price"), Some(&1));
    assert_eq!(series.dates, vec![date("2020-01-03"), date("2020-01-06")]);
    assert_eq!(series.volume, Some(vec![0.0, 50.0]));
    assert_eq!(report.warnings, vec!["1 row had no volume; volume was set to 0.".to_string()]);
}

#[test]
fn empty_and_null_volumes_are_zero_with_one_warning() {
    let (series, report) = load(&format!(
        "{HEADER}2020-01-02,1,2,1,2,\n2020-01-03,1,2,1,2,null\n2020-01-06,1,2,1,2,-\n2020-01-07,1,2,1,2,5\n"
    ));
    assert_eq!(series.volume, Some(vec![0.0, 0.0, 0.0, 5.0]));
    assert_eq!(report.warnings, vec!["3 rows had no volume; volume was set to 0.".to_string()]);
    assert!(report.dropped.is_empty());
}

#[test]
fn a_volume_column_without_values_is_no_volume() {
    let (series, report) = load("Date,Price,Open,High,Low,Vol.\n1/2/2004,2,1,2,1,-\n1/13/2004,2,1,2,1,-\n");
    assert_eq!(series.volume, None);
    assert!(!report.columns.contains_key("volume"));
    assert_eq!(
        report.warnings,
        vec!["column \"Vol.\" has no volume values; the series has no volume.".to_string()]
    );
}

#[test]
fn extra_fields_are_ignored() {
    let (series, _) = load(&format!("{HEADER}2020-01-02,1,2,1,2,10,extra,more\n"));
    assert_eq!(series.volume, Some(vec![10.0]));
}

#[test]
fn bad_number_is_an_error_at_its_line_and_column() {
    for bad in ["abc", "1.2.3", "inf", "-Infinity", "1,5"] {
        let err = fail(&format!("{HEADER}2020-01-02,1,2,1,2,10\n2020-01-03,1,2,\"{bad}\",2,10\n"));
        assert_eq!(line_and_column(&err), (3, Some((4, "Low".to_string()))), "{bad}");
        assert!(err.message.contains(bad), "{}", err.message);
        assert!(err.hint.is_some());
        assert!(err.to_string().starts_with("prices.csv:3:4 (column \"Low\"): "), "{err}");
    }
}

#[test]
fn bad_number_is_an_error_even_when_the_row_would_be_dropped() {
    let err = fail(&format!("{HEADER}2020-01-02,,2,1,abc,10\n"));
    assert_eq!(line_and_column(&err), (2, Some((5, "Close".to_string()))));
}

#[test]
fn bad_or_negative_volume_is_an_error() {
    let err = fail(&format!("{HEADER}2020-01-02,1,2,1,2,10\n2020-01-03,1,2,1,2,-5\n"));
    assert_eq!(line_and_column(&err), (3, Some((6, "Volume".to_string()))));
    assert!(err.message.contains("negative"), "{}", err.message);
    let err = fail(&format!("{HEADER}2020-01-02,1,2,1,2,lots\n"));
    assert_eq!(line_and_column(&err), (2, Some((6, "Volume".to_string()))));
}

#[test]
fn bad_date_is_an_error_at_its_line_and_column() {
    let err = fail("Ticker,Date,Open,High,Low,Close\nX,2020-01-02,1,2,1,2\nX,3/17/1980,1,2,1,2\n");
    assert_eq!(line_and_column(&err), (3, Some((2, "Date".to_string()))));
    assert_eq!(
        err.message,
        "cannot parse date \"3/17/1980\": the other dates in the column are %Y-%m-%d (1 of 2 rows)"
    );
    assert!(err.hint.as_deref().is_some_and(|hint| hint.contains("--date-format")));
    for bad in ["2020-13-01", "2020-02-30", "2020-01-02 25:00:00", "2020-01-02X", "yesterday", "0"] {
        let err = fail(&format!("{HEADER}{bad},1,2,1,2,10\n"));
        assert_eq!(line_and_column(&err), (2, Some((1, "Date".to_string()))), "{bad:?}");
        assert!(err.message.starts_with("cannot parse date"), "{bad:?}: {}", err.message);
    }
    let err = fail(&format!("{HEADER}2020-01-02,1,2,1,2,10\n,1,2,1,2,10\n"));
    assert_eq!(line_and_column(&err), (3, Some((1, "Date".to_string()))));
    assert_eq!(err.message, "the date is missing");
}

#[test]
fn date_with_time_uses_the_date_part() {
    let (series, _) =
        load("date,open,high,low,close\n2021-06-11 00:00:00,1,1,1,1\n2021-06-10T23:59:59,1,1,1,1\n2021-06-09,1,1,1,1\n");
    assert_eq!(series.dates, vec![date("2021-06-09"), date("2021-06-10"), date("2021-06-11")]);
}

#[test]
fn missing_columns_are_an_error_on_line_1_naming_them() {
    let err = fail("Date,Kurs,Open,High,Low,Vol.\n2020-01-02,1,2,1,2,10\n");
    assert_eq!(line_and_column(&err), (1, None));
    assert!(err.message.contains("missing required column close"), "{}", err.message);
    assert!(err.message.contains("\"Kurs\""), "{}", err.message);
    assert!(err.hint.as_deref().is_some_and(|hint| hint.contains("--close-column")));
    let err = fail("Datum,Eröffnung,Hoch,Tief,Schluss\n2020-01-02,1,2,1,2\n");
    assert!(err.message.contains("columns date, open, high, low, close"), "{}", err.message);
    let err = fail("1643673600000,38466.9,39265.2,38000.0,38694.59\n1643760000000,1,2,1,2\n");
    assert_eq!(err.message, "the file has no header line (the first line holds values)");
}

#[test]
fn headers_match_case_insensitively_and_unknown_columns_are_ignored() {
    let (series, report) = load("Name, DATE ,OPEN,HIGH,LOW,CLOSE,VOL,OpenInt\nXOM,2020-01-02,1,2,1,2,10,0\n");
    assert_eq!(series.close, vec![2.0]);
    assert_eq!(series.volume, Some(vec![10.0]));
    let expected: BTreeMap<String, String> = [
        ("date", "DATE"),
        ("open", "OPEN"),
        ("high", "HIGH"),
        ("low", "LOW"),
        ("close", "CLOSE"),
        ("volume", "VOL"),
        ("ticker", "Name"),
    ]
    .iter()
    .map(|(role, name)| (role.to_string(), name.to_string()))
    .collect();
    assert_eq!(report.columns, expected);
    assert_eq!(report.ticker.as_deref(), Some("XOM"));
}

#[test]
fn timestamp_is_the_date_column() {
    let (series, report) =
        load("timestamp,open,high,low,close,volume\n2018-07-13,105.4,106,105,105.43,100\n");
    assert_eq!(series.dates, vec![date("2018-07-13")]);
    assert_eq!(report.columns.get("date").map(String::as_str), Some("timestamp"));
}

#[test]
fn adjusted_close_is_modelled_with_open_high_and_low_scaled() {
    let text = "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,1,2,1.5,10\n";
    let (series, report) = load(text);
    assert_eq!(series.close, vec![1.5]);
    assert_eq!((series.open[0], series.high[0], series.low[0]), (0.75, 1.5, 0.75));
    assert_eq!(series.volume, Some(vec![10.0]));
    assert_eq!(report.price_column, "adj_close");
    assert_eq!(report.columns.get("adj_close").map(String::as_str), Some("Adj Close"));
    for name in ["adj_close", "ADJUSTED_CLOSE", "Adj Close**"] {
        let (series, report) = load(&format!("date,open,high,low,close,{name}\n2020-01-02,1,2,1,2,1.5\n"));
        assert_eq!(report.columns.get("adj_close"), Some(&name.to_string()));
        assert_eq!(series.close, vec![1.5], "{name}");
    }
}

#[test]
fn price_column_close_models_the_close_as_written() {
    let text = b"Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,1,2,1.5,10\n";
    for flag in ["close", "Close", "CLOSE"] {
        let opts = LoadOptions { price_column: Some(flag.to_string()), ..LoadOptions::default() };
        let (series, report) = parse_with(text, &opts).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(series.close, vec![2.0]);
        assert_eq!(report.price_column, "close");
    }
    for flag in ["adjusted", "adj_close", "Adj Close"] {
        let opts = LoadOptions { price_column: Some(flag.to_string()), ..LoadOptions::default() };
        let (series, _) = parse_with(text, &opts).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(series.close, vec![1.5], "{flag}");
    }
}

#[test]
fn a_missing_adjusted_close_drops_the_row() {
    let (series, report) =
        load("Date,Open,High,Low,Close,Adj Close\n2020-01-02,1,2,1,2,null\n2020-01-03,1,2,1,2,1\n");
    assert_eq!(series.dates, vec![date("2020-01-03")]);
    assert_eq!(report.dropped.get("missing adjusted close"), Some(&1));
}

#[test]
fn no_volume_column_gives_no_volume() {
    let (series, report) = load("Date,Open,High,Low,Close\n2020-01-02,1,2,1,2\n");
    assert_eq!(series.volume, None);
    assert!(!report.columns.contains_key("volume"));
}

#[test]
fn zero_volume_is_kept_without_a_warning() {
    let (series, report) =
        load(&format!("{HEADER}2010-04-26,34.8,34.8,34.8,34.8,0\n2010-04-27,1,2,1,2,0.0\n"));
    assert_eq!(series.volume, Some(vec![0.0, 0.0]));
    assert!(report.warnings.is_empty());
}

#[test]
fn zero_prices_are_missing_and_negative_prices_are_dropped() {
    let (series, report) = load(&format!(
        "{HEADER}2020-01-02,1,2,0,2,10\n2020-01-03,1,2,-1,2,10\n2020-01-06,1,2,1,2,10\n2020-01-07,-1,2,1,2,10\n"
    ));
    assert_eq!(series.dates, vec![date("2020-01-06")]);
    assert_eq!(report.dropped.get("negative price"), Some(&2));
    assert_eq!(report.dropped.get("missing price"), Some(&1));
}

#[test]
fn high_below_low_is_dropped_and_counted() {
    let (series, report) = load(&format!("{HEADER}2020-01-02,2,1,3,2,10\n2020-01-03,1,2,1,2,10\n"));
    assert_eq!(series.dates, vec![date("2020-01-03")]);
    assert_eq!(report.dropped.get("high below low"), Some(&1));
}

#[test]
fn close_outside_the_bar_widens_low_and_high() {
    let (series, report) =
        load(&format!("{HEADER}2016-12-14,240,242.01,239,477,10\n2016-12-15,5,6,4,3,10\n"));
    assert_eq!(series.high, vec![477.0, 6.0]);
    assert_eq!(series.low, vec![239.0, 3.0]);
    assert_eq!(series.close, vec![477.0, 3.0]);
    assert_eq!(
        report.warnings,
        vec![
            "2 rows had close outside [low, high] (2016-12-14, 2016-12-15); low/high widened to include it."
                .to_string()
        ]
    );
    assert!(report.dropped.is_empty());
}

#[test]
fn blank_lines_are_skipped_and_not_counted() {
    let text = "Date,Open,High,Low,Close\n\n2020-01-02,1,2,1,2\n   \n,,,,\n\r\n2020-01-03,2,3,2,3\n\n2020-01-06,x,3,2,3\n";
    let err = fail(text);
    assert_eq!(line_and_column(&err), (9, Some((2, "Open".to_string()))));
    let (series, report) = load(text.trim_end_matches("2020-01-06,x,3,2,3\n"));
    assert_eq!(series.len(), 2);
    assert_eq!(report.rows_read, 2);
}

#[test]
fn quoted_field_spanning_lines_keeps_later_line_numbers_right() {
    let err =
        fail("Note,Date,Open,High,Low,Close\n\"two\nlines\",2020-01-02,1,2,1,2\nx,2020-01-03,1,2,1,bad\n");
    assert_eq!(line_and_column(&err), (4, Some((6, "Close".to_string()))));
}

#[test]
fn lone_carriage_returns_end_lines() {
    let (series, _) = load("Date,Open,High,Low,Close\r2020-01-02,1,2,1,2\r2020-01-03,2,3,2,3\r");
    assert_eq!(series.len(), 2);
    let err = fail("Date,Open,High,Low,Close\r2020-01-02,1,2,1,2\r2020-01-03,2,3,2,?\r");
    assert_eq!(line_and_column(&err), (3, Some((5, "Close".to_string()))));
}

#[test]
fn semicolon_and_tab_delimiters_are_detected() {
    let (series, report) = load("Date;Open;High;Low;Close\n2020-01-02;1;2;1;2\n");
    assert_eq!(report.delimiter, ';');
    assert_eq!(series.close, vec![2.0]);
    let (series, report) = load("Date\tOpen\tHigh\tLow\tClose\n2020-01-02\t1\t2\t1\t3\n");
    assert_eq!(report.delimiter, '\t');
    assert_eq!(series.close, vec![3.0]);
}

#[test]
fn empty_file_is_an_error() {
    for text in ["", "\u{FEFF}", "\n\n", " \r\n"] {
        let err = fail(text);
        assert_eq!(err.message, "the file is empty", "{text:?}");
        assert!(err.hint.is_some());
    }
}

#[test]
fn header_only_is_an_error() {
    for text in ["Date,Open,High,Low,Close", "Date,Open,High,Low,Close\n", "Date,Open,High,Low,Close\r\n\r\n"]
    {
        let err = fail(text);
        assert_eq!(err.message, "the file has a header but no data rows", "{text:?}");
    }
}

#[test]
fn no_usable_rows_is_an_error_with_the_drop_counts() {
    let err = fail(&format!("{HEADER}2020-01-02,1,null,1,1,1\n2020-01-03,1,1,-1,1,1\n2020-01-06,1,1,1,,1\n"));
    assert_eq!(err.location, None);
    assert!(err.message.starts_with("no usable rows"), "{}", err.message);
    let hint = err.hint.unwrap_or_default();
    assert!(hint.contains("2 missing price") && hint.contains("1 negative price"), "{hint}");
}

#[test]
fn invalid_utf8_in_a_cell_is_an_error_at_its_line() {
    let err = match parse(b"Date,Open,High,Low,Close\n2020-01-02,1,2,1,2\n2020-01-03,\xFF\xFE,2,1,2\n") {
        Err(err) => err,
        Ok(_) => panic!("invalid UTF-8 loaded"),
    };
    assert_eq!(line_and_column(&err), (3, Some((2, "Open".to_string()))));
    assert!(err.message.contains("UTF-8"));
}

#[test]
fn invalid_utf8_in_an_ignored_column_is_fine() {
    let loaded = parse(b"Name,Date,Open,High,Low,Close\nSoci\xE9t\xE9,2020-01-02,1,2,1,2\n");
    assert_eq!(loaded.map(|(series, _)| series.len()), Ok(1));
}

#[test]
fn utf16_is_an_error() {
    let err = parse(b"\xFF\xFED\x00a\x00t\x00e\x00").err();
    assert_eq!(err.map(|err| err.message), Some("the file is UTF-16 encoded".to_string()));
}

#[test]
fn garbage_bytes_never_panic() {
    let inputs: [&[u8]; 14] = [
        b"\x00\x01\x02\x03",
        b"\xFF\xFF\xFF\n\xC3\x28",
        b"\xEF\xBB\xBF",
        b"\xEF\xBB",
        b"\"",
        b"\"\"\"\n\"",
        b",,,,\n,,,,",
        b"\r\r\r\n\n\r",
        b"Date,Open,High,Low,Close\n\"2020-01-02,1,2,1,2\n",
        b"Date,Open,High,Low,Close\n\xE2\x82\xAC\xE2\x82,1,2,1,2\n",
        b"date,open,high,low,close\n2020-01-02\xF0\x9F\x92\xA9,1,2,1,2\n",
        b"date,open,high,low,close\n2020-01-0\xF0\x9F\x92\xA9,1,2,1,2\n",
        b"date,date,close,close,open,high,low\n2020-01-02,x,1,y,1,1,1\n",
        b"date;open\tclose,high,low\n1;2\t3,4,5\n",
    ];
    for input in inputs {
        let result = std::panic::catch_unwind(|| parse(input));
        assert!(result.is_ok(), "panicked on {input:?}");
    }
    // The first column with a role wins when a header repeats one.
    let loaded = parse(b"date,date,close,close,open,high,low\n2020-01-02,x,1,y,1,1,1\n");
    assert_eq!(loaded.map(|(series, _)| series.close), Ok(vec![1.0]));
    // A very long garbage cell is shortened in the message.
    let long = format!("{HEADER}{},1,2,1,2,1\n", "9".repeat(10_000));
    assert!(fail(&long).message.len() < 100);
}

#[test]
fn load_csv_reads_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("prices.csv");
    std::fs::write(&path, "Date,Open,High,Low,Close,Volume\r\n2020-01-02,1,2,1,2,10\r\n")
        .expect("write fixture");
    let (series, report) = load_csv(&path, &LoadOptions::default()).expect("fixture loads");
    assert_eq!(series.close, vec![2.0]);
    assert_eq!(report.path, path);
}

#[test]
fn load_csv_on_a_missing_file_names_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no-such-file.csv");
    let err = load_csv(&path, &LoadOptions::default()).expect_err("missing file is an error");
    assert_eq!(err.path, path);
    assert!(err.to_string().contains("no-such-file.csv"), "{err}");
    assert!(err.message.starts_with("cannot read the file"), "{}", err.message);
}

#[test]
fn a_wide_row_is_refused_at_its_line_naming_the_limit() {
    let text = format!("{HEADER}2020-01-02,1,2,1,2,1\n{}\n2020-01-03,1,2,1,2,1\n", ",".repeat(MAX_FIELDS));
    let err = fail(&text);
    assert_eq!(line_and_column(&err), (3, None));
    assert_eq!(err.message, format!("the line has {} fields; the limit is {MAX_FIELDS}", MAX_FIELDS + 1));
}

#[test]
fn a_long_record_is_refused_at_its_line_naming_the_limit() {
    let text = format!("{HEADER}2020-01-02,1,2,1,2,{}\n", "1".repeat(MAX_RECORD_BYTES));
    let err = fail(&text);
    assert_eq!(line_and_column(&err), (2, None));
    assert_eq!(err.message, format!("the record is longer than {MAX_RECORD_BYTES} bytes, the limit"));
}

#[test]
fn a_history_from_1789_loads_and_year_0_does_not() {
    let (series, report) = load(&format!("{HEADER}1789-05-01,1,2,1,2,1\n1789-05-04,1,2,1,2,1\n"));
    assert_eq!(series.dates, vec![date("1789-05-01"), date("1789-05-04")]);
    assert_eq!(report.date_format, "%Y-%m-%d");
    let err = fail(&format!("{HEADER}0000-05-01,1,2,1,2,1\n"));
    assert!(err.message.contains("cannot parse date \"0000-05-01\""), "{}", err.message);
}

#[test]
fn repeated_dates_and_split_like_jumps_give_bounded_warnings() {
    let mut text = String::from(HEADER);
    for _ in 0..1000 {
        text.push_str("2020-01-02,1,2,1,2,1\n");
    }
    let (_, report) = load(&text);
    let warning = report.warnings.first().cloned().unwrap_or_default();
    assert!(warning.contains("(kept line 1001, dropped 2, 3, 4, 5, 6, and 994 more)"), "{warning}");
    let mut text = String::from(HEADER);
    let mut day = date("2020-01-01");
    for i in 0..500 {
        let price = if i % 2 == 0 { 10 } else { 20 };
        text.push_str(&format!("{day},{price},{price},{price},{price},100\n"));
        day = day.succ_opt().expect("next day");
    }
    let (_, report) = load(&text);
    assert_eq!(report.warnings.len(), 11, "{:?}", report.warnings);
    assert!(report.warnings.iter().any(|w| w.starts_with("489 more jumps look like unadjusted splits")));
}

#[test]
fn a_first_line_that_is_no_header_is_not_quoted() {
    let err = fail("root:$6$secret-salt$secret-hash:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n");
    let shown = err.to_string();
    assert!(shown.contains("no header line found: none of the first 2 lines names a date"), "{shown}");
    assert!(!shown.contains("secret") && !shown.contains("root"), "{shown}");
    // A header in another language is still listed, so that the column flags can name it.
    let err = fail("Datum,Eröffnung,Hoch,Tief,Schluss\n2020-01-02,1,2,1,2\n");
    assert!(err.message.contains("(the header has \"Datum\", \"Eröffnung\""), "{}", err.message);
}

#[test]
fn control_characters_from_the_file_are_escaped_in_messages_and_the_report() {
    let err = fail(&format!("{HEADER}2020-01-02,1,2,1,\u{1b}[2J\u{7},1\n"));
    assert!(err.message.contains("\"\\u{1b}[2J\\u{7}\""), "{}", err.message);
    let text = "Date,Open,High,Low,Close,Vol\u{1b}[1mume,Ticker\n2020-01-02,1,2,1,2,1,A\u{1b}[5m\n";
    let opts = LoadOptions { volume_column: Some("6".to_string()), ..LoadOptions::default() };
    let (_, report) = parse_with(text.as_bytes(), &opts).expect("the fixture loads");
    assert_eq!(report.columns.get("volume").map(String::as_str), Some("Vol\\u{1b}[1mume"));
    assert_eq!(report.ticker.as_deref(), Some("A\\u{1b}[5m"));
}

// Many instruments of one file (`parse_csv_tickers_on`).

const LONG_HEADER: &str = "Name,Date,Open,High,Low,Close,Volume\n";

fn tickers_of(path: &str, text: &str, choice: &TickerChoice) -> Result<Vec<TickerLoad>, DataError> {
    parse_csv_tickers_on(
        text.as_bytes(),
        Path::new(path),
        &LoadOptions::default(),
        choice,
        date("2030-01-01"),
    )
}

fn each(text: &str, choice: &TickerChoice) -> Vec<TickerLoad> {
    match tickers_of("prices.csv", text, choice) {
        Ok(loaded) => loaded,
        Err(err) => panic!("expected the fixture to parse, got: {err}"),
    }
}

fn ids(loaded: &[TickerLoad]) -> Vec<&str> {
    loaded.iter().map(|(id, _)| id.as_str()).collect()
}

fn listed(names: &[&str]) -> TickerChoice {
    TickerChoice::Listed(names.iter().map(|name| name.to_string()).collect())
}

fn loaded(entry: &TickerLoad) -> &(Series, LoadReport) {
    match &entry.1 {
        Ok(loaded) => loaded,
        Err(err) => panic!("expected {} to load, got: {err}", entry.0),
    }
}

fn failed(entry: &TickerLoad) -> &DataError {
    match &entry.1 {
        Ok((series, _)) => panic!("expected {} to fail, got {} rows", entry.0, series.len()),
        Err(err) => err,
    }
}

/// Two tickers, interleaved: BBB (closes 20, 21, 22) first, then AAA (closes 10, 11).
const TWO_TICKERS: &str = "Name,Date,Open,High,Low,Close,Volume\n\
    BBB,2020-01-02,20,20,20,20,1\n\
    AAA,2020-01-02,10,10,10,10,1\n\
    BBB,2020-01-03,21,21,21,21,1\n\
    AAA,2020-01-03,11,11,11,11,1\n\
    BBB,2020-01-06,22,22,22,22,1\n";

#[test]
fn every_ticker_loads_with_its_own_rows_in_order_of_first_appearance() {
    let loaded_all = each(TWO_TICKERS, &TickerChoice::All);
    assert_eq!(ids(&loaded_all), vec!["BBB", "AAA"]);
    let (bbb, bbb_report) = loaded(&loaded_all[0]);
    assert_eq!(bbb.close, vec![20.0, 21.0, 22.0]);
    assert_eq!(bbb.dates, vec![date("2020-01-02"), date("2020-01-03"), date("2020-01-06")]);
    assert_eq!(bbb_report.ticker.as_deref(), Some("BBB"));
    assert_eq!(bbb_report.rows_read, 3);
    let (aaa, aaa_report) = loaded(&loaded_all[1]);
    assert_eq!(aaa.close, vec![10.0, 11.0]);
    assert_eq!(aaa_report.ticker.as_deref(), Some("AAA"));
    assert_eq!(aaa_report.rows_read, 2);
    assert_eq!(aaa_report.columns.get("ticker").map(String::as_str), Some("Name"));
}

#[test]
fn each_instrument_reads_as_parse_csv_reads_it_with_its_ticker() {
    for (id, result) in each(TWO_TICKERS, &TickerChoice::All) {
        let opts = LoadOptions { ticker: Some(id.clone()), ..LoadOptions::default() };
        assert_eq!(result, parse_with(TWO_TICKERS.as_bytes(), &opts), "{id}");
    }
}

#[test]
fn listed_tickers_come_in_the_order_listed_and_an_unknown_one_is_its_own_error() {
    let loaded_listed = each(TWO_TICKERS, &listed(&["aaa", "ZZZ", "BBB"]));
    // The id is the file's value that matched, as written.
    assert_eq!(ids(&loaded_listed), vec!["AAA", "ZZZ", "BBB"]);
    assert_eq!(loaded(&loaded_listed[0]).0.close, vec![10.0, 11.0]);
    assert_eq!(loaded(&loaded_listed[2]).0.close, vec![20.0, 21.0, 22.0]);
    let err = failed(&loaded_listed[1]);
    assert_eq!(err.message, "--ticker ZZZ: no such ticker; the file has 2 (BBB, AAA)");
    assert_eq!(line_and_column(err), (1, Some((1, "Name".to_string()))));
    assert!(each(TWO_TICKERS, &listed(&[])).is_empty());
}

#[test]
fn the_ticker_option_is_not_used_when_reading_many() {
    let opts = LoadOptions { ticker: Some("AAA".to_string()), ..LoadOptions::default() };
    let loaded_all = parse_csv_tickers_on(
        TWO_TICKERS.as_bytes(),
        Path::new("prices.csv"),
        &opts,
        &TickerChoice::All,
        date("2030-01-01"),
    )
    .expect("the fixture parses");
    assert_eq!(ids(&loaded_all), vec!["BBB", "AAA"]);
}

#[test]
fn a_file_without_a_ticker_column_is_one_instrument_named_after_its_stem() {
    let text = format!("{HEADER}2020-01-02,1,2,1,2,1\n2020-01-03,2,3,2,3,1\n");
    for choice in [TickerChoice::All, listed(&["AAPL", "MSFT"])] {
        let loaded_one = tickers_of("data/AAPL_kaggle.csv", &text, &choice).expect("the fixture parses");
        assert_eq!(ids(&loaded_one), vec!["AAPL_kaggle"], "{choice:?}");
        let (series, report) = loaded(&loaded_one[0]);
        assert_eq!(series.close, vec![2.0, 3.0]);
        assert_eq!(report.ticker, None);
        let warned = report.warnings.iter().any(|w| w.contains("AAPL, MSFT: the file names no ticker"));
        assert_eq!(warned, choice != TickerChoice::All, "{:?}", report.warnings);
    }
}

#[test]
fn a_column_with_one_ticker_reads_as_parse_csv_reads_it() {
    let text = format!("{LONG_HEADER}XOM,2020-01-02,1,2,1,2,1\n,2020-01-03,2,3,2,3,1\n");
    let loaded_one = each(&text, &TickerChoice::All);
    assert_eq!(ids(&loaded_one), vec!["XOM"]);
    assert_eq!(loaded_one[0].1, parse(text.as_bytes()));
}

#[test]
fn a_bad_instrument_is_its_own_error_while_the_others_load() {
    let text = format!(
        "{LONG_HEADER}GOOD,2020-01-02,1,2,1,2,1\nBADNUM,2020-01-02,1,x,1,2,1\nGOOD,2020-01-03,2,3,2,3,1\n\
         NOROWS,2020-01-02,,,,,\nNOROWS,2020-01-03,null,null,null,null,0\n"
    );
    let loaded_each = each(&text, &TickerChoice::All);
    assert_eq!(ids(&loaded_each), vec!["GOOD", "BADNUM", "NOROWS"]);
    assert_eq!(loaded(&loaded_each[0]).0.close, vec![2.0, 3.0]);
    let err = failed(&loaded_each[1]);
    assert_eq!(line_and_column(err), (3, Some((4, "High".to_string()))));
    let err = failed(&loaded_each[2]);
    assert!(err.message.contains("no usable rows"), "{}", err.message);
}

#[test]
fn each_instrument_detects_its_own_date_format() {
    let text = format!(
        "{LONG_HEADER}ISO,2020-01-02,1,2,1,2,1\nEU,13/01/2020,1,2,1,2,1\nISO,2020-01-03,1,2,1,2,1\n\
         EU,14/01/2020,1,2,1,2,1\n"
    );
    let loaded_each = each(&text, &TickerChoice::All);
    assert_eq!(loaded(&loaded_each[0]).1.date_format, "%Y-%m-%d");
    assert_eq!(loaded(&loaded_each[1]).1.date_format, "%d/%m/%Y");
    assert_eq!(loaded(&loaded_each[1]).0.dates, vec![date("2020-01-13"), date("2020-01-14")]);
}

#[test]
fn yfinance_tickers_side_by_side_are_one_instrument_each() {
    let text = "Price,Close,Close,High,High,Low,Low,Open,Open\n\
                Ticker,AAPL,MSFT,AAPL,MSFT,AAPL,MSFT,AAPL,MSFT\n\
                Date,,,,,,,,\n\
                2020-01-02,2,20,3,30,1,10,2,20\n";
    let loaded_all = each(text, &TickerChoice::All);
    assert_eq!(ids(&loaded_all), vec!["AAPL", "MSFT"]);
    assert_eq!(loaded(&loaded_all[0]).0.close, vec![2.0]);
    assert_eq!(loaded(&loaded_all[1]).0.close, vec![20.0]);
    assert_eq!(loaded(&loaded_all[1]).1.ticker.as_deref(), Some("MSFT"));
    let loaded_listed = each(text, &listed(&["msft", "IBM"]));
    assert_eq!(ids(&loaded_listed), vec!["MSFT", "IBM"]);
    assert_eq!(loaded(&loaded_listed[0]).0.high, vec![30.0]);
    let err = failed(&loaded_listed[1]);
    assert_eq!(err.message, "--ticker IBM: no such ticker; the file has 2 (AAPL, MSFT)");
}

#[test]
fn errors_of_the_whole_file_are_the_outer_error() {
    for text in ["", "root:x:0:0\nbin:x:1:1\n", "\"Date,Open\n"] {
        assert!(tickers_of("prices.csv", text, &TickerChoice::All).is_err(), "{text:?}");
    }
    let mut text = String::from(LONG_HEADER);
    for i in 0..=MAX_TICKERS {
        text.push_str(&format!("T{i},2020-01-02,1,1,1,1,1\n"));
    }
    let err = tickers_of("prices.csv", &text, &TickerChoice::All).err().map(|err| err.message);
    assert_eq!(err, Some(format!("the file holds more than {MAX_TICKERS} tickers in column \"Name\"")));
    let loaded_listed = each(&text, &listed(&["T7"]));
    assert_eq!(loaded(&loaded_listed[0]).0.close, vec![1.0]);
}

#[test]
fn garbage_bytes_never_panic_when_reading_many() {
    let inputs: [&[u8]; 8] = [
        b"\x00\x01\x02\x03",
        b"\xFF\xFF\xFF\n\xC3\x28",
        b"\"\"\"\n\"",
        b",,,,\n,,,,",
        b"Name,Date,Open,High,Low,Close\n\xFF,2020-01-02,1,2,1,2\n\xFE,2020-01-02,1,2,1,2\n,,,,,\n",
        b"Name,Date,Open,High,Low,Close\nA\nB,\nC,2020-01-02\n\xE2\x82,x,1,2,1,2\n",
        b"Price,Close,High\nTicker,\xFF,\nDate\n2020-01-02,1\n",
        b"Price,Close,Close,High,Low,Open\nTicker,A,B\nDate,,,,,\n2020-01-02,1,2,3,4,5,6,7\n",
    ];
    for input in inputs {
        for choice in [TickerChoice::All, listed(&["A", "", "\u{1b}"])] {
            let result = std::panic::catch_unwind(|| {
                parse_csv_tickers_on(
                    input,
                    Path::new("x.csv"),
                    &LoadOptions::default(),
                    &choice,
                    date("2030-01-01"),
                )
            });
            assert!(result.is_ok(), "panicked on {input:?}");
        }
    }
}

#[test]
fn values_that_name_one_instrument_are_read_together() {
    let text = format!(
        "{LONG_HEADER}LMT,2020-01-02,1,1,1,1,1\nAAPL,2020-01-02,5,5,5,5,1\nNYSE:LMT,2020-01-03,2,2,2,2,1\n\
         lmt,2020-01-06,3,3,3,3,1\n"
    );
    let loaded_all = each(&text, &TickerChoice::All);
    assert_eq!(ids(&loaded_all), vec!["LMT", "AAPL"]);
    let (lmt, report) = loaded(&loaded_all[0]);
    assert_eq!(lmt.close, vec![1.0, 2.0, 3.0]);
    assert_eq!(report.ticker.as_deref(), Some("LMT, NYSE:LMT, lmt"));
    for (id, result) in &loaded_all {
        let opts = LoadOptions { ticker: Some(id.clone()), ..LoadOptions::default() };
        assert_eq!(*result, parse_with(text.as_bytes(), &opts), "{id}");
    }
    let loaded_listed = each(&text, &listed(&["nyse:lmt"]));
    assert_eq!(ids(&loaded_listed), vec!["LMT"]);
    assert_eq!(loaded_listed[0].1, loaded_all[0].1);
}
