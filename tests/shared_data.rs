//! `forecast inspect --format json` over every real file in ../shared/data, checked against the
//! values in its README (rows in the file, first and last date) and the file itself (first and last
//! close of the series that is modelled), with each documented oddity accounted for. The MULTI
//! files are refused without --ticker, with a message that lists the tickers and names the flag.
//! Also checks that each file in tests/data is an unmodified cut of its ../shared/data original.
//!
//! This is the wider suite: it builds only with `--features shared-data` (run by .ci/run beside
//! ../shared), and missing shared data is a failure, not a skip.

mod common;
use common::{forecast, s, FAST};
use std::path::{Path, PathBuf};

/// The folder of the real files: FORECAST_SHARED_DATA, or ../shared/data beside this repository.
fn shared_dir() -> PathBuf {
    std::env::var_os("FORECAST_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
}

/// A file of ../shared/data, read in place. Missing shared data is a failure, not a skip.
fn shared_data(name: &str) -> PathBuf {
    let path = shared_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: the shared-data suite reads ../shared/data (or FORECAST_SHARED_DATA); \
         the default suite (plain `cargo test --release`) needs only tests/",
        path.display()
    );
    path
}

/// What inspect must report for one file.
struct Expected {
    file: &'static str,
    args: &'static [&'static str],
    /// Data rows in the file (the README's Rows column), and rows in the series.
    rows_read: u64,
    rows: u64,
    first_date: &'static str,
    last_date: &'static str,
    first_close: f64,
    last_close: f64,
    price_column: &'static str,
    dropped: &'static [(&'static str, u64)],
    /// Substrings that some warning must contain.
    warnings: &'static [&'static str],
}

const FILES: &[Expected] = &[
    Expected {
        file: "AAPL_kaggle-huge_aapl.us.txt",
        args: &[],
        rows_read: 8146,
        rows: 8146,
        first_date: "1984-09-07",
        last_date: "2016-12-30",
        first_close: 0.42388,
        last_close: 113.99,
        price_column: "close",
        dropped: &[],
        warnings: &[],
    },
    Expected {
        file: "MSFT_alphavantage_daily.csv",
        args: &[],
        rows_read: 4662,
        rows: 4662,
        first_date: "2000-01-03",
        last_date: "2018-07-13",
        first_close: 116.56,
        last_close: 105.43,
        price_column: "close",
        dropped: &[],
        warnings: &["from 48.3 on 2003-02-14 to 24.96 on 2003-02-18", "unadjusted 2:1 split"],
    },
    Expected {
        file: "NVDA_stooq_en.csv",
        args: &[],
        rows_read: 6300,
        rows: 6300,
        first_date: "2000-01-24",
        last_date: "2025-02-07",
        first_close: 0.0816574,
        last_close: 129.84,
        price_column: "close",
        dropped: &[],
        warnings: &[],
    },
    Expected {
        file: "TSLA_stooq_pl.csv",
        args: &[],
        rows_read: 3202,
        rows: 3202,
        first_date: "2010-06-28",
        last_date: "2023-03-17",
        first_close: 1.13333,
        last_close: 180.13,
        price_column: "close",
        dropped: &[],
        warnings: &["1 row had no volume"],
    },
    Expected {
        file: "XOM_kaggle-sp500-5yr.csv",
        args: &[],
        rows_read: 1259,
        rows: 1259,
        first_date: "2013-02-08",
        last_date: "2018-02-07",
        first_close: 88.61,
        last_close: 76.94,
        price_column: "close",
        dropped: &[],
        warnings: &[],
    },
    Expected {
        // 2015-07-17 has no open (filled); 2016-01-12 has no open, high or low (dropped).
        file: "DHR_kaggle-sp500-5yr_missing.csv",
        args: &[],
        rows_read: 1243,
        rows: 1242,
        first_date: "2013-02-08",
        last_date: "2018-02-07",
        first_close: 60.81,
        last_close: 95.25,
        price_column: "close",
        dropped: &[("missing price", 1)],
        warnings: &["1 row had an open of 0 or none (2015-07-17)"],
    },
    Expected {
        file: "MULTI_big_tech_stock_prices.csv",
        args: &["--ticker", "AAPL"],
        rows_read: 3271,
        rows: 3271,
        first_date: "2010-01-04",
        last_date: "2022-12-29",
        first_close: 6.515213,
        last_close: 129.610001,
        price_column: "adj_close",
        dropped: &[],
        warnings: &[],
    },
    Expected {
        file: "MULTI_big_tech_stock_prices.csv",
        args: &["--ticker", "META"],
        rows_read: 2688,
        rows: 2688,
        first_date: "2012-05-18",
        last_date: "2023-01-24",
        first_close: 38.23,
        last_close: 143.139999,
        price_column: "adj_close",
        dropped: &[],
        warnings: &[],
    },
    Expected {
        // Three null holiday rows; Open = 0 in 959 rows; the adjusted close is modelled.
        file: "JPM_yahoo_asset-col_mdy.csv",
        args: &[],
        rows_read: 10082,
        rows: 10079,
        first_date: "1980-03-17",
        last_date: "2020-03-05",
        first_close: 0.293599,
        last_close: 113.970001,
        price_column: "adj_close",
        dropped: &[("missing price", 3)],
        warnings: &["959 rows had an open of 0 or none (1980-03-17 to 1983-12-29)"],
    },
    Expected {
        file: "SAN.MC_yahoo_dmy.csv",
        args: &[],
        rows_read: 1278,
        rows: 1278,
        first_date: "2016-01-04",
        last_date: "2020-12-30",
        first_close: 3.293655,
        last_close: 2.575,
        price_column: "adj_close",
        dropped: &[],
        warnings: &[],
    },
    Expected {
        file: "SBER_finam_semicolon.csv",
        args: &[],
        rows_read: 5980,
        rows: 5980,
        first_date: "2000-01-05",
        last_date: "2023-12-29",
        first_close: 1218.01,
        last_close: 270.82,
        price_column: "close",
        dropped: &[],
        warnings: &["from 107000 on 2007-07-17 to 109.2 on 2007-07-20", "unadjusted 1000:1 split"],
    },
    Expected {
        file: "GOOG_googlefinance_dmonyy.csv",
        args: &[],
        rows_read: 3145,
        rows: 3145,
        first_date: "2005-01-03",
        last_date: "2017-06-30",
        first_close: 101.46,
        last_close: 929.68,
        price_column: "close",
        dropped: &[],
        warnings: &[],
    },
    Expected {
        file: "SPY_stooq-bulk.us.txt",
        args: &[],
        rows_read: 5013,
        rows: 5013,
        first_date: "2005-02-25",
        last_date: "2025-01-29",
        first_close: 97.0723,
        last_close: 601.81,
        price_column: "close",
        dropped: &[],
        warnings: &[],
    },
    Expected {
        file: "SPX_investing.csv",
        args: &[],
        rows_read: 1763,
        rows: 1763,
        first_date: "2004-01-02",
        last_date: "2010-12-31",
        first_close: 1108.5,
        last_close: 1257.64,
        price_column: "close",
        dropped: &[],
        warnings: &["column \"Vol.\" has no volume values"],
    },
    Expected {
        file: "LTC-USD_yahoo_nulls.csv",
        args: &[],
        rows_read: 2628,
        rows: 2624,
        first_date: "2014-09-17",
        last_date: "2021-11-26",
        first_close: 5.05855,
        last_close: 216.675461,
        price_column: "adj_close",
        dropped: &[("missing price", 4)],
        warnings: &[],
    },
    Expected {
        // 2017-12-18 twice (one kept); the first row, 2021-06-11, is an in-progress day (dropped).
        file: "BTCUSDT_cryptodatadownload_d.csv",
        args: &[],
        rows_read: 1396,
        rows: 1394,
        first_date: "2017-08-17",
        last_date: "2021-06-10",
        first_close: 4285.08,
        last_close: 36675.72,
        price_column: "close",
        dropped: &[("duplicate date", 1), ("in-progress last row", 1)],
        warnings: &["mix two formats", "2017-12-18 (kept line", "dropped the last row (2021-06-11, line 2)"],
    },
    Expected {
        file: "BTCUSDT_binance_kline_raw.csv",
        args: &[],
        rows_read: 500,
        rows: 500,
        first_date: "2022-02-01",
        last_date: "2023-06-15",
        first_close: 38694.59,
        last_close: 25077.63,
        price_column: "close",
        dropped: &[],
        warnings: &[],
    },
    Expected {
        // The partial 2026-01-06 row cannot be told from a quiet day by its volume alone (46% of
        // the median, about as low as 2025-12-20 and -27): it is kept with a warning...
        file: "ETHUSDT_binance_timestamp.csv",
        args: &[],
        rows_read: 3065,
        rows: 3065,
        first_date: "2017-08-17",
        last_date: "2026-01-06",
        first_close: 302.0,
        last_close: 3242.13,
        price_column: "close",
        dropped: &[],
        warnings: &["the last row (2026-01-06, line 3066) may be a day still in progress", "--last-row drop"],
    },
    Expected {
        // ...and --last-row drop drops it.
        file: "ETHUSDT_binance_timestamp.csv",
        args: &["--last-row", "drop"],
        rows_read: 3065,
        rows: 3064,
        first_date: "2017-08-17",
        last_date: "2026-01-05",
        first_close: 302.0,
        last_close: 3224.99,
        price_column: "close",
        dropped: &[("in-progress last row", 1)],
        warnings: &["dropped the last row (2026-01-06, line 3066), as --last-row drop asks."],
    },
];

#[test]
fn shared_data_files_are_read_right() {
    let tmp = tempfile::tempdir().unwrap();
    for expected in FILES {
        let csv = shared_data(expected.file);
        let mut args = vec!["inspect", "--csv", s(&csv), "--format", "json"];
        args.extend_from_slice(expected.args);
        let run = forecast(tmp.path(), &args).ok();
        let out = run.json();
        let context = format!("{} {:?}:\n{run}", expected.file, expected.args);
        assert_eq!(out["rows_read"], expected.rows_read, "{context}");
        assert_eq!(out["rows"], expected.rows, "{context}");
        assert_eq!(out["first_date"], expected.first_date, "{context}");
        assert_eq!(out["last_date"], expected.last_date, "{context}");
        assert_eq!(out["first_close"].as_f64(), Some(expected.first_close), "{context}");
        assert_eq!(out["last_close"].as_f64(), Some(expected.last_close), "{context}");
        assert_eq!(out["price_column"], expected.price_column, "{context}");
        let dropped = out["dropped"].as_object().unwrap();
        assert_eq!(dropped.len(), expected.dropped.len(), "{context}");
        for (reason, count) in expected.dropped {
            assert_eq!(dropped[*reason], *count, "{context}");
        }
        let warnings: Vec<&str> =
            out["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
        for needle in expected.warnings {
            assert!(warnings.iter().any(|w| w.contains(needle)), "no warning contains {needle:?}: {context}");
        }
        if expected.warnings.is_empty() {
            assert!(warnings.is_empty(), "unexpected warnings: {context}");
        }
    }
    let listed: Vec<&str> = FILES.iter().map(|e| e.file).collect();
    let in_folder = std::fs::read_dir(shared_data("README.md").parent().unwrap()).unwrap();
    for entry in in_folder {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name != "README.md" && name != "MULTI_all_stocks_5yr_sample.csv" {
            assert!(listed.contains(&name.as_str()), "{name} in ../shared/data has no expectation here");
        }
    }
}

#[test]
fn shared_data_gaps_are_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let dhr = shared_data("DHR_kaggle-sp500-5yr_missing.csv");
    let out = forecast(tmp.path(), &["inspect", "--csv", s(&dhr), "--format", "json"]).ok().json();
    assert_eq!(out["gaps"], serde_json::json!([{ "from": "2015-03-06", "to": "2015-03-23", "days": 17 }]));
    let sber = shared_data("SBER_finam_semicolon.csv");
    let out = forecast(tmp.path(), &["inspect", "--csv", s(&sber), "--format", "json"]).ok().json();
    let gaps: Vec<(String, String)> = out["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["from"].as_str().unwrap().to_string(), g["to"].as_str().unwrap().to_string()))
        .collect();
    for (from, to) in [("2006-07-20", "2006-08-04"), ("2022-02-25", "2022-03-24")] {
        assert!(gaps.contains(&(from.to_string(), to.to_string())), "{from} → {to} missing from {gaps:?}");
    }
}

#[test]
fn multi_ticker_files_are_refused_naming_the_tickers_and_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let big_tech = shared_data("MULTI_big_tech_stock_prices.csv");
    forecast(tmp.path(), &["inspect", "--csv", s(&big_tech)]).fails_with(
        3,
        &[
            "MULTI_big_tech_stock_prices.csv:1:1 (column \"stock symbol\")",
            "14 tickers",
            "CSCO, ADBE, ORCL, AMZN, INTC, MSFT, NVDA, IBM, NFLX, TSLA, GOOGL, META, AAPL, CRM",
            "--ticker",
        ],
    );
    let sample = shared_data("MULTI_all_stocks_5yr_sample.csv");
    forecast(tmp.path(), &["inspect", "--csv", s(&sample)]).fails_with(
        3,
        &["455 tickers in column \"Name\"", "and 435 more", "with 1 to 40 rows each (median 22)", "--ticker"],
    );
    // One ticker of the sample reads right but is far too short to train on.
    let out = forecast(tmp.path(), &["inspect", "--csv", s(&sample), "--ticker", "LMT", "--format", "json"])
        .ok()
        .json();
    assert_eq!(out["ticker"], "NYSE:LMT");
    assert_eq!(out["rows"], 21);
    assert!(out["warnings"].to_string().contains("too few to train"), "{out}");
    let mut args = vec!["train", "--csv", s(&sample), "--ticker", "LMT", "--out", "m.safetensors"];
    args.extend_from_slice(FAST);
    forecast(tmp.path(), &args).fails_with(3, &["too few rows to train: 21 usable rows"]);
}

/// tests/data holds cuts of ../shared/data files, as tests/data/README.md says: the header line,
/// then a run of whole rows from the start (newest-first files) or the end of the original, bytes
/// unchanged (line endings and a missing final newline included), or the whole file; for the
/// long-format big_tech_long.csv, such a run from the end of each of four tickers' blocks.
#[test]
fn test_data_files_are_cuts_of_the_shared_originals() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name == "README.md" {
            continue;
        }
        let cut = std::fs::read(dir.join(&name)).unwrap();
        if name == "big_tech_long.csv" {
            // The long-format cut: the header, then the last 700 rows of each of four tickers' blocks
            // of MULTI_big_tech_stock_prices.csv, in the original's order.
            let original = std::fs::read_to_string(shared_data("MULTI_big_tech_stock_prices.csv")).unwrap();
            let mut lines = original.split_inclusive('\n');
            let mut expected = lines.next().expect("a header line").to_string();
            let mut blocks: Vec<(&str, Vec<&str>)> = Vec::new();
            for line in lines {
                let ticker = line.split(',').next().unwrap();
                match blocks.last_mut() {
                    Some((t, rows)) if *t == ticker => rows.push(line),
                    _ => blocks.push((ticker, vec![line])),
                }
            }
            for (_, rows) in blocks.iter().filter(|(t, _)| ["AAPL", "MSFT", "NVDA", "IBM"].contains(t)) {
                expected.extend(rows[rows.len() - 700..].iter().copied());
            }
            assert!(cut == expected.as_bytes(), "{name} is not the cut of MULTI_big_tech_stock_prices.csv");
            checked += 1;
            continue;
        }
        let original = std::fs::read(shared_data(&name)).unwrap();
        let header = cut.iter().position(|&b| b == b'\n').expect("a header line") + 1;
        assert_eq!(cut[..header], original[..header], "{name}: header differs");
        let rows = &cut[header..];
        assert!(!rows.is_empty(), "{name}: no rows");
        let from_start = original[header..].starts_with(rows) && rows.ends_with(b"\n");
        let from_end = original.ends_with(rows) && original[..original.len() - rows.len()].ends_with(b"\n");
        assert!(from_start || from_end, "{name} is not a cut of ../shared/data/{name}");
        checked += 1;
    }
    assert_eq!(checked, 6, "tests/data should hold 6 price files");
}

#[test]
fn whole_long_files_train_a_global_model_or_say_that_no_ticker_is_long_enough() {
    let tmp = tempfile::tempdir().unwrap();
    // All 14 tickers of the big-tech file: one model, one forecast per ticker.
    let big = shared_data("MULTI_big_tech_stock_prices.csv");
    let train = ["train", "--csv", s(&big), "--tickers", "all", "--format", "json", "--epochs", "1"];
    let train =
        [&train[..], &["--hidden", "8", "--layers", "1", "--seq-len", "10", "--threads", "1"]].concat();
    let run = forecast(tmp.path(), &train).ok();
    let out = run.json();
    assert_eq!(out["series_trained"], 14, "{run}");
    let predict = forecast(tmp.path(), &["predict", "--format", "json"]).ok().json();
    assert_eq!(predict["series"].as_array().unwrap().len(), 14);
    // The 455 tickers of the all_stocks sample have 1 to 40 rows each, scattered over 2016: with
    // --seq-len 10 the few longest train and the rest are left out, each with why; with the
    // default 30 none can, and the run says so with the data error's exit code.
    let sample = shared_data("MULTI_all_stocks_5yr_sample.csv");
    let few =
        ["train", "--csv", s(&sample), "--tickers", "all", "--format", "json", "--out", "few.safetensors"];
    let few = [&few[..], &["--hidden", "8", "--layers", "1", "--epochs", "1", "--seq-len", "10"]].concat();
    let run = forecast(tmp.path(), &few).ok();
    let out = run.json();
    let trained = out["series_trained"].as_u64().unwrap();
    let skipped = out["skipped"].as_array().unwrap();
    assert!((1..=20).contains(&trained) && trained as usize + skipped.len() == 455, "{run}");
    let reasons = skipped.iter().map(|x| x["reason"].as_str().unwrap());
    assert!(reasons.clone().all(|r| r.contains("cut-off") || r.contains("too few for one window")), "{run}");
    assert!(reasons.clone().any(|r| r.contains("no validation day")), "{run}");
    let none =
        ["train", "--csv", s(&sample), "--tickers", "all", "--out", "none.safetensors", "--epochs", "1"];
    forecast(tmp.path(), &none).fails_with(3, &["no series has enough rows to train"]);
    assert!(!tmp.path().join("none.safetensors").exists());
}
