//! What the user can tell the loader when detection gets a file wrong: column names, the modelled
//! price, the date format, the delimiter, the ticker, and what to do with a possibly in-progress
//! last row. Every field is optional; `None` means "detect it".
//!
//! The options travel as JSON ([`LoadOptions::to_json`], [`LoadOptions::from_json`]) so that a model
//! file can record how its training CSV was read and `predict` can read the refreshed file the same
//! way, with flags given on the command line taking precedence ([`LoadOptions::or`]).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// User overrides for reading a file. The default detects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadOptions {
    /// Header name (or 1-based column number) of the date column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high_column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low_column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_column: Option<String>,
    /// `none` reads the file as if it had no volume column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_column: Option<String>,
    /// Which close is modelled: `close` or `adjusted` (also a header name of either column).
    /// Default: the adjusted close when the file has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_column: Option<String>,
    /// A chrono strftime format such as `%d/%m/%Y`, or `unix` / `unix-ms` for epoch seconds /
    /// milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
    /// The field delimiter, one ASCII character.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// The instrument to read from a file that holds several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticker: Option<String>,
    /// What to do with a last row that looks like a day still in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_row: Option<LastRow>,
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
            other => Err(format!("expected auto, keep or drop, got \"{other}\"")),
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
