//! What the user can tell the loader when detection gets a file wrong: column names, the modelled
//! price, the date format, the delimiter, the ticker, and what to do with a possibly in-progress
//! last row. Every field is optional; `None` means "detect it". Also [`TickerChoice`], the
//! instruments `load_csv_tickers` reads from a file that holds several.
//!
//! The options travel as JSON ([`LoadOptions::to_json`], [`LoadOptions::from_json`]) so that a model
//! file can record how its training CSV was read and `predict` can read the refreshed file the same
//! way, with flags given on the command line taking precedence ([`LoadOptions::or`]). The struct
//! is also the command line's load flags (`clap::Args`): one declaration for the three uses.

use chrono::format::{Item, StrftimeItems};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// User overrides for reading a file. The default detects everything.
///
/// The same struct is the load flags of every command that reads a CSV (`clap::Args`, flattened
/// into each), the options the loader takes, and the JSON a model file records: declared once.
/// None of the flags has a default: an absent flag leaves the field to detection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
#[command(next_help_heading = "Reading the CSV")]
pub struct LoadOptions {
    /// The date column: header name or 1-based column number.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_name = "NAME")]
    pub date_column: Option<String>,
    /// The open column: header name or number.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_name = "NAME")]
    pub open_column: Option<String>,
    /// The high column: header name or number.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_name = "NAME")]
    pub high_column: Option<String>,
    /// The low column: header name or number.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_name = "NAME")]
    pub low_column: Option<String>,
    /// The close column: header name or number.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_name = "NAME")]
    pub close_column: Option<String>,
    /// The volume column: header name or number, or `none` to read no volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_name = "NAME")]
    pub volume_column: Option<String>,
    /// The close to model: `close`, or `adjusted` (the default when the file has an Adj Close or
    /// adjusted_close column; open, high and low are then scaled by adjusted / close). Also a
    /// header name of either column.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_name = "close|adjusted")]
    pub price_column: Option<String>,
    /// The date format, in chrono strftime syntax (e.g. %d/%m/%Y), or `unix` / `unix-ms` for
    /// epoch seconds / milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_name = "FORMAT", value_parser = parse_date_format)]
    pub date_format: Option<String>,
    /// The field delimiter: `,` `;` `tab` `|` or another single ASCII character.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter, allow_hyphen_values = true)]
    pub delimiter: Option<char>,
    /// The instrument to read from a file with a ticker, symbol or Name column holding several
    /// (case-insensitive; SPY also matches SPY.US, LMT also NYSE:LMT).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_name = "SYMBOL")]
    pub ticker: Option<String>,
    /// A last row that looks like a day still in progress: `auto` drops it when that is clear and
    /// warns when it may be, `keep` keeps it, `drop` drops it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_name = "auto|keep|drop", value_parser = LastRow::from_str)]
    pub last_row: Option<LastRow>,
}

/// `--date-format`: a chrono strftime format with at least one field, or `unix` / `unix-ms`.
pub fn parse_date_format(s: &str) -> Result<String, String> {
    if s == "unix" || s == "unix-ms" {
        return Ok(s.to_string());
    }
    let items: Vec<Item> = StrftimeItems::new(s).collect();
    let has_field = items.iter().any(|item| matches!(item, Item::Numeric(..) | Item::Fixed(..)));
    if items.iter().any(|item| matches!(item, Item::Error)) || !has_field {
        return Err("must be a chrono strftime format such as %d/%m/%Y or %Y%m%d, or unix / unix-ms".into());
    }
    Ok(s.to_string())
}

/// `--delimiter`: one ASCII character other than a quote or a line break, or `tab`.
pub fn parse_delimiter(s: &str) -> Result<char, String> {
    let mut chars = s.chars();
    match (s, chars.next(), chars.next()) {
        ("tab" | "\\t", _, _) => Ok('\t'),
        (_, Some(c), None) if c.is_ascii() && !matches!(c, '"' | '\n' | '\r') => Ok(c),
        _ => Err("must be one character such as , ; | or tab".into()),
    }
}

impl LoadOptions {
    /// The options as one line of JSON; fields left to detection are omitted (`{}` for the default).
    pub fn to_json(&self) -> String {
        // Serializing a struct of strings and enums cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }

    /// Reads options written by [`LoadOptions::to_json`]. Unknown keys are an error, so that a
    /// newer model file is not silently read with fewer options.
    pub fn from_json(text: &str) -> Result<LoadOptions, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Every option set in `self`, and the rest from `fallback`: explicit flags over stored ones.
    pub fn or(&self, fallback: &LoadOptions) -> LoadOptions {
        fn pick<T: Clone>(first: &Option<T>, second: &Option<T>) -> Option<T> {
            first.clone().or_else(|| second.clone())
        }
        LoadOptions {
            date_column: pick(&self.date_column, &fallback.date_column),
            open_column: pick(&self.open_column, &fallback.open_column),
            high_column: pick(&self.high_column, &fallback.high_column),
            low_column: pick(&self.low_column, &fallback.low_column),
            close_column: pick(&self.close_column, &fallback.close_column),
            volume_column: pick(&self.volume_column, &fallback.volume_column),
            price_column: pick(&self.price_column, &fallback.price_column),
            date_format: pick(&self.date_format, &fallback.date_format),
            delimiter: pick(&self.delimiter, &fallback.delimiter),
            ticker: pick(&self.ticker, &fallback.ticker),
            last_row: pick(&self.last_row, &fallback.last_row),
        }
    }
}

/// What to do with a last row that may be a day still in progress (see `clean::in_progress`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LastRow {
    /// Drop it when it is clearly in progress, warn when it may be.
    #[default]
    Auto,
    /// Always keep it.
    Keep,
    /// Always drop it.
    Drop,
}

impl FromStr for LastRow {
    type Err = String;

    fn from_str(text: &str) -> Result<LastRow, String> {
        match text {
            "auto" => Ok(LastRow::Auto),
            "keep" => Ok(LastRow::Keep),
            "drop" => Ok(LastRow::Drop),
            _ => Err("must be auto, keep or drop".to_string()),
        }
    }
}

impl fmt::Display for LastRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LastRow::Auto => "auto",
            LastRow::Keep => "keep",
            LastRow::Drop => "drop",
        })
    }
}

/// Which instruments of a multi-ticker file `load_csv_tickers` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickerChoice {
    /// Every instrument the file holds, in order of first appearance.
    All,
    /// The instruments named, in this order, each matched like `--ticker` (case-insensitive;
    /// SPY also matches SPY.US, LMT also NYSE:LMT). An empty list reads none.
    Listed(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_options_are_an_empty_json_object() {
        assert_eq!(LoadOptions::default().to_json(), "{}");
        assert_eq!(LoadOptions::from_json("{}").ok(), Some(LoadOptions::default()));
    }

    #[test]
    fn options_round_trip_through_json() {
        let opts = LoadOptions {
            date_column: Some("Data".into()),
            close_column: Some("Price".into()),
            price_column: Some("close".into()),
            date_format: Some("%d/%m/%Y".into()),
            delimiter: Some('\t'),
            ticker: Some("AAPL".into()),
            last_row: Some(LastRow::Drop),
            ..LoadOptions::default()
        };
        let json = opts.to_json();
        assert_eq!(
            json,
            r#"{"date_column":"Data","close_column":"Price","price_column":"close","date_format":"%d/%m/%Y","delimiter":"\t","ticker":"AAPL","last_row":"drop"}"#
        );
        assert_eq!(LoadOptions::from_json(&json).ok(), Some(opts));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(LoadOptions::from_json(r#"{"tickr":"AAPL"}"#).is_err());
        assert!(LoadOptions::from_json("not json").is_err());
    }

    #[test]
    fn explicit_options_win_over_stored_ones() {
        let stored = LoadOptions {
            ticker: Some("AAPL".into()),
            date_format: Some("%d/%m/%Y".into()),
            ..LoadOptions::default()
        };
        let explicit = LoadOptions { ticker: Some("MSFT".into()), ..LoadOptions::default() };
        let merged = explicit.or(&stored);
        assert_eq!(merged.ticker.as_deref(), Some("MSFT"));
        assert_eq!(merged.date_format.as_deref(), Some("%d/%m/%Y"));
        assert_eq!(merged.close_column, None);
    }

    #[test]
    fn last_row_parses_its_three_values() {
        assert_eq!("auto".parse::<LastRow>(), Ok(LastRow::Auto));
        assert_eq!("keep".parse::<LastRow>(), Ok(LastRow::Keep));
        assert_eq!("drop".parse::<LastRow>(), Ok(LastRow::Drop));
        assert!("Drop".parse::<LastRow>().is_err());
        assert_eq!(LastRow::Drop.to_string(), "drop");
    }
}
