//! One test per layout that issue #3 lists, each on a small fixture written here in the shape of a
//! real export (see ../shared/data/README.md for the real files): delimiters and cell formats,
//! headers of each exporter, date formats, odd rows, adjusted prices, multi-ticker files and the
//! override flags. They call the loader directly; tests/inspect.rs and tests/shared_data.rs run the
//! binary.

use std::path::Path;

use chrono::NaiveDate;
use forecast::data::load::{parse_csv_on, LastRow, LoadOptions};
use forecast::data::{LoadReport, Series};
use forecast::error::DataError;

fn today() -> NaiveDate {
    d("2030-01-01")
}

fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn load_with(text: &str, opts: &LoadOptions) -> (Series, LoadReport) {
    parse_csv_on(text.as_bytes(), Path::new("prices.csv"), opts, today())
        .unwrap_or_else(|err| panic!("expected the fixture to load, got: {err}"))
}

fn load(text: &str) -> (Series, LoadReport) {
    load_with(text, &LoadOptions::default())
}

fn refuse_with(text: &str, opts: &LoadOptions) -> DataError {
    match parse_csv_on(text.as_bytes(), Path::new("prices.csv"), opts, today()) {
        Ok((series, _)) => panic!("expected a refusal, got {} rows", series.len()),
        Err(err) => err,
    }
}

fn refuse(text: &str) -> DataError {
    refuse_with(text, &LoadOptions::default())
}

fn opts() -> LoadOptions {
    LoadOptions::default()
}

fn column(report: &LoadReport, field: &str) -> Option<String> {
    report.columns.get(field).cloned()
}

// ---------------------------------------------------------------------------------------------
// Delimiters and cells

#[test]
fn comma_delimiter() {
    let (series, report) = load("Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n");
    assert_eq!(report.delimiter, ',');
    assert_eq!(series.close, vec![1.5]);
}

#[test]
fn semicolon_delimiter() {
    let (series, report) = load("Date;Open;High;Low;Close;Volume\n2024-01-02;1;2;0.5;1.5;10\n");
    assert_eq!(report.delimiter, ';');
    assert_eq!((series.open[0], series.high[0], series.low[0], series.close[0]), (1.0, 2.0, 0.5, 1.5));
}

#[test]
fn tab_delimiter() {
    let (series, report) = load("Date\tOpen\tHigh\tLow\tClose\tVolume\n2024-01-02\t1\t2\t0.5\t1.5\t10\n");
    assert_eq!(report.delimiter, '\t');
    assert_eq!(series.volume, Some(vec![10.0]));
}

#[test]
fn quoted_fields() {
    let (series, _) =
        load("\"Date\",\"Open\",\"High\",\"Low\",\"Close\"\n\"2024-01-02\",\"1\",\"2\",\"0.5\",\"1.5\"\n");
    assert_eq!(series.dates, vec![d("2024-01-02")]);
    assert_eq!(series.close, vec![1.5]);
}

#[test]
fn thousands_separators() {
    let (series, _) = load(
        "Date,Open,High,Low,Close,Volume\n2004-01-02,\"1,111.90\",\"1,118.80\",\"1,105.10\",\"1,108.50\",\"2,500,485\"\n",
    );
    assert_eq!(series.open, vec![1111.9]);
    assert_eq!(series.high, vec![1118.8]);
    assert_eq!(series.close, vec![1108.5]);
    assert_eq!(series.volume, Some(vec![2_500_485.0]));
    let err = refuse("Date,Open,High,Low,Close\n2004-01-02,\"1,5\",2,1,1.5\n");
    assert_eq!(err.location.map(|l| (l.line, l.column)), Some((2, Some((2, "Open".to_string())))));
}

#[test]
fn volume_suffixes() {
    let (series, _) = load(
        "Date,Price,Open,High,Low,Vol.,Change %\n\"Jan 03, 2024\",2,1,2,1,698.62K,1.0%\n\
         \"Jan 04, 2024\",2,1,2,1,1.25M,0.0%\n\"Jan 05, 2024\",2,1,2,1,2.1B,0.0%\n",
    );
    assert_eq!(series.volume, Some(vec![698_620.0, 1_250_000.0, 2_100_000_000.0]));
}

#[test]
fn missing_value_markers() {
    let (series, report) = load(
        "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,2,10\n2024-01-03,-,-,-,-,-\n\
         2024-01-04,null,null,null,null,null\n2024-01-05,NULL,NULL,NULL,NULL,NULL\n2024-01-08,,,,,\n\
         2024-01-09,1,2,1,2,\n",
    );
    assert_eq!(series.dates, vec![d("2024-01-02"), d("2024-01-09")]);
    assert_eq!(series.volume, Some(vec![10.0, 0.0]));
    assert_eq!(report.dropped.get("missing price"), Some(&4));
    assert_eq!(report.rows_read, 6);
}

#[test]
fn byte_order_mark() {
    let (_, report) = load("\u{FEFF}Date,Price,Open,High,Low\n1/2/2004,2,1,2,1\n1/13/2004,2,1,2,1\n");
    assert_eq!(column(&report, "date").as_deref(), Some("Date"));
}

#[test]
fn crlf_line_endings() {
    let (series, _) = load("Date,Open,High,Low,Close\r\n2024-01-02,1,2,1,2\r\n2024-01-03,1,2,1,1.5\r\n");
    assert_eq!(series.close, vec![2.0, 1.5]);
    let err = refuse("Date,Open,High,Low,Close\r\n2024-01-02,1,2,1,2\r\n2024-01-03,1,2,1,x\r\n");
    assert_eq!(err.location.map(|l| l.line), Some(3));
}

#[test]
fn no_trailing_newline() {
    let (series, report) = load("Date,Open,High,Low,Close\r\n2024-01-02,1,2,1,2\r\n2024-01-03,1,2,1,1.5");
    assert_eq!(series.close, vec![2.0, 1.5]);
    assert_eq!(report.rows_read, 2);
}

#[test]
fn trailing_spaces_in_header_names() {
    let (series, report) = load("Date ,Open  , High,Low ,Close \n2024-01-02,1,2,1,2\n");
    assert_eq!(column(&report, "open").as_deref(), Some("Open"));
    assert_eq!(series.close, vec![2.0]);
}

// ---------------------------------------------------------------------------------------------
// Headers

#[test]
fn yahoo_header() {
    let (series, report) = load(
        "Date,Open,High,Low,Close,Adj Close,Volume\n2020-04-16,40,42,39,41,20.5,3071840\n\
         2020-04-17,null,null,null,null,null,null\n",
    );
    assert_eq!(column(&report, "adj_close").as_deref(), Some("Adj Close"));
    assert_eq!(report.price_column, "adj_close");
    assert_eq!(series.close, vec![20.5]);
    assert_eq!(report.dropped.get("missing price"), Some(&1));
}

#[test]
fn stooq_english_header() {
    let (series, report) = load(
        "Date,Open,High,Low,Close,Volume\r\n2000-01-24,0.0882891,0.0882891,0.0811881,0.0816574,70416405.361298\r\n",
    );
    assert_eq!(series.close, vec![0.0816574]);
    assert_eq!(series.volume, Some(vec![70416405.361298]));
    assert_eq!(report.price_column, "close");
}

#[test]
fn stooq_polish_header() {
    let (series, report) = load(
        "Data,Otwarcie,Najwyzszy,Najnizszy,Zamkniecie,Wolumen\r\n2010-06-28,1.13333,1.13333,1.13333,1.13333\r\n\
         2010-06-29,1.26667,1.66667,1.16933,1.59267,281749140\r\n",
    );
    assert_eq!(column(&report, "close").as_deref(), Some("Zamkniecie"));
    assert_eq!(column(&report, "volume").as_deref(), Some("Wolumen"));
    assert_eq!(series.volume, Some(vec![0.0, 281749140.0]), "the short first row has no volume");
    assert_eq!(report.warnings, vec!["1 row had no volume; volume was set to 0.".to_string()]);
}

#[test]
fn stooq_bulk_header() {
    let (series, report) = load(
        "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>\r\n\
         SPY.US,D,20050225,000000,96.1403,97.2558,96.052,97.0723,76530081.487282,0\r\n\
         SPY.US,D,20050228,000000,96.8433,96.9693,95.9469,96.409,86854659.797939,0\r\n",
    );
    assert_eq!(series.dates, vec![d("2005-02-25"), d("2005-02-28")]);
    assert_eq!(report.date_format, "%Y%m%d");
    assert_eq!(report.ticker.as_deref(), Some("SPY.US"));
    assert_eq!(column(&report, "volume").as_deref(), Some("<VOL>"));
}

#[test]
fn finam_header() {
    let (series, report) = load(
        "<DATE>;<TIME>;<OPEN>;<HIGH>;<LOW>;<CLOSE>;<VOL>\r\n05/01/00;00:00;1150.0000000;1264.8800000;1080.0000000;\
         1218.0100000;29819\r\n17/07/07;00:00;106000;108000;105000;107000;25276\r\n",
    );
    assert_eq!(report.delimiter, ';');
    assert_eq!(column(&report, "date").as_deref(), Some("<DATE>"));
    assert_eq!(report.date_format, "%d/%m/%y");
    assert_eq!(series.dates, vec![d("2000-01-05"), d("2007-07-17")]);
    assert_eq!(series.close, vec![1218.01, 107000.0]);
}

#[test]
fn alpha_vantage_header() {
    let (series, report) = load(
        "timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient\n\
         2018-07-13,104.37,105.6,104.09,105.43,100.0,24653500,0.0000,1.0\n\
         2018-07-12,102.77,104.41,102.73,104.19,98.0,24335929,0.0000,1.0\n",
    );
    assert_eq!(column(&report, "date").as_deref(), Some("timestamp"));
    assert_eq!(column(&report, "adj_close").as_deref(), Some("adjusted_close"));
    assert_eq!(series.dates, vec![d("2018-07-12"), d("2018-07-13")]);
    assert_eq!(series.close, vec![98.0, 100.0]);
}

#[test]
fn kaggle_header_with_openint_and_name() {
    let (series, report) = load(
        "Date,Open,High,Low,Close,Volume,OpenInt\r\n1984-09-07,0.42388,0.42902,0.41874,0.42388,23220030,0\r\n",
    );
    assert_eq!(series.close, vec![0.42388]);
    assert!(!report.columns.values().any(|header| header == "OpenInt"));
    let (_, report) =
        load("date,open,high,low,close,volume,Name\n2013-02-08,88.5,88.8,88.11,88.61,11412204,XOM\n");
    assert_eq!(column(&report, "ticker").as_deref(), Some("Name"));
    assert_eq!(report.ticker.as_deref(), Some("XOM"));
}

#[test]
fn investing_header() {
    let (series, report) = load(
        "\u{FEFF}Date,Price,Open,High,Low,Vol.,Change %\r\n1/2/2004,1108.5,\"1,111.90\",\"1,118.80\",\"1,105.10\",-,-0.31%\r\n\
         1/15/2004,1122.2,\"1,108.50\",\"1,122.20\",\"1,108.50\",-,1.24%\r\n",
    );
    assert_eq!(column(&report, "close").as_deref(), Some("Price"));
    assert_eq!(report.date_format, "%m/%d/%Y");
    assert_eq!(series.close, vec![1108.5, 1122.2]);
    assert_eq!(series.open, vec![1111.9, 1108.5]);
    assert_eq!(series.volume, None, "Vol. is - in every row");
}

#[test]
fn binance_kline_header() {
    let (series, report) = load(
        "Open time,Open,High,Low,Close,Volume,Close time,Quote asset volume,Number of trades,\
         Taker buy base asset volume,Taker buy quote asset volume,Ignore\r\n\
         1643673600000,38466.90000000,39265.20000000,38000.00000000,38694.59000000,34574.44663000,\
         1643759999999,1334266166.70999890,917617,17730.99304000,684446571.17936590,0\r\n",
    );
    assert_eq!(column(&report, "date").as_deref(), Some("Open time"));
    assert_eq!(report.date_format, "unix-ms");
    assert_eq!(series.dates, vec![d("2022-02-01")]);
    assert_eq!(series.volume, Some(vec![34574.44663]));
}

#[test]
fn cryptodatadownload_header() {
    let (series, report) = load(
        "unix,date,symbol,open,high,low,close,Volume BTC,Volume USDT,tradecount\n\
         1623283200000,2021-06-10 00:00:00,BTC/USDT,37388.05,38491.00,35782.00,36675.72,109527.284943,4062957162.36,2231430\n\
         1513555200.0,2017-12-18,BTC/USDT,19106.4,19252.54,18001.11,18970.79,1000.5,19000000.2,NULL\n",
    );
    assert_eq!(column(&report, "date").as_deref(), Some("date"), "the human date beats unix");
    assert_eq!(column(&report, "volume").as_deref(), Some("Volume BTC"), "the base-asset volume");
    assert_eq!(column(&report, "ticker").as_deref(), Some("symbol"));
    assert_eq!(series.dates, vec![d("2017-12-18"), d("2021-06-10")]);
    assert_eq!(series.volume, Some(vec![1000.5, 109527.284943]));
}

#[test]
fn moex_header_in_any_order() {
    let (series, report) = load(
        "open,close,high,low,value,volume,begin,end\n\
         100.5,101,102,99,1000000,10000,2023-01-03 00:00:00,2023-01-03 23:59:59\n\
         101,103,104,100.5,1200000,12000,2023-01-04 00:00:00,2023-01-04 23:59:59\n",
    );
    assert_eq!(column(&report, "date").as_deref(), Some("begin"));
    assert_eq!(series.dates, vec![d("2023-01-03"), d("2023-01-04")]);
    assert_eq!(series.open, vec![100.5, 101.0]);
    assert_eq!(series.high, vec![102.0, 104.0]);
    assert_eq!(series.low, vec![99.0, 100.5]);
    assert_eq!(series.close, vec![101.0, 103.0]);
    assert_eq!(series.volume, Some(vec![10000.0, 12000.0]));
}

#[test]
fn yfinance_multi_row_header() {
    let (series, report) = load(
        "Price,Close,High,Low,Open,Volume\nTicker,AAPL,AAPL,AAPL,AAPL,AAPL\nDate,,,,,\n\
         2024-01-02,185.64,188.44,183.89,187.15,82488700\n2024-01-03,184.25,185.88,183.43,184.22,58414500\n",
    );
    assert_eq!(series.dates, vec![d("2024-01-02"), d("2024-01-03")]);
    assert_eq!(series.open, vec![187.15, 184.22]);
    assert_eq!(series.close, vec![185.64, 184.25]);
    assert_eq!(report.ticker.as_deref(), Some("AAPL"));
    assert_eq!(report.rows_read, 2);
}

#[test]
fn yfinance_header_with_several_tickers_needs_ticker() {
    let text = "Price,Close,Close,High,High,Low,Low,Open,Open,Volume,Volume\n\
                Ticker,AAPL,MSFT,AAPL,MSFT,AAPL,MSFT,AAPL,MSFT,AAPL,MSFT\nDate,,,,,,,,,,\n\
                2024-01-02,185.6,370.9,188.4,375.9,183.9,366.5,187.2,373.9,82488700,25258600\n";
    let err = refuse(text);
    assert!(err.message.contains("2 tickers side by side") && err.message.contains("AAPL, MSFT"), "{err}");
    assert!(err.hint.unwrap_or_default().contains("--ticker"));
    let (series, report) = load_with(text, &LoadOptions { ticker: Some("msft".into()), ..opts() });
    assert_eq!(series.close, vec![370.9]);
    assert_eq!(series.volume, Some(vec![25258600.0]));
    assert_eq!(report.ticker.as_deref(), Some("MSFT"));
}

#[test]
fn file_without_volume_column() {
    let (series, report) = load("Date,Open,High,Low,Close\n2024-01-02,1,2,1,2\n");
    assert_eq!(series.volume, None);
    assert!(!report.columns.contains_key("volume"));
}

#[test]
fn extra_columns_are_ignored() {
    let (series, _) = load(
        "Date,Open,High,Low,Close,Volume,Dividends,Stock Splits,Comment\n2024-01-02,1,2,1,2,10,0.0,0.0,hello\n",
    );
    assert_eq!(series.close, vec![2.0]);
    assert_eq!(series.volume, Some(vec![10.0]));
}

#[test]
fn banner_line_above_the_header() {
    let (series, report) = load(
        "https://www.CryptoDataDownload.com\nunix,date,symbol,open,high,low,close,Volume BTC\n\
         1623283200000,2021-06-10 00:00:00,BTC/USDT,1,2,1,2,10\n",
    );
    assert_eq!(series.close, vec![2.0]);
    assert!(report.warnings.iter().any(|w| w.contains("the header is on line 2")), "{:?}", report.warnings);
}

// ---------------------------------------------------------------------------------------------
// Dates

const OHLC: &str = "Date,Open,High,Low,Close\n";

fn dates_of(rows: &[&str]) -> (Vec<NaiveDate>, String) {
    let text: String =
        std::iter::once(OHLC.to_string()).chain(rows.iter().map(|r| format!("{r},1,2,1,2\n"))).collect();
    let (series, report) = load(&text);
    (series.dates, report.date_format)
}

#[test]
fn iso_dates() {
    assert_eq!(dates_of(&["2024-01-31"]), (vec![d("2024-01-31")], "%Y-%m-%d".to_string()));
}

#[test]
fn iso_dates_with_time() {
    assert_eq!(
        dates_of(&["2024-01-31 00:00:00", "2024-02-01 00:00:00"]),
        (vec![d("2024-01-31"), d("2024-02-01")], "%Y-%m-%d %H:%M:%S".to_string())
    );
}

#[test]
fn compact_dates() {
    assert_eq!(dates_of(&["20240131"]), (vec![d("2024-01-31")], "%Y%m%d".to_string()));
}

#[test]
fn epoch_seconds_and_milliseconds() {
    assert_eq!(dates_of(&["1706659200"]), (vec![d("2024-01-31")], "unix".to_string()));
    assert_eq!(dates_of(&["1513555200.0"]), (vec![d("2017-12-18")], "unix".to_string()));
    assert_eq!(dates_of(&["1706659200000"]), (vec![d("2024-01-31")], "unix-ms".to_string()));
}

#[test]
fn month_first_or_day_first_is_decided_by_a_field_above_12() {
    assert_eq!(
        dates_of(&["3/17/1980", "3/18/1980"]),
        (vec![d("1980-03-17"), d("1980-03-18")], "%m/%d/%Y".to_string())
    );
    assert_eq!(
        dates_of(&["04/01/2016", "13/01/2016"]),
        (vec![d("2016-01-04"), d("2016-01-13")], "%d/%m/%Y".to_string())
    );
}

#[test]
fn ambiguous_day_and_month_are_refused_naming_the_flag() {
    let err = refuse(&format!("{OHLC}04/01/2016,1,2,1,2\n05/01/2016,1,2,1,2\n"));
    assert_eq!(err.location.as_ref().map(|l| l.line), Some(2));
    assert!(err.message.contains("ambiguous") && err.message.contains("%m/%d/%Y"), "{err}");
    let hint = err.hint.unwrap_or_default();
    assert!(hint.contains("--date-format %m/%d/%Y") && hint.contains("--date-format %d/%m/%Y"), "{hint}");
}

#[test]
fn two_digit_years() {
    assert_eq!(
        dates_of(&["05/01/00", "17/07/07"]),
        (vec![d("2000-01-05"), d("2007-07-17")], "%d/%m/%y".to_string())
    );
}

#[test]
fn day_month_name_two_digit_year() {
    assert_eq!(
        dates_of(&["30-Jun-17", "3-Jan-05"]),
        (vec![d("2005-01-03"), d("2017-06-30")], "%d-%b-%y".to_string())
    );
}

#[test]
fn month_name_day_comma_year() {
    let text = format!("{OHLC}\"Jun 30, 2017\",1,2,1,2\n\"Jan 3, 2005\",1,2,1,2\n");
    let (series, report) = load(&text);
    assert_eq!(series.dates, vec![d("2005-01-03"), d("2017-06-30")]);
    assert_eq!(report.date_format, "%b %d, %Y");
}

#[test]
fn two_date_formats_stitched_together() {
    let (dates, format) =
        dates_of(&["2021-06-11 00:00:00", "2021-06-10 00:00:00", "2017-12-18", "2017-12-17"]);
    assert_eq!(dates, vec![d("2017-12-17"), d("2017-12-18"), d("2021-06-10"), d("2021-06-11")]);
    assert_eq!(format, "%Y-%m-%d %H:%M:%S + %Y-%m-%d");
    let (_, report) = load(&format!("{OHLC}2021-06-11 00:00:00,1,2,1,2\n2017-12-18,1,2,1,2\n"));
    assert_eq!(
        report.warnings,
        vec![
            "the dates in column \"Date\" mix two formats, %Y-%m-%d %H:%M:%S (1 row) and %Y-%m-%d (1 row); both \
             were read."
                .to_string()
        ]
    );
    let (dates, format) = dates_of(&["1623369600000", "1513555200.0"]);
    assert_eq!((dates, format.as_str()), (vec![d("2017-12-18"), d("2021-06-11")], "unix-ms + unix"));
}

#[test]
fn unknown_date_format_is_refused_naming_the_flag() {
    let err = refuse(&format!("{OHLC}2024/31/01,1,2,1,2\n"));
    assert!(err.message.starts_with("cannot parse date \"2024/31/01\""), "{err}");
    assert!(err.hint.unwrap_or_default().contains("--date-format"));
}

// ---------------------------------------------------------------------------------------------
// Rows

#[test]
fn descending_rows_are_sorted() {
    let (series, _) =
        load("timestamp,open,high,low,close\n2018-07-13,1,3,1,3\n2018-07-12,1,2,1,2\n2018-07-11,1,1,1,1\n");
    assert_eq!(series.close, vec![1.0, 2.0, 3.0]);
}

#[test]
fn unsorted_rows_are_sorted() {
    let (series, _) = load("Date,Open,High,Low,Close,Volume,Name\n2016-01-05,1,2,1,2,1,A\n2016-01-04,1,1,1,1,1,A\n2016-01-06,1,3,1,3,1,A\n");
    assert_eq!(series.close, vec![1.0, 2.0, 3.0]);
}

#[test]
fn duplicate_dates_keep_one_and_say_which() {
    let (series, report) = load(
        "unix,date,symbol,open,high,low,close,Volume BTC\n\
         1513555200000,2017-12-18 00:00:00,BTC/USDT,19106.4,19252.54,18001.11,18970.79,100\n\
         1513555200.0,2017-12-18,BTC/USDT,19106.40,19252.54,18001.11,18970.80,101\n",
    );
    assert_eq!(series.close, vec![18970.8]);
    assert_eq!(report.duplicates, vec![d("2017-12-18")]);
    assert_eq!(report.dropped.get("duplicate date"), Some(&1));
    assert!(
        report.warnings.iter().any(|w| w.contains("2017-12-18 (kept line 3, dropped 2)")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn dividend_and_split_rows_with_fewer_fields_are_dropped() {
    let (series, report) = load(
        "Date,Open,High,Low,Close*,Adj Close**,Volume\n\"Mar 17, 2023\",155.08,156.75,153.85,155.00,155.00,98944600\n\
         \"Mar 16, 2023\",\"0.23 Dividend\"\n\"Mar 15, 2023\",151.19,153.25,149.92,152.99,152.76,77167900\n\
         \"Aug 31, 2020\",\"4:1 Stock Split\"\n",
    );
    assert_eq!(series.dates, vec![d("2023-03-15"), d("2023-03-17")]);
    assert_eq!(report.dropped.get("dividend or split row"), Some(&2));
    assert_eq!(report.price_column, "adj_close");
}

#[test]
fn close_outside_low_high_is_repaired_and_reported() {
    let (series, report) = load(
        "Date,Open,High,Low,Close,Volume,Name\n2016-12-14,240.0,242.01,239.0,477.0,100,HLT\n\
         2016-12-15,5,6,4,5,100,HLT\n",
    );
    assert_eq!((series.high[0], series.close[0]), (477.0, 477.0));
    assert!(report
        .warnings
        .iter()
        .any(|w| w.starts_with("1 row had close outside [low, high] (2016-12-14)")));
}

#[test]
fn high_below_low_is_dropped() {
    let (series, report) = load("Date,Open,High,Low,Close\n2024-01-02,1,1,2,1.5\n2024-01-03,1,2,1,1.5\n");
    assert_eq!(series.len(), 1);
    assert_eq!(report.dropped.get("high below low"), Some(&1));
}

#[test]
fn zero_and_missing_volume() {
    let (series, report) = load(
        "Date,Open,High,Low,Close,Volume\n2010-04-23,1,2,1,2,5\n2010-04-26,1,2,1,2,0\n2010-04-27,1,2,1,2,\n",
    );
    assert_eq!(series.volume, Some(vec![5.0, 0.0, 0.0]));
    assert_eq!(report.warnings, vec!["1 row had no volume; volume was set to 0.".to_string()]);
}

#[test]
fn zero_open_is_filled_from_the_previous_close() {
    let (series, report) = load(
        "Date,ASSET,Open,High,Low,Close,Adj Close,Volume\r\n3/17/1980,JPM,0,5.12963,5.018518,5.037037,5.037037,62400\r\n\
         3/18/1980,JPM,0,5.111111,5.037037,5.074074,5.074074,63900\r\n",
    );
    assert_eq!(series.open, vec![5.037037, 5.037037]);
    assert!(report.warnings.iter().any(|w| w.starts_with("2 rows had an open of 0 or none")));
    assert!(series.open.iter().all(|&open| open > 0.0), "never log(0)");
}

/// A header, 20 daily rows with volume 100 000 and a last row with `last_volume`.
fn crypto_days(last_volume: f64) -> String {
    let mut text = String::from("timestamp,open,high,low,close,volume\n");
    for day in 1..=20 {
        text.push_str(&format!("2021-05-{day:02},100,110,90,105,100000\n"));
    }
    text.push_str(&format!("2021-05-21,105,106,104,105.5,{last_volume}\n"));
    text
}

#[test]
fn in_progress_last_row_is_dropped_with_a_warning() {
    let (series, report) = load(&crypto_days(772.0));
    assert_eq!(series.dates.last(), Some(&d("2021-05-20")));
    assert_eq!(report.dropped.get("in-progress last row"), Some(&1));
    assert!(report.warnings.iter().any(|w| w.starts_with("dropped the last row (2021-05-21, line 22)")));
    let (series, _) =
        load_with(&crypto_days(772.0), &LoadOptions { last_row: Some(LastRow::Keep), ..opts() });
    assert_eq!(series.dates.last(), Some(&d("2021-05-21")));
}

#[test]
fn a_possibly_in_progress_last_row_is_kept_with_a_warning_and_dropped_on_request() {
    let (series, report) = load(&crypto_days(40000.0));
    assert_eq!(series.dates.last(), Some(&d("2021-05-21")));
    assert!(
        report.warnings.iter().any(|w| w.contains("may be a day still in progress")),
        "{:?}",
        report.warnings
    );
    let (series, report) =
        load_with(&crypto_days(40000.0), &LoadOptions { last_row: Some(LastRow::Drop), ..opts() });
    assert_eq!(series.dates.last(), Some(&d("2021-05-20")));
    assert_eq!(report.dropped.get("in-progress last row"), Some(&1));
}

#[test]
fn todays_crypto_candle_is_in_progress() {
    let text = crypto_days(100000.0);
    let loaded = parse_csv_on(text.as_bytes(), Path::new("p.csv"), &opts(), d("2021-05-21"));
    let (series, report) = loaded.unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(series.dates.last(), Some(&d("2021-05-20")));
    assert!(report.warnings.iter().any(|w| w.contains("trades every day")), "{:?}", report.warnings);
}

// ---------------------------------------------------------------------------------------------
// Adjusted prices and splits

/// Three days around a 7:1 split, as Yahoo writes them: Close unadjusted, Adj Close adjusted.
const SPLIT_7_TO_1: &str = "Date,Open,High,Low,Close,Adj Close,Volume\n\
    2014-06-05,637.98,647.89,636.11,647.35,85.13,75951400\n\
    2014-06-06,649.90,651.26,644.47,645.57,84.90,87484600\n\
    2014-06-09,92.70,93.88,91.75,93.70,86.26,75415000\n";

#[test]
fn adjusted_close_is_modelled_so_a_split_is_not_a_crash() {
    let (series, report) = load(SPLIT_7_TO_1);
    assert_eq!(report.price_column, "adj_close");
    assert_eq!(series.close, vec![85.13, 84.90, 86.26]);
    let move_on_split_day = series.close[2] / series.close[1] - 1.0;
    assert!(move_on_split_day.abs() < 0.02, "{move_on_split_day}");
    let factor = 86.26 / 93.70;
    assert!((series.open[2] - 92.70 * factor).abs() < 1e-9);
    assert!((series.high[2] - 93.88 * factor).abs() < 1e-9);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn price_column_close_overrides_and_the_split_is_warned_about() {
    let (series, report) =
        load_with(SPLIT_7_TO_1, &LoadOptions { price_column: Some("close".into()), ..opts() });
    assert_eq!(report.price_column, "close");
    assert_eq!(series.close, vec![647.35, 645.57, 93.70]);
    let warning = report.warnings.iter().find(|w| w.contains("7:1 split")).cloned().unwrap_or_default();
    assert!(warning.contains("645.57 on 2014-06-06 to 93.7 on 2014-06-09"), "{warning}");
    assert!(warning.contains("Adj Close"), "{warning}");
}

#[test]
fn unadjusted_split_jump_is_warned_about() {
    let (_, report) = load(
        "timestamp,open,high,low,close,volume\n2003-02-18,24.62,24.99,24.40,24.96,28707750\n\
         2003-02-14,47.25,48.50,46.77,48.30,45223200\n",
    );
    assert_eq!(report.warnings.len(), 1);
    assert!(report.warnings[0].starts_with("the close jumps from 48.3 on 2003-02-14 to 24.96 on 2003-02-18"));
    assert!(report.warnings[0].contains("unadjusted 2:1 split"));
}

#[test]
fn a_crash_is_not_a_split() {
    let (_, report) = load(
        "Date,Open,High,Low,Close,Volume,OpenInt\n2000-09-28,3.3,3.43,3.25,3.4257,273189804,0\n\
         2000-09-29,1.8058,1.8444,1.6367,1.6496,2069769775,0\n",
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

// ---------------------------------------------------------------------------------------------
// Multi-ticker files

const BIG_TECH: &str = "stock symbol,Date,Open,High,Low,Close,Adj Close,Volume\n\
    CSCO,2010-01-04,24.110001,24.84,24.01,24.690001,17.394129,59853700\n\
    CSCO,2010-01-05,24.6,24.73,24.379999,24.58,17.316635,45124500\n\
    AAPL,2010-01-04,7.6225,7.660714,7.585,7.643214,6.515213,493729600\n\
    AAPL,2010-01-05,7.664286,7.699643,7.616071,7.656429,6.526476,601904800\n\
    NYSE:LMT,2010-01-05,1,2,1,2,2,100\n";

#[test]
fn several_tickers_are_refused_with_the_list() {
    let err = refuse(BIG_TECH);
    assert_eq!(
        err.message,
        "the file holds 3 tickers in column \"stock symbol\" (CSCO, AAPL, NYSE:LMT), with 1 to 2 rows each (median 2)"
    );
    assert_eq!(err.location.map(|l| (l.line, l.column)), Some((1, Some((1, "stock symbol".to_string())))));
    assert_eq!(err.hint.as_deref(), Some("choose one with --ticker SYMBOL, for example --ticker CSCO"));
}

#[test]
fn ticker_selects_one_instrument() {
    let (series, report) = load_with(BIG_TECH, &LoadOptions { ticker: Some("aapl".into()), ..opts() });
    assert_eq!(series.dates, vec![d("2010-01-04"), d("2010-01-05")]);
    assert_eq!(series.close, vec![6.515213, 6.526476]);
    assert_eq!(report.ticker.as_deref(), Some("AAPL"));
    assert_eq!(report.rows_read, 2);
    let (series, _) = load_with(BIG_TECH, &LoadOptions { ticker: Some("LMT".into()), ..opts() });
    assert_eq!(series.len(), 1, "LMT matches NYSE:LMT");
    let err = refuse_with(BIG_TECH, &LoadOptions { ticker: Some("IBM".into()), ..opts() });
    assert!(err.message.contains("--ticker IBM: no such ticker"), "{err}");
}

#[test]
fn ticker_also_matches_a_market_suffix() {
    let text = "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>\nSPY.US,D,20050225,000000,96,97,96,97,7\n";
    let (series, report) = load_with(text, &LoadOptions { ticker: Some("SPY".into()), ..opts() });
    assert_eq!(series.len(), 1);
    assert_eq!(report.ticker.as_deref(), Some("SPY.US"));
}

#[test]
fn ticker_on_a_single_instrument_file_warns() {
    let (_, report) = load_with(
        "Date,Open,High,Low,Close\n2024-01-02,1,2,1,2\n",
        &LoadOptions { ticker: Some("X".into()), ..opts() },
    );
    assert_eq!(
        report.warnings,
        vec!["--ticker X: the file has no ticker column, so every row was read.".to_string()]
    );
}

// ---------------------------------------------------------------------------------------------
// Overrides

#[test]
fn column_flags_name_columns_by_header_or_number() {
    let text = "Dzien,Kurs otwarcia,Max,Min,Kurs zamkniecia,Obrot\n2024-01-02,1,3,0.5,2,10\n";
    assert!(refuse(text).message.contains("missing required columns date, open, close"));
    let flags = LoadOptions {
        date_column: Some("dzien".into()),
        open_column: Some("Kurs otwarcia".into()),
        high_column: Some("3".into()),
        low_column: Some("Min".into()),
        close_column: Some("Kurs zamkniecia".into()),
        volume_column: Some("Obrot".into()),
        ..opts()
    };
    let (series, report) = load_with(text, &flags);
    assert_eq!((series.open[0], series.high[0], series.low[0], series.close[0]), (1.0, 3.0, 0.5, 2.0));
    assert_eq!(series.volume, Some(vec![10.0]));
    assert_eq!(column(&report, "high").as_deref(), Some("Max"));
    let err = refuse_with(text, &LoadOptions { date_column: Some("Datum".into()), ..flags.clone() });
    assert!(err.message.starts_with("--date-column Datum: no such column"), "{err}");
}

#[test]
fn volume_column_none_reads_no_volume() {
    let (series, _) = load_with(
        "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,2,lots\n",
        &LoadOptions { volume_column: Some("none".into()), ..opts() },
    );
    assert_eq!(series.volume, None);
}

#[test]
fn date_format_flag_settles_ambiguous_dates() {
    let text = format!("{OHLC}04/01/2016,1,2,1,2\n05/01/2016,1,2,1,2\n");
    let (series, report) = load_with(&text, &LoadOptions { date_format: Some("%d/%m/%Y".into()), ..opts() });
    assert_eq!(series.dates, vec![d("2016-01-04"), d("2016-01-05")]);
    assert_eq!(report.date_format, "%d/%m/%Y");
    let (series, _) = load_with(&text, &LoadOptions { date_format: Some("%m/%d/%Y".into()), ..opts() });
    assert_eq!(series.dates, vec![d("2016-04-01"), d("2016-05-01")]);
    let err = refuse_with(
        &format!("{OHLC}2016-01-04,1,2,1,2\n"),
        &LoadOptions { date_format: Some("%d/%m/%Y".into()), ..opts() },
    );
    assert_eq!(err.message, "date \"2016-01-04\" does not match --date-format %d/%m/%Y");
}

#[test]
fn delimiter_flag() {
    let text = "Date|Open|High|Low|Close\n2024-01-02|1|2|1|2\n";
    let err = refuse(text);
    assert!(err.message.contains("no header line found"), "{err}");
    assert!(err.hint.is_some_and(|hint| hint.contains("pass --delimiter")));
    let (series, report) = load_with(text, &LoadOptions { delimiter: Some('|'), ..opts() });
    assert_eq!(series.close, vec![2.0]);
    assert_eq!(report.delimiter, '|');
}
