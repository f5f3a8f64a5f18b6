//! Step 7: each record → a row in the prices that will be modelled, a reason to drop it, or an
//! error at its line and column.
//!
//! A zero price counts as missing. A missing open is filled later (see `clean`); a missing high,
//! low or close drops the row. When the adjusted close is modelled, every price of the row is
//! scaled by adjusted / close. Dividend and split rows (Yahoo's `0.23 Dividend`) are dropped. Cells
//! that cannot be read are errors even when the row would be dropped for another reason, so that a
//! bad number is never skipped silently.

use std::path::Path;

use chrono::NaiveDate;

use super::dates::DateReader;
use super::header::{ColumnMap, Price};
use super::numbers::{parse_price, parse_volume, plain_decimal};
use super::records::{Column, Record};
use super::show::excerpt;
use super::ticker::Selection;
use crate::data::LoadReport;
use crate::error::DataError;

/// Why a row was left out of the series; the text is the key in `LoadReport::dropped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DropReason {
    MissingPrice,
    NegativePrice,
    HighBelowLow,
    MissingAdjusted,
    DividendOrSplit,
    DuplicateDate,
    InProgress,
}

impl DropReason {
    fn as_str(self) -> &'static str {
        match self {
            DropReason::MissingPrice => "missing price",
            DropReason::NegativePrice => "negative price",
            DropReason::HighBelowLow => "high below low",
            DropReason::MissingAdjusted => "missing adjusted close",
            DropReason::DividendOrSplit => "dividend or split row",
            DropReason::DuplicateDate => "duplicate date",
            DropReason::InProgress => "in-progress last row",
        }
    }
}

/// Counts `n` rows dropped for `reason` in the report.
pub(super) fn count_drop(report: &mut LoadReport, reason: DropReason, n: usize) {
    *report.dropped.entry(reason.as_str().to_string()).or_insert(0) += n;
}

/// One usable record, before sorting and de-duplication, in modelled prices.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RawRow {
    pub line: u64,
    pub date: NaiveDate,
    /// `None` when the open was missing or 0.
    pub open: Option<f64>,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// `None` when the file has no volume column; a missing cell in a volume column reads as 0.
    pub volume: Option<f64>,
    /// The volume cell was missing and was read as 0.
    pub volume_filled: bool,
    /// Close was outside [low, high], and low or high was moved to it.
    pub widened: bool,
}

/// What one record turned into.
#[derive(Debug, Clone, PartialEq)]
enum Parsed {
    Row(RawRow),
    Dropped(DropReason),
}

/// Reads every selected record, counting it in `report.rows_read` and any drop in
/// `report.dropped`.
pub(super) fn read_rows(
    selection: &Selection,
    columns: &ColumnMap,
    dates: &DateReader,
    path: &Path,
    report: &mut LoadReport,
) -> Result<Vec<RawRow>, DataError> {
    let mut rows = Vec::new();
    rows.try_reserve_exact(selection.len()).map_err(|_| {
        DataError::new(path, "not enough memory for the rows of the file").with_hint("use a smaller file")
    })?;
    let mut read_dates = dates.dates().iter().copied();
    for record in selection.records() {
        report.rows_read += 1;
        match parse_record(&record, columns, dates, &mut read_dates, path)? {
            Parsed::Row(row) => rows.push(row),
            Parsed::Dropped(reason) => count_drop(report, reason, 1),
        }
    }
    Ok(rows)
}

/// Reads `record`; `read_dates` gives the date of each non-empty date cell in turn (see
/// `dates::detect`), and this record takes its own whatever becomes of it.
fn parse_record(
    record: &Record,
    columns: &ColumnMap,
    dates: &DateReader,
    read_dates: &mut impl Iterator<Item = NaiveDate>,
    path: &Path,
) -> Result<Parsed, DataError> {
    let date_text = record.cell(&columns.date, path)?.unwrap_or_default();
    let read = if date_text.is_empty() { None } else { read_dates.next() };
    if mentions_dividend_or_split(record, columns) {
        return Ok(Parsed::Dropped(DropReason::DividendOrSplit));
    }
    let date = read_date(record, &columns.date, date_text, read, dates, path)?;
    let open = read_price(record, &columns.open, path)?;
    let high = read_price(record, &columns.high, path)?;
    let low = read_price(record, &columns.low, path)?;
    let close = read_price(record, &columns.close, path)?;
    let adjusted = match (columns.price, &columns.adj_close) {
        (Price::Adjusted, Some(column)) => Some(read_price(record, column, path)?),
        _ => None,
    };
    let volume = match &columns.volume {
        Some(column) => Some(read_volume(record, column, path)?),
        None => None,
    };
    let present = |price: Option<f64>| price.filter(|&price| price != 0.0);
    let (Some(high), Some(low), Some(close)) = (present(high), present(low), present(close)) else {
        return Ok(Parsed::Dropped(DropReason::MissingPrice));
    };
    let open = present(open);
    if [Some(high), Some(low), Some(close), open].into_iter().flatten().any(|price| price < 0.0) {
        return Ok(Parsed::Dropped(DropReason::NegativePrice));
    }
    if high < low {
        return Ok(Parsed::Dropped(DropReason::HighBelowLow));
    }
    let factor = match adjusted {
        None => 1.0,
        Some(adjusted) => match present(adjusted) {
            Some(adjusted) if adjusted > 0.0 && (adjusted / close).is_normal() => adjusted / close,
            Some(_) => return Ok(Parsed::Dropped(DropReason::NegativePrice)),
            None => return Ok(Parsed::Dropped(DropReason::MissingAdjusted)),
        },
    };
    let row = RawRow {
        line: record.line,
        date,
        open: open.map(|open| open * factor),
        high: high.max(close) * factor,
        low: low.min(close) * factor,
        close: close * factor,
        volume: volume.map(|cell| cell.unwrap_or(0.0)),
        volume_filled: matches!(volume, Some(None)),
        widened: close < low || close > high,
    };
    let finite =
        [Some(row.high), Some(row.low), Some(row.close), row.open].into_iter().flatten().all(f64::is_finite);
    Ok(if finite { Parsed::Row(row) } else { Parsed::Dropped(DropReason::MissingAdjusted) })
}

/// Yahoo's copied tables have rows such as `Mar 16, 2023,0.23 Dividend` and `2:1 Stock Split`.
fn mentions_dividend_or_split(record: &Record, columns: &ColumnMap) -> bool {
    [&columns.open, &columns.high, &columns.low, &columns.close].iter().any(|column| {
        record.field(column.index).is_some_and(|cell| {
            // Most cells are numbers: no letter, no word.
            cell.iter().any(u8::is_ascii_alphabetic)
                && (contains_ignore_case(cell, b"dividend") || contains_ignore_case(cell, b"split"))
        })
    })
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle))
}

/// The date of `record`, whose date cell holds `text`: `read` when the column's dates were read.
fn read_date(
    record: &Record,
    column: &Column,
    text: &str,
    read: Option<NaiveDate>,
    dates: &DateReader,
    path: &Path,
) -> Result<NaiveDate, DataError> {
    if text.is_empty() {
        return Err(DataError::at(path, record.line, column.location(), "the date is missing")
            .with_hint("every row needs a date; remove the row or fill in its date"));
    }
    read.or_else(|| dates.parse(text)).ok_or_else(|| {
        DataError::at(
            path,
            record.line,
            column.location(),
            format!("cannot parse date \"{}\"", excerpt(text)),
        )
        .with_hint(format!("the other dates are {}; pass --date-format if that is wrong", dates.describe()))
    })
}

/// A missing price is `None`; a cell that is not a finite number is an error.
fn read_price(record: &Record, column: &Column, path: &Path) -> Result<Option<f64>, DataError> {
    if let Some(price) = record.field(column.index).and_then(plain_decimal) {
        return Ok(Some(price));
    }
    let Some(text) = record.cell(column, path)? else {
        return Ok(None);
    };
    parse_price(text).map_err(|message| {
        DataError::at(path, record.line, column.location(), message).with_hint(
            "prices must be numbers such as 123.45 or 1,234.50; an empty cell, null, NaN or - marks a missing \
             price",
        )
    })
}

/// A missing volume is `None`; a cell that is not a finite, non-negative number is an error.
fn read_volume(record: &Record, column: &Column, path: &Path) -> Result<Option<f64>, DataError> {
    if let Some(volume) = record.field(column.index).and_then(plain_decimal) {
        return Ok(Some(volume));
    }
    let Some(text) = record.cell(column, path)? else {
        return Ok(None);
    };
    parse_volume(text).map_err(|message| {
        DataError::at(path, record.line, column.location(), message).with_hint(
            "volume must be a non-negative number (K, M and B suffixes are fine); an empty cell, null, NaN \
             or - is read as 0; --volume-column none ignores the column",
        )
    })
}
