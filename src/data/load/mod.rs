//! Reads a daily price CSV, whatever exporter wrote it, into a [`Series`] and a [`LoadReport`]
//! that says what was done; refuses, with file, line, column and the flag that helps, what it
//! cannot read right.
//!
//! The work is split into steps, one module each, so that a new layout extends one step. Each
//! step uses only the steps before it (and the leaf helpers `options`, `show` and `symbols`):
//!
//! 0. `file`: a regular file of at most [`MAX_FILE_BYTES`] (a FIFO or a device is refused unread).
//! 1. `decode`: strip a UTF-8 byte-order mark (and refuse UTF-16, which would only fail later).
//! 2. `decode`: the delimiter, comma, semicolon or tab, whichever the header line has most of
//!    (or `--delimiter`).
//! 3. `records`: every record with its physical line (CRLF, lone CR, quoted fields, blank lines),
//!    stored flat; a record over [`MAX_RECORD_BYTES`] or [`MAX_FIELDS`] fields is refused.
//! 4. `header`: find the header line, read yfinance's three-line header, map names to roles.
//! 5. `ticker`: the rows of one instrument (`--ticker`) from a file that holds several, or of
//!    each instrument for [`load_csv_tickers`] (`symbols` matches a ticker name against the
//!    values, for this step and yfinance's header).
//! 6. `dates`: the date format, decided from the whole column (`--date-format` overrides).
//! 7. `rows`: each record → a row of modelled prices (adjusted when there is an adjusted close),
//!    a reason to drop it, or an error at its line and column; `numbers` reads the cells.
//! 8. `clean`: sort, one row per date, fill missing opens, an in-progress last row, the series.
//! 9. `checks`: gaps longer than a week, jumps that look like unadjusted splits.
//!
//! [`load_csv_tickers`] reads many instruments of one file (all, or a [`TickerChoice`] list) for a
//! model trained on several: steps 0 to 3 once, step 4 once (once per ticker for yfinance's
//! header with several side by side), step 5 groups the records by ticker in one pass, and steps
//! 6 to 9 run per instrument, each with its own result: one bad instrument does not stop the
//! others. The date format (step 6) is decided per instrument, from its own rows.
//!
//! The loader never prints: dropped-row counts and warnings go into the report for the caller.
//! Whatever a file holds, memory stays a small multiple of its size and time a few passes over
//! it, and messages and warnings quote it only in short excerpts ([`EXCERPT_CHARS`] characters
//! each, at most twenty in a list) with non-printable characters escaped (`show`): the CSV path may
//! come from a model file, and the file may not be a price file at all.

mod checks;
mod clean;
mod dates;
mod decode;
mod file;
mod header;
mod numbers;
mod options;
mod records;
mod rows;
mod show;
mod symbols;
mod ticker;

#[cfg(test)]
mod tests;

pub use file::MAX_FILE_BYTES;
pub use options::{LastRow, LoadOptions, TickerChoice};
pub use records::{MAX_FIELDS, MAX_RECORD_BYTES};
pub use show::EXCERPT_CHARS;
pub use ticker::MAX_TICKERS;

use std::path::Path;

use chrono::{NaiveDate, Utc};

use crate::data::{LoadReport, Series};
use crate::error::DataError;
use header::Price;

/// Reads the file at `path` and parses it with [`parse_csv`]. Anything but a regular file (after
/// following symbolic links) is refused before it is opened, and a file over [`MAX_FILE_BYTES`]
/// is refused, even one that grows while it is read.
pub fn load_csv(path: &Path, opts: &LoadOptions) -> Result<(Series, LoadReport), DataError> {
    let bytes = file::read(path)?;
    let (rows, columns, report) = read_rows(&bytes, path, opts)?;
    // The rows hold all that is needed from here on: free the file before cleaning.
    drop(bytes);
    finish(rows, &columns, report, opts, Utc::now().date_naive(), path)
}

/// Parses CSV `bytes` (the contents of `path`, which is used only in errors and the report) into a
/// series sorted by date with one row per date. Never panics, whatever the bytes; more than
/// [`MAX_FILE_BYTES`] of them are refused.
pub fn parse_csv(bytes: &[u8], path: &Path, opts: &LoadOptions) -> Result<(Series, LoadReport), DataError> {
    parse_csv_on(bytes, path, opts, Utc::now().date_naive())
}

/// [`parse_csv`] as if today (UTC) were `today`, which decides whether a last row dated today is
/// still in progress.
pub fn parse_csv_on(
    bytes: &[u8],
    path: &Path,
    opts: &LoadOptions,
    today: NaiveDate,
) -> Result<(Series, LoadReport), DataError> {
    let (rows, columns, report) = read_rows(bytes, path, opts)?;
    finish(rows, &columns, report, opts, today, path)
}

/// Steps 1 to 7 for the one instrument of [`parse_csv_on`]: its rows, its columns and the report
/// so far. The records are freed on return.
fn read_rows(
    bytes: &[u8],
    path: &Path,
    opts: &LoadOptions,
) -> Result<(Vec<rows::RawRow>, header::ColumnMap, LoadReport), DataError> {
    let (records, delimiter) = read_records(bytes, path, opts)?;
    let header = header::find(&records, opts, path)?;
    let selection = ticker::select(&records, &header, opts.ticker.as_deref(), path)?;
    let (rows, report) = read_instrument(&selection, &header, delimiter, opts, path)?;
    Ok((rows, header.columns, report))
}

/// One instrument of [`load_csv_tickers`]: its id, and its series and report or its own error.
pub type TickerLoad = (String, Result<(Series, LoadReport), DataError>);

/// Reads every instrument `choice` names from the file at `path`, with one read and one parse of
/// the file (see [`parse_csv_tickers_on`]); refuses what [`load_csv`] refuses before reading.
pub fn load_csv_tickers(
    path: &Path,
    opts: &LoadOptions,
    choice: &TickerChoice,
) -> Result<Vec<TickerLoad>, DataError> {
    let bytes = file::read(path)?;
    parse_csv_tickers_on(&bytes, path, opts, choice, Utc::now().date_naive())
}

/// Parses CSV `bytes` (the contents of `path`) once, then reads each instrument `choice` names as
/// [`parse_csv_on`] reads one: [`TickerChoice::All`] in order of first appearance in the file,
/// [`TickerChoice::Listed`] in the order listed. Each entry is the instrument's id and its own
/// result, so that one instrument's error (a bad row, no usable rows, a listed name that matches
/// no ticker of the file, which the error lists) does not stop the others.
///
/// The id is the ticker value as written in the file (for a listed name, the value it matched),
/// so that `--ticker` with the id reads the same rows: values that `--ticker` does not tell apart
/// (`LMT` and `NYSE:LMT`, `aapl` and `AAPL`) are one instrument, named by the first of them. The
/// report's `ticker` lists its values as messages show them. A file that names no ticker is one
/// instrument, whose id is the file name's stem (`AAPL_kaggle` for `AAPL_kaggle.csv`). yfinance's
/// header with several tickers side by side gives one instrument per ticker.
///
/// `opts.ticker` is not used (`choice` says which instruments are read); the other options apply
/// to every instrument. The error is for the file as a whole: not readable as a CSV, no header,
/// or more than [`MAX_TICKERS`] tickers for `All`. Never panics, whatever the bytes.
pub fn parse_csv_tickers_on(
    bytes: &[u8],
    path: &Path,
    opts: &LoadOptions,
    choice: &TickerChoice,
    today: NaiveDate,
) -> Result<Vec<TickerLoad>, DataError> {
    let opts = &LoadOptions { ticker: None, ..opts.clone() };
    let (records, delimiter) = read_records(bytes, path, opts)?;
    let mut loaded = Vec::new();
    for (side_by_side, header) in header::find_each(&records, opts, choice, path)? {
        let header = match header {
            Ok(header) => header,
            Err(err) => {
                loaded.push((side_by_side.unwrap_or_else(|| stem(path)), Err(err)));
                continue;
            }
        };
        let instruments = match side_by_side {
            // yfinance's header has already picked the instrument's columns.
            Some(id) => vec![(Some(id), ticker::select(&records, &header, None, path))],
            None => ticker::select_each(&records, &header, choice, path)?,
        };
        for (id, selection) in instruments {
            let series = selection.and_then(|selection| {
                let (rows, report) = read_instrument(&selection, &header, delimiter, opts, path)?;
                drop(selection);
                finish(rows, &header.columns, report, opts, today, path)
            });
            loaded.push((id.unwrap_or_else(|| stem(path)), series));
        }
    }
    Ok(loaded)
}

/// Steps 1 to 3: the records of the whole file, and the delimiter that split them.
fn read_records<'t>(
    bytes: &'t [u8],
    path: &Path,
    opts: &LoadOptions,
) -> Result<(records::Records<'t>, u8), DataError> {
    if u64::try_from(bytes.len()).map_or(true, |len| len > MAX_FILE_BYTES) {
        return Err(file::too_large(path, u64::try_from(bytes.len()).ok()));
    }
    let text = decode::decode(bytes, path)?;
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(DataError::new(path, "the file is empty")
            .with_hint("expected a header line such as Date,Open,High,Low,Close,Volume and rows of prices"));
    }
    let delimiter = match opts.delimiter {
        Some(delimiter) => delimiter_byte(delimiter, path)?,
        None => decode::detect_delimiter(text),
    };
    Ok((records::read_all(text, delimiter, path)?, delimiter))
}

/// Steps 6 and 7 for one instrument: its date format and its rows, and the report so far.
fn read_instrument(
    selection: &ticker::Selection,
    header: &header::Header,
    delimiter: u8,
    opts: &LoadOptions,
    path: &Path,
) -> Result<(Vec<rows::RawRow>, LoadReport), DataError> {
    if selection.is_empty() {
        return Err(DataError::new(path, "the file has a header but no data rows")
            .with_hint("add rows of prices under the header line"));
    }
    let mut warnings = header.warnings.clone();
    warnings.extend(selection.warnings.iter().cloned());
    let columns = &header.columns;
    let dates = dates::detect(selection, &columns.date, opts.date_format.as_deref(), path, &mut warnings)?;
    let mut report = LoadReport {
        path: path.to_path_buf(),
        delimiter: char::from(delimiter),
        columns: columns.names(),
        date_format: dates.describe(),
        price_column: match columns.price {
            Price::Close => "close".to_string(),
            Price::Adjusted => "adj_close".to_string(),
        },
        ticker: selection.ticker.clone(),
        warnings,
        ..LoadReport::default()
    };
    let rows = rows::read_rows(selection, columns, &dates, path, &mut report)?;
    Ok((rows, report))
}

/// Steps 8 and 9 for one instrument: the cleaned series, and its gaps and split warnings.
fn finish(
    rows: Vec<rows::RawRow>,
    columns: &header::ColumnMap,
    report: LoadReport,
    opts: &LoadOptions,
    today: NaiveDate,
    path: &Path,
) -> Result<(Series, LoadReport), DataError> {
    let last_row = opts.last_row.unwrap_or_default();
    let (series, mut report) = clean::clean(rows, columns, last_row, today, path, report)?;
    report.gaps = checks::gaps(&series.dates);
    if columns.price == Price::Close {
        checks::split_warnings(&series, &mut report);
    }
    Ok((series, report))
}

/// The file name without its extension (`AAPL_kaggle` for `data/AAPL_kaggle.csv`): the id of a
/// file that names no ticker.
fn stem(path: &Path) -> String {
    path.file_stem().unwrap_or(path.as_os_str()).to_string_lossy().into_owned()
}

/// The byte for `--delimiter`: one ASCII character that is not a quote or a line break.
fn delimiter_byte(delimiter: char, path: &Path) -> Result<u8, DataError> {
    match u8::try_from(delimiter) {
        Ok(byte) if byte.is_ascii() && !matches!(byte, b'"' | b'\n' | b'\r') => Ok(byte),
        _ => Err(DataError::new(path, format!("--delimiter {delimiter:?} cannot separate fields"))
            .with_hint("use one ASCII character such as , ; | or tab")),
    }
}
