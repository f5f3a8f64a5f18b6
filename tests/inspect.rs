//! `forecast inspect` and the load flags end to end on small fixtures: the JSON keys, the table,
//! refusals with exit code 3, and the same flags on train and predict.

mod common;
use common::{forecast, FAST};
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// `n` weekdays of a gently rising series for `ticker`, long format, from 2020-01-01.
fn ticker_rows(ticker: &str, n: usize, base: f64) -> String {
    let mut text = String::new();
    let mut date = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    for i in 0..n {
        while chrono::Datelike::weekday(&date).number_from_monday() > 5 {
            date = date.succ_opt().unwrap();
        }
        let close = base + i as f64 * 0.1 + (i % 7) as f64 * 0.05;
        text.push_str(&format!(
            "{ticker},{date},{:.2},{:.2},{:.2},{close:.2},{}\n",
            close - 0.1,
            close + 0.3,
            close - 0.4,
            1000 + (i % 13) * 10
        ));
        date = date.succ_opt().unwrap();
    }
    text
}

#[test]
fn inspect_json_has_the_documented_keys_and_values() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = write(
        tmp.path(),
        "p.csv",
        "\u{FEFF}Date,Price,Open,High,Low,Vol.,Change %\r\n1/2/2004,1108.5,\"1,111.90\",\"1,118.80\",\"1,105.10\",-,-0.31%\r\n\
         1/5/2004,1122.2,\"1,108.50\",\"1,122.20\",\"1,108.50\",-,1.24%\r\n1/5/2004,1122.2,\"1,108.50\",\"1,122.20\",\"1,108.50\",-,1.24%\r\n\
         1/26/2004,1155.37,1145,1160,1140,-,1%\r\n",
    );
    let out = forecast(tmp.path(), &["inspect", "--csv", &csv, "--format", "json"]).ok().json();
    assert_eq!(out["rows"], 3);
    assert_eq!(out["rows_read"], 4);
    assert_eq!(out["first_date"], "2004-01-02");
    assert_eq!(out["last_date"], "2004-01-26");
    assert_eq!(out["first_close"], 1108.5);
    assert_eq!(out["last_close"], 1155.37);
    assert_eq!(out["columns"]["close"], "Price");
    assert_eq!(out["columns"]["date"], "Date");
    assert_eq!(out["delimiter"], ",");
    assert_eq!(out["date_format"], "%m/%d/%Y");
    assert_eq!(out["price_column"], "close");
    assert_eq!(out["dropped"]["duplicate date"], 1);
    assert_eq!(out["duplicates"][0], "2004-01-05");
    assert_eq!(out["gaps"][0]["from"], "2004-01-05");
    assert_eq!(out["gaps"][0]["to"], "2004-01-26");
    assert_eq!(out["gaps"][0]["days"], 21);
    let warnings = out["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("no volume values")), "{out}");
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("too few to train")), "{out}");
}

#[test]
fn inspect_table_names_every_part() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = write(
        tmp.path(),
        "sber.csv",
        "<DATE>;<TIME>;<OPEN>;<HIGH>;<LOW>;<CLOSE>;<VOL>\r\n05/01/00;00:00;1150;1264.88;1080;1218.01;29819\r\n\
         17/01/00;00:00;1230;1280;1230;1267;14907\r\n",
    );
    let run = forecast(tmp.path(), &["inspect", "--csv", &csv]).ok();
    for line in [
        "delimiter   ;",
        "columns     close=<CLOSE>  date=<DATE>  high=<HIGH>  low=<LOW>  open=<OPEN>  volume=<VOL>",
        "dates       %d/%m/%y",
        "price       close",
        "rows        2 used of 2 read",
        "range       2000-01-05 → 2000-01-17",
        "close       1218.01 → 1267",
        "gap         2000-01-05 → 2000-01-17 (12 days)",
    ] {
        assert!(run.stdout.contains(line), "stdout lacks {line:?}:\n{run}");
    }
    assert_eq!(run.stderr, "", "{run}");
}

#[test]
fn inspect_refusals_exit_3_with_file_line_column_and_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let ambiguous =
        write(tmp.path(), "dmy.csv", "Date,Open,High,Low,Close\n04/01/2016,1,2,1,2\n05/01/2016,1,2,1,2\n");
    forecast(tmp.path(), &["inspect", "--csv", &ambiguous]).fails_with(
        3,
        &["dmy.csv:2:1 (column \"Date\")", "ambiguous", "--date-format %m/%d/%Y", "--date-format %d/%m/%Y"],
    );
    let out = forecast(
        tmp.path(),
        &["inspect", "--csv", &ambiguous, "--date-format", "%d/%m/%Y", "--format", "json"],
    )
    .ok()
    .json();
    assert_eq!(out["first_date"], "2016-01-04");

    let multi = write(
        tmp.path(),
        "multi.csv",
        &format!(
            "Name,Date,Open,High,Low,Close,Volume\n{}{}",
            ticker_rows("AAA", 3, 10.0),
            ticker_rows("BBB", 3, 20.0)
        ),
    );
    forecast(tmp.path(), &["inspect", "--csv", &multi])
        .fails_with(3, &["multi.csv:1:1 (column \"Name\")", "2 tickers", "AAA, BBB", "--ticker"]);
    let out = forecast(tmp.path(), &["inspect", "--csv", &multi, "--ticker", "bbb", "--format", "json"])
        .ok()
        .json();
    assert_eq!(out["ticker"], "BBB");
    assert_eq!(out["rows"], 3);

    let bad =
        write(tmp.path(), "bad.csv", "Date,Open,High,Low,Close\n2024-01-02,1,2,1,2\n2024-01-03,1,2,1,n.a.\n");
    forecast(tmp.path(), &["inspect", "--csv", &bad])
        .fails_with(3, &["bad.csv:3:5 (column \"Close\")", "n.a."]);
    forecast(tmp.path(), &["inspect", "--csv", "missing.csv"]).fails_with(3, &["missing.csv", "cannot read"]);
}

#[test]
fn bad_load_flag_values_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    forecast(tmp.path(), &["inspect", "--csv", "x.csv", "--date-format", "%Q"])
        .fails_with(2, &["--date-format"]);
    forecast(tmp.path(), &["inspect", "--csv", "x.csv", "--delimiter", "ab"]).fails_with(2, &["--delimiter"]);
    forecast(tmp.path(), &["train", "--csv", "x.csv", "--last-row", "sometimes"])
        .fails_with(2, &["--last-row"]);
}

#[test]
fn train_and_predict_take_the_same_load_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let multi = write(
        tmp.path(),
        "multi.csv",
        &format!(
            "Name,Date,Open,High,Low,Close,Volume\n{}{}",
            ticker_rows("AAA", 120, 10.0),
            ticker_rows("BBB", 120, 50.0)
        ),
    );
    let mut args = vec!["train", "--csv", &multi, "--out", "m.safetensors", "--format", "json"];
    args.extend_from_slice(FAST);
    forecast(tmp.path(), &args).fails_with(3, &["2 tickers", "--ticker"]);
    args.extend(["--ticker", "BBB"]);
    let train = forecast(tmp.path(), &args).ok().json();
    assert_eq!(train["rows"], 120);
    // The model file records the load flags: predict reads BBB again without being told.
    let out = forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--format", "json"]).ok().json();
    assert_eq!(out["as_of"], train["last_date"]);
    let last = out["last_close"].as_f64().unwrap();
    assert!(last > 50.0, "the BBB series, not AAA: {out}");
    // A flag given to predict wins over the stored one.
    let aaa =
        forecast(tmp.path(), &["predict", "--model", "m.safetensors", "--ticker", "AAA", "--format", "json"])
            .ok()
            .json();
    assert!(aaa["last_close"].as_f64().unwrap() < 50.0, "the AAA series: {aaa}");
}
