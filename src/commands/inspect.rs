//! `forecast inspect`: what the loader makes of a CSV, with nothing trained. Prints the delimiter,
//! the header mapping, the date format, the modelled close, rows used and dropped (by reason), the
//! first and last date and close of the series that train would model, gaps longer than a week,
//! repeated dates and every warning.

use crate::cli::{Format, InspectArgs};
use crate::data::dataset::min_rows_to_train;
use crate::data::{load_csv, Gap, LoadReport, Series};
use crate::output::{csv, print_json_as, print_text};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// `train`'s defaults for --seq-len and --val-fraction.
pub const TRAIN_DEFAULT_SEQ_LEN: usize = crate::cli::DEFAULT_SEQ_LEN;
pub const TRAIN_DEFAULT_VAL_FRACTION: f64 = crate::cli::DEFAULT_VAL_FRACTION;

/// Gaps listed in the table (JSON lists them all).
const GAPS_SHOWN: usize = 10;

/// What `inspect --format json` prints.
#[derive(Debug, Serialize)]
struct InspectReport {
    csv: String,
    delimiter: String,
    /// Field → header it was read from.
    columns: BTreeMap<String, String>,
    date_format: String,
    /// `close` or `adj_close`.
    price_column: String,
    ticker: Option<String>,
    rows_read: usize,
    /// Rows in the series that would be modelled.
    rows: usize,
    dropped: BTreeMap<String, usize>,
    first_date: String,
    last_date: String,
    first_close: f64,
    last_close: f64,
    gaps: Vec<GapReport>,
    duplicates: Vec<String>,
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
struct GapReport {
    from: String,
    to: String,
    days: i64,
}

pub fn run(args: &InspectArgs) -> crate::error::Result<()> {
    let (series, report) = load_csv(&args.csv, &args.load)?;
    let inspected = summarize(&series, report);
    match args.output.format {
        Format::Json | Format::Jsonl => print_json_as(&inspected, args.output.format == Format::Jsonl),
        Format::Table => print_text(&render_table(&inspected)),
        Format::Csv => print_text(&series_csv(&series)?),
    }
}

/// The cleaned series as the model would see it: date,open,high,low,close[,volume].
fn series_csv(series: &Series) -> crate::error::Result<String> {
    let mut header = vec!["date", "open", "high", "low", "close"];
    if series.volume.is_some() {
        header.push("volume");
    }
    let rows = (0..series.len()).map(|i| {
        let mut row = vec![
            series.dates[i].to_string(),
            series.open[i].to_string(),
            series.high[i].to_string(),
            series.low[i].to_string(),
            series.close[i].to_string(),
        ];
        if let Some(v) = &series.volume {
            row.push(v[i].to_string());
        }
        row
    });
    csv::table(&header, rows)
}

fn summarize(series: &Series, report: LoadReport) -> InspectReport {
    let date = |d: Option<&chrono::NaiveDate>| d.map(ToString::to_string).unwrap_or_default();
    let mut warnings = report.warnings;
    let needed = min_rows_to_train(TRAIN_DEFAULT_SEQ_LEN, TRAIN_DEFAULT_VAL_FRACTION);
    if series.len() < needed {
        warnings.push(format!(
            "{} rows are too few to train with the default --seq-len {TRAIN_DEFAULT_SEQ_LEN} (it needs at least \
             {needed}).",
            series.len()
        ));
    }
    InspectReport {
        csv: report.path.display().to_string(),
        delimiter: report.delimiter.to_string(),
        columns: report.columns,
        date_format: report.date_format,
        price_column: report.price_column,
        ticker: report.ticker,
        rows_read: report.rows_read,
        rows: series.len(),
        dropped: report.dropped,
        first_date: date(series.dates.first()),
        last_date: date(series.dates.last()),
        first_close: series.close.first().copied().unwrap_or(f64::NAN),
        last_close: series.close.last().copied().unwrap_or(f64::NAN),
        gaps: report.gaps.iter().map(gap_report).collect(),
        duplicates: report.duplicates.iter().map(ToString::to_string).collect(),
        warnings,
    }
}

fn gap_report(gap: &Gap) -> GapReport {
    GapReport { from: gap.from.to_string(), to: gap.to.to_string(), days: gap.days }
}

fn render_table(r: &InspectReport) -> String {
    let delimiter = if r.delimiter == "\t" { "tab".to_string() } else { r.delimiter.clone() };
    let columns: Vec<String> = r.columns.iter().map(|(field, header)| format!("{field}={header}")).collect();
    let mut s =
        format!("file        {}\ndelimiter   {delimiter}\ncolumns     {}\n", r.csv, columns.join("  "));
    let _ = writeln!(s, "dates       {}", r.date_format);
    let _ = writeln!(s, "price       {}", r.price_column);
    if let Some(ticker) = &r.ticker {
        let _ = writeln!(s, "ticker      {ticker}");
    }
    let _ = writeln!(s, "rows        {} used of {} read", r.rows, r.rows_read);
    for (reason, count) in &r.dropped {
        let _ = writeln!(s, "dropped     {count} {reason}");
    }
    let _ = writeln!(s, "range       {} → {}", r.first_date, r.last_date);
    let _ = writeln!(s, "close       {} → {}", r.first_close, r.last_close);
    for gap in r.gaps.iter().take(GAPS_SHOWN) {
        let _ = writeln!(s, "gap         {} → {} ({} days)", gap.from, gap.to, gap.days);
    }
    if r.gaps.len() > GAPS_SHOWN {
        let _ =
            writeln!(s, "gap         ... and {} more (--format json lists all)", r.gaps.len() - GAPS_SHOWN);
    }
    if !r.duplicates.is_empty() {
        let _ = writeln!(s, "duplicates  {}", r.duplicates.join(", "));
    }
    for warning in &r.warnings {
        let _ = writeln!(s, "warning     {warning}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn train_defaults_match_the_cli() {
        let cli = Cli::try_parse_from(["forecast", "train", "--csv", "x"]).unwrap();
        let Command::Train(args) = cli.command else { panic!("not train") };
        assert_eq!(args.model.seq_len, TRAIN_DEFAULT_SEQ_LEN);
        assert_eq!(args.model.val_fraction, TRAIN_DEFAULT_VAL_FRACTION);
    }
}
