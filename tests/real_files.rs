//! Train then predict on real exports in tests/data (trimmed copies of ../shared/data files, see
//! tests/data/README.md), checking what predict reports against the files (last date and last
//! close) and that the forecast is a sane next-day close; and what inspect reads from each file.

mod common;
use common::{forecast, s, test_data, FAST};

/// Each file in tests/data: (name, rows read, rows kept, first date, last date, first close, last
/// close), counted from the files themselves and listed in tests/data/README.md.
const TEST_DATA: &[(&str, u64, u64, &str, &str, f64, f64)] = &[
    ("AAPL_kaggle-huge_aapl.us.txt", 1700, 1700, "2010-04-05", "2016-12-30", 30.543, 113.99),
    ("MSFT_alphavantage_daily.csv", 1500, 1500, "2012-07-27", "2018-07-13", 29.755, 105.43),
    ("NVDA_stooq_en.csv", 1500, 1500, "2019-02-22", "2025-02-07", 3.94873, 129.84),
    ("XOM_kaggle-sp500-5yr.csv", 1259, 1259, "2013-02-08", "2018-02-07", 88.61, 76.94),
    // Four `null` rows (2020-04-17, 2020-10-09, -12, -13) are dropped.
    ("LTC-USD_yahoo_nulls.csv", 2628, 2624, "2014-09-17", "2021-11-26", 5.05855, 216.675461),
];

/// The long-format file in tests/data (several tickers, one `stock symbol` column): each ticker's
/// (first close, last close) of its 700 rows, 2020-03-23 → 2022-12-29; the adjusted close is modelled.
const LONG: &str = "big_tech_long.csv";
const LONG_TICKERS: &[(&str, f64, f64)] = &[
    ("MSFT", 132.558441, 241.009995),
    ("NVDA", 53.020721, 146.029999),
    ("IBM", 78.906219, 141.059998),
    ("AAPL", 55.082973, 129.610001),
];

#[test]
fn test_data_files_are_read_right_and_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = test_data("README.md").parent().unwrap().to_path_buf();
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    for &(name, rows_read, rows, first_date, last_date, first_close, last_close) in TEST_DATA {
        let csv = test_data(name);
        let run = forecast(tmp.path(), &["inspect", "--csv", s(&csv), "--format", "json"]).ok();
        let out = run.json();
        assert_eq!(out["rows_read"], rows_read, "{run}");
        assert_eq!(out["rows"], rows, "{run}");
        assert_eq!(out["first_date"], first_date, "{run}");
        assert_eq!(out["last_date"], last_date, "{run}");
        assert_eq!(out["first_close"].as_f64(), Some(first_close), "{run}");
        assert_eq!(out["last_close"].as_f64(), Some(last_close), "{run}");
        assert!(readme.contains(&format!("`{name}`")), "tests/data/README.md does not describe {name}");
    }
    // Every file in the folder is checked here (and so described in the README).
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            name == "README.md" || name == LONG || TEST_DATA.iter().any(|e| e.0 == name),
            "tests/data/{name} has no expectation here"
        );
    }
    // The format quirks the trimming kept: CRLF and no newline after the last row (AAPL).
    let aapl = std::fs::read(test_data("AAPL_kaggle-huge_aapl.us.txt")).unwrap();
    assert!(aapl.ends_with(b"113.6,113.99,31078121,0") && aapl.windows(2).any(|w| w == b"\r\n"));
}

#[test]
fn long_format_file_is_refused_without_ticker_and_read_right_with_one() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = test_data(LONG);
    let readme = std::fs::read_to_string(test_data("README.md")).unwrap();
    assert!(readme.contains(&format!("`{LONG}`")), "tests/data/README.md does not describe {LONG}");
    forecast(tmp.path(), &["inspect", "--csv", s(&csv)])
        .fails_with(3, &["4 tickers in column \"stock symbol\" (MSFT, NVDA, IBM, AAPL)", "--ticker"]);
    for &(ticker, first_close, last_close) in LONG_TICKERS {
        let args = ["inspect", "--csv", s(&csv), "--ticker", ticker, "--format", "json"];
        let run = forecast(tmp.path(), &args).ok();
        let out = run.json();
        assert_eq!(out["rows_read"], 700, "{run}");
        assert_eq!(out["rows"], 700, "{run}");
        assert_eq!(out["first_date"], "2020-03-23", "{run}");
        assert_eq!(out["last_date"], "2022-12-29", "{run}");
        assert_eq!(out["first_close"].as_f64(), Some(first_close), "{run}");
        assert_eq!(out["last_close"].as_f64(), Some(last_close), "{run}");
    }
}

/// Trains on `name`, predicts from the recorded CSV and checks as_of, last close and forecast.
fn train_then_predict(name: &str, last_date: &str, last_close: f64, next_weekday: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let csv = test_data(name);
    let mut args = vec!["train", "--csv", s(&csv), "--out", "m.safetensors", "--format", "json"];
    args.extend_from_slice(FAST);
    let train = forecast(tmp.path(), &args).ok().json();
    assert_eq!(train["last_date"], last_date);
    assert!(train["validation"]["naive"]["rmse"].as_f64().unwrap() > 0.0);
    assert!(tmp.path().join("m.safetensors").is_file());

    let run = forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--format", "json"]).ok();
    let out = run.json();
    assert_eq!(out["as_of"], last_date, "{run}");
    assert!((out["last_close"].as_f64().unwrap() - last_close).abs() < 1e-9, "{run}");
    let step = &out["forecasts"][0];
    assert_eq!(step["step"], 1);
    assert_eq!(step["date"], next_weekday);
    let close = step["close"].as_f64().unwrap();
    assert!(close > last_close * 0.8 && close < last_close * 1.2, "implausible forecast {close}: {run}");
    // The forecast printed by train is the one predict gives from the same data.
    assert_eq!(train["forecast"]["forecasts"][0]["close"], step["close"]);
}

#[test]
fn aapl_kaggle_crlf_without_final_newline() {
    train_then_predict("AAPL_kaggle-huge_aapl.us.txt", "2016-12-30", 113.99, "2017-01-02");
}

#[test]
fn xom_kaggle_lowercase_with_name_column() {
    train_then_predict("XOM_kaggle-sp500-5yr.csv", "2018-02-07", 76.94, "2018-02-08");
}

#[test]
fn msft_alphavantage_newest_first() {
    train_then_predict("MSFT_alphavantage_daily.csv", "2018-07-13", 105.43, "2018-07-16");
}

#[test]
fn nvda_stooq_fractional_volume() {
    train_then_predict("NVDA_stooq_en.csv", "2025-02-07", 129.84, "2025-02-10");
}

#[test]
fn ltc_yahoo_null_rows_are_dropped_and_counted() {
    // Litecoin trades every day: the crypto calendar is detected and Saturday is the next day.
    train_then_predict("LTC-USD_yahoo_nulls.csv", "2021-11-26", 216.675461, "2021-11-27");
    let tmp = tempfile::tempdir().unwrap();
    let csv = test_data("LTC-USD_yahoo_nulls.csv");
    let mut args = vec!["train", "--csv", s(&csv), "--out", "m.safetensors"];
    args.extend_from_slice(FAST);
    let run = forecast(tmp.path(), &args).ok();
    assert!(run.stderr.contains("dropped 4 row(s): missing price"), "{run}");
}

/// Horizons 5 and 20 end to end on a real file: train, predict (JSON and CSV) and backtest.
#[test]
fn multi_day_horizons_train_predict_and_backtest() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = test_data("XOM_kaggle-sp500-5yr.csv");
    for horizon in ["5", "20"] {
        let h: usize = horizon.parse().unwrap();
        let mut args = vec!["train", "--csv", s(&csv), "--out", "m.safetensors", "--format", "json"];
        args.extend(["--horizon", horizon, "--level", "0.8,0.95", "--calendar", "nyse"]);
        args.extend_from_slice(FAST);
        let train = forecast(tmp.path(), &args).ok().json();
        assert_eq!(train["forecast"]["forecasts"].as_array().unwrap().len(), h);

        let out =
            forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--format", "json"]).ok().json();
        let steps = out["forecasts"].as_array().unwrap();
        assert_eq!(steps.len(), h);
        assert_eq!(out["calendar"], "nyse", "predict uses the calendar training chose");
        let mut previous = out["as_of"].as_str().unwrap().to_string();
        for (k, step) in steps.iter().enumerate() {
            assert_eq!(step["step"], k + 1);
            let date = step["date"].as_str().unwrap().to_string();
            assert!(date > previous, "dates increase: {out}");
            let day = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").unwrap();
            assert!(
                forecast::calendar::Calendar::Nyse.is_trading_day(day),
                "{date} is not an NYSE trading day"
            );
            previous = date;
            let (lo, close, hi) = (
                step["lower"].as_f64().unwrap(),
                step["close"].as_f64().unwrap(),
                step["upper"].as_f64().unwrap(),
            );
            assert!(lo < close && close < hi, "{step}");
            assert_eq!(step["intervals"].as_array().unwrap().len(), 2);
        }
        // Presidents' Day 2018 (Monday the 19th) is skipped on the NYSE calendar.
        if h == 20 {
            assert!(steps.iter().all(|s| s["date"] != "2018-02-19"), "{out}");
        }
        let table = forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--format", "csv"]).ok();
        let lines: Vec<&str> = table.stdout.lines().collect();
        assert_eq!(lines[0], "date,step,close,lower,upper,level,sigma");
        assert_eq!(lines.len(), 1 + 2 * h);

        let mut args =
            vec!["backtest", "--csv", s(&csv), "--folds", "2", "--test-size", "30", "--format", "json"];
        args.extend(["--horizon", horizon, "--level", "0.9"]);
        args.extend_from_slice(FAST);
        let bt = forecast(tmp.path(), &args).ok().json();
        assert_eq!(bt["steps"].as_array().unwrap().len(), h);
        let coverage = bt["coverage"].as_array().unwrap();
        assert_eq!(coverage.len(), h);
        for c in coverage {
            let rate = c["coverage"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&rate) && c["mean_width"].as_f64().unwrap() > 0.0, "{c}");
            assert_eq!(c["days"], 60);
        }
    }
}
