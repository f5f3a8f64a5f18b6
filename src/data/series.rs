//! The cleaned daily price series every later step works on, and the report of how it was read.

use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One instrument's daily bars: sorted by date ascending, one row per date, every price finite and
/// positive. All vectors have the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub dates: Vec<NaiveDate>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    /// Traded volume, when the file has a volume column (zero is a valid volume).
    pub volume: Option<Vec<f64>>,
}

impl Series {
    pub fn len(&self) -> usize {
        self.dates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }

    /// The rows dated on or before `date`.
    pub fn up_to(&self, date: chrono::NaiveDate) -> Series {
        self.head(self.dates.partition_point(|d| *d <= date))
    }

    /// The first `n` rows (or all of them when there are fewer).
    pub fn head(&self, n: usize) -> Series {
        let end = n.min(self.len());
        Series {
            dates: self.dates[..end].to_vec(),
            open: self.open[..end].to_vec(),
            high: self.high[..end].to_vec(),
            low: self.low[..end].to_vec(),
            close: self.close[..end].to_vec(),
            volume: self.volume.as_ref().map(|v| v[..end].to_vec()),
        }
    }

    /// The last `n` rows (or all of them when there are fewer).
    pub fn tail(&self, n: usize) -> Series {
        let start = self.len().saturating_sub(n);
        Series {
            dates: self.dates[start..].to_vec(),
            open: self.open[start..].to_vec(),
            high: self.high[start..].to_vec(),
            low: self.low[start..].to_vec(),
            close: self.close[start..].to_vec(),
            volume: self.volume.as_ref().map(|v| v[start..].to_vec()),
        }
    }
}

/// What the loader did with a file: which header it mapped to which field, how it read the dates,
/// which close it models, what it dropped and why, and anything the user should know. Warnings are
/// full sentences, printed on stderr by train and predict and listed by inspect.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    pub path: PathBuf,
    pub delimiter: char,
    /// Field name (date, open, high, low, close, volume, adj_close, ticker) → the header it was read
    /// from.
    pub columns: BTreeMap<String, String>,
    /// How the dates were read: a chrono strftime format, `unix` or `unix-ms`, or two of them
    /// joined by ` + ` when a file stitches two formats together.
    pub date_format: String,
    /// The close that became the series' close: `close`, or `adj_close` (open, high and low then
    /// scaled by adjusted / close).
    pub price_column: String,
    /// The ticker read, when the file names one.
    pub ticker: Option<String>,
    /// Data rows read (excluding header lines, blank lines and other tickers' rows).
    pub rows_read: usize,
    /// Rows in the returned series.
    pub rows_used: usize,
    /// Reason → number of rows dropped for it.
    pub dropped: BTreeMap<String, usize>,
    /// Dates that appeared more than once (one row of each was kept).
    pub duplicates: Vec<NaiveDate>,
    /// Gaps of more than a week between consecutive dates.
    pub gaps: Vec<Gap>,
    pub warnings: Vec<String>,
}

/// Consecutive dates of the series more than a week apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Calendar days from `from` to `to`.
    pub days: i64,
}
