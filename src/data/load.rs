//! Reads a daily price CSV into a [`Series`] and a [`LoadReport`].
//!
//! The work is split into steps, each a function, so that new layouts extend one step rather than
//! rewrite the loader:
//!
//! 1. `decode`: strip a UTF-8 byte-order mark (and refuse UTF-16, which would only fail later).
//! 2. `detect_delimiter`: comma, semicolon or tab, whichever the header line has most of.
//! 3. `map_header`: header names → roles (date, open, high, low, close, volume, adj_close).
//! 4. `parse_record`: each record → a row, a reason to drop it, or an error at its line and column.
//! 5. `clean`: sort by date, drop duplicate dates, build the series and the report.
//!
//! The loader never prints: dropped-row counts and warnings go into the report for the caller.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{NaiveDate, NaiveTime};
use csv::{ByteRecord, Reader, ReaderBuilder};

use crate::data::{LoadReport, Series};
use crate::error::DataError;

/// User overrides for reading a file. Empty for now; column names, date format, delimiter and
/// ticker will be added here.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {}

/// Reads the file at `path` and parses it with [`parse_csv`].
pub fn load_csv(path: &Path, opts: &LoadOptions) -> Result<(Series, LoadReport), DataError> {
    let bytes = std::fs::read(path).map_err(|err| {
        DataError::new(path, format!("cannot read the file: {err}"))
            .with_hint("check that the path is right and that the file is readable")
    })?;
    parse_csv(&bytes, path, opts)
}

/// Parses CSV `bytes` (the contents of `path`, which is used only in errors and the report) into a
/// series sorted by date with one row per date. Never panics, whatever the bytes.
pub fn parse_csv(bytes: &[u8], path: &Path, _opts: &LoadOptions) -> Result<(Series, LoadReport), DataError> {
    let text = decode(bytes, path)?;
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(DataError::new(path, "the file is empty")
            .with_hint("expected a header line such as Date,Open,High,Low,Close,Volume and rows of prices"));
    }
    let delimiter = detect_delimiter(text);
    let mut reader =
        ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(text);
    let mut lines = LineCounter::new(text);
    let header = read_header(&mut reader, &mut lines, path)?;
    let columns = map_header(&header, lines.line_of_record(0), path)?;

    let mut report = LoadReport {
        path: path.to_path_buf(),
        delimiter: char::from(delimiter),
        columns: columns.names(),
        ..LoadReport::default()
    };
    let rows = read_rows(&mut reader, &mut lines, &columns, path, &mut report)?;
    if report.rows_read == 0 {
        return Err(DataError::new(path, "the file has a header but no data rows")
            .with_hint("add rows of prices under the header line"));
    }
    clean(rows, &columns, path, report)
}

// ---------------------------------------------------------------------------------------------
// Step 1: decode

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Strips a UTF-8 byte-order mark. Cells are checked for valid UTF-8 one by one as they are read,
/// so that an error can name the line; UTF-16 is refused here as a whole.
fn decode<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a [u8], DataError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(DataError::new(path, "the file is UTF-16 encoded")
            .with_hint("save it as UTF-8 (or plain ASCII) CSV"));
    }
    Ok(bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes))
}

// ---------------------------------------------------------------------------------------------
// Step 2: delimiter

const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// Picks the delimiter that occurs most often (outside quotes) in the first non-blank line, the
/// header; comma on a tie or when there is none of them.
fn detect_delimiter(text: &[u8]) -> u8 {
    let mut lines = text.split(|&b| b == b'\n' || b == b'\r');
    let first_line = lines.find(|line| !line.iter().all(u8::is_ascii_whitespace)).unwrap_or_default();
    let mut counts = [0usize; DELIMITERS.len()];
    let mut in_quotes = false;
    for &byte in first_line {
        if byte == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            for (count, &delimiter) in counts.iter_mut().zip(DELIMITERS.iter()) {
                if byte == delimiter {
                    *count += 1;
                }
            }
        }
    }
    let mut best = b',';
    let mut best_count = 0;
    for (&count, &delimiter) in counts.iter().zip(DELIMITERS.iter()) {
        if count > best_count {
            best = delimiter;
            best_count = count;
        }
    }
    best
}

// ---------------------------------------------------------------------------------------------
// Step 3: header

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Date,
    Open,
    High,
    Low,
    Close,
    AdjClose,
    Volume,
}

impl Role {
    /// The name used in `LoadReport::columns` and in messages.
    fn name(self) -> &'static str {
        match self {
            Role::Date => "date",
            Role::Open => "open",
            Role::High => "high",
            Role::Low => "low",
            Role::Close => "close",
            Role::AdjClose => "adj_close",
            Role::Volume => "volume",
        }
    }
}

/// The role of a header name, matched case-insensitively after trimming; `None` for columns the
/// loader ignores (OpenInt, ticker names, anything unknown).
fn role_of(header: &str) -> Option<Role> {
    match header.trim().to_lowercase().as_str() {
        "date" | "timestamp" => Some(Role::Date),
        "open" => Some(Role::Open),
        "high" => Some(Role::High),
        "low" => Some(Role::Low),
        "close" => Some(Role::Close),
        "adj close" | "adj_close" | "adjusted_close" | "adjusted close" => Some(Role::AdjClose),
        "volume" | "vol" => Some(Role::Volume),
        _ => None,
    }
}

/// One mapped column: its 0-based index in a record and its header as written (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    index: usize,
    name: String,
}

impl Column {
    /// The 1-based index and name, as `DataError::at` takes them.
    fn location(&self) -> Option<(usize, &str)> {
        Some((self.index + 1, self.name.as_str()))
    }
}

/// Where each role is in the records.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ColumnMap {
    date: Column,
    open: Column,
    high: Column,
    low: Column,
    close: Column,
    volume: Option<Column>,
    adj_close: Option<Column>,
}

impl ColumnMap {
    /// Role name → header as written, for the report.
    fn names(&self) -> BTreeMap<String, String> {
        let required = [
            (Role::Date, &self.date),
            (Role::Open, &self.open),
            (Role::High, &self.high),
            (Role::Low, &self.low),
            (Role::Close, &self.close),
        ];
        let optional = [(Role::Volume, &self.volume), (Role::AdjClose, &self.adj_close)];
        let mut names: BTreeMap<String, String> =
            required.iter().map(|(role, column)| (role.name().to_string(), column.name.clone())).collect();
        for (role, column) in optional {
            if let Some(column) = column {
                names.insert(role.name().to_string(), column.name.clone());
            }
        }
        names
    }
}

fn read_header(
    reader: &mut Reader<&[u8]>,
    lines: &mut LineCounter,
    path: &Path,
) -> Result<ByteRecord, DataError> {
    reader.byte_headers().cloned().map_err(|err| csv_error(path, &err, lines))
}

/// Maps header names to roles. Errors at the header's line (`line`, 1 unless blank lines come
/// first) when a required role (date, open, high, low, close) has no column.
fn map_header(header: &ByteRecord, line: u64, path: &Path) -> Result<ColumnMap, DataError> {
    let names: Vec<String> =
        header.iter().map(|field| String::from_utf8_lossy(field).trim().to_string()).collect();
    let found = assign_roles(&names);
    let take = |role: Role| found.iter().find(|(seen, _)| *seen == role).map(|(_, column)| column.clone());
    match (take(Role::Date), take(Role::Open), take(Role::High), take(Role::Low), take(Role::Close)) {
        (Some(date), Some(open), Some(high), Some(low), Some(close)) => Ok(ColumnMap {
            date,
            open,
            high,
            low,
            close,
            volume: take(Role::Volume),
            adj_close: take(Role::AdjClose),
        }),
        _ => {
            let required = [Role::Date, Role::Open, Role::High, Role::Low, Role::Close];
            let missing: Vec<&str> =
                required.iter().filter(|&&role| take(role).is_none()).map(|role| role.name()).collect();
            Err(missing_columns_error(path, line, &missing, &names))
        }
    }
}

/// The column for each role found in `names`; when a role appears twice, the first column wins.
fn assign_roles(names: &[String]) -> Vec<(Role, Column)> {
    let mut found: Vec<(Role, Column)> = Vec::new();
    for (index, name) in names.iter().enumerate() {
        if let Some(role) = role_of(name) {
            if !found.iter().any(|(seen, _)| *seen == role) {
                found.push((role, Column { index, name: name.clone() }));
            }
        }
    }
    found
}

fn missing_columns_error(path: &Path, line: u64, missing: &[&str], names: &[String]) -> DataError {
    let found: Vec<String> = names.iter().map(|name| format!("\"{}\"", shorten(name))).collect();
    let noun = if missing.len() == 1 { "column" } else { "columns" };
    DataError::at(
        path,
        line,
        None,
        format!("missing required {noun} {} (the header has {})", missing.join(", "), found.join(", ")),
    )
    .with_hint(
        "the header needs date (or timestamp), open, high, low and close columns; names are matched \
         case-insensitively and volume is optional",
    )
}

// ---------------------------------------------------------------------------------------------
// Step 4: records

/// Why a row was left out of the series; the text is the key in `LoadReport::dropped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DropReason {
    MissingPrice,
    NonPositivePrice,
    HighBelowLow,
    DuplicateDate,
}

impl DropReason {
    fn as_str(self) -> &'static str {
        match self {
            DropReason::MissingPrice => "missing price",
            DropReason::NonPositivePrice => "non-positive price",
            DropReason::HighBelowLow => "high below low",
            DropReason::DuplicateDate => "duplicate date",
        }
    }
}

/// One usable record, before sorting and de-duplication.
#[derive(Debug, Clone, PartialEq)]
struct RawRow {
    date: NaiveDate,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    /// `None` when the file has no volume column; a missing cell in a volume column reads as 0.
    volume: Option<f64>,
    /// The volume cell was missing and was read as 0.
    volume_filled: bool,
    /// Close was outside [low, high], and low or high was moved to it.
    widened: bool,
}

/// What one record turned into.
#[derive(Debug, Clone, PartialEq)]
enum Parsed {
    Row(RawRow),
    Dropped(DropReason),
}

/// Reads every data record, counting it in `report.rows_read` and any drop in `report.dropped`.
fn read_rows(
    reader: &mut Reader<&[u8]>,
    lines: &mut LineCounter,
    columns: &ColumnMap,
    path: &Path,
    report: &mut LoadReport,
) -> Result<Vec<RawRow>, DataError> {
    let mut rows = Vec::new();
    let mut record = ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(|err| csv_error(path, &err, lines))? {
        if is_blank(&record) {
            continue;
        }
        report.rows_read += 1;
        let line = record.position().map_or(0, |position| lines.line_of_record(position.byte()));
        match parse_record(&record, line, columns, path)? {
            Parsed::Row(row) => rows.push(row),
            Parsed::Dropped(reason) => count_drop(report, reason, 1),
        }
    }
    Ok(rows)
}

/// A record whose cells are all empty or white space, such as `,,,,` or a line of spaces.
fn is_blank(record: &ByteRecord) -> bool {
    record.iter().all(|field| field.iter().all(u8::is_ascii_whitespace))
}

/// Parses one record found at `line`. Cells that cannot be read are errors even when the row would
/// be dropped for another reason, so that a bad number is never skipped silently.
fn parse_record(
    record: &ByteRecord,
    line: u64,
    columns: &ColumnMap,
    path: &Path,
) -> Result<Parsed, DataError> {
    let date = read_date(record, &columns.date, line, path)?;
    let open = read_price(record, &columns.open, line, path)?;
    let high = read_price(record, &columns.high, line, path)?;
    let low = read_price(record, &columns.low, line, path)?;
    let close = read_price(record, &columns.close, line, path)?;
    let volume = match &columns.volume {
        Some(column) => Some(read_volume(record, column, line, path)?),
        None => None,
    };
    let (Some(open), Some(high), Some(low), Some(close)) = (open, high, low, close) else {
        return Ok(Parsed::Dropped(DropReason::MissingPrice));
    };
    if [open, high, low, close].iter().any(|&price| price <= 0.0) {
        return Ok(Parsed::Dropped(DropReason::NonPositivePrice));
    }
    if high < low {
        return Ok(Parsed::Dropped(DropReason::HighBelowLow));
    }
    Ok(Parsed::Row(RawRow {
        date,
        open,
        high: high.max(close),
        low: low.min(close),
        close,
        volume: volume.map(|cell| cell.unwrap_or(0.0)),
        volume_filled: matches!(volume, Some(None)),
        widened: close < low || close > high,
    }))
}

/// The trimmed text of `column` in `record`; `None` when the record is too short to have it.
fn cell<'r>(
    record: &'r ByteRecord,
    column: &Column,
    line: u64,
    path: &Path,
) -> Result<Option<&'r str>, DataError> {
    let Some(bytes) = record.get(column.index) else {
        return Ok(None);
    };
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Some(text.trim())),
        Err(_) => Err(DataError::at(path, line, column.location(), "the cell is not valid UTF-8 text")
            .with_hint("save the file as UTF-8 (or plain ASCII) CSV")),
    }
}

fn read_date(record: &ByteRecord, column: &Column, line: u64, path: &Path) -> Result<NaiveDate, DataError> {
    let text = cell(record, column, line, path)?.unwrap_or_default();
    parse_date(text).ok_or_else(|| {
        DataError::at(path, line, column.location(), format!("cannot parse date \"{}\"", shorten(text)))
            .with_hint(
                "dates must be ISO YYYY-MM-DD (a time after the date, as in 2020-01-31 00:00:00, is ignored)",
            )
    })
}

/// A missing price is `None`; a cell that is not a finite number is an error.
fn read_price(
    record: &ByteRecord,
    column: &Column,
    line: u64,
    path: &Path,
) -> Result<Option<f64>, DataError> {
    let Some(text) = cell(record, column, line, path)? else {
        return Ok(None);
    };
    parse_price(text).map_err(|message| {
        DataError::at(path, line, column.location(), message).with_hint(
            "prices must be plain numbers such as 123.45; an empty cell, null, NaN or - marks a missing price",
        )
    })
}

/// A missing volume is `None`; a cell that is not a finite, non-negative number is an error.
fn read_volume(
    record: &ByteRecord,
    column: &Column,
    line: u64,
    path: &Path,
) -> Result<Option<f64>, DataError> {
    let Some(text) = cell(record, column, line, path)? else {
        return Ok(None);
    };
    parse_volume(text).map_err(|message| {
        DataError::at(path, line, column.location(), message)
            .with_hint("volume must be a non-negative number; an empty cell, null, NaN or - is read as 0")
    })
}

/// Parses an ISO date, `YYYY-MM-DD`, optionally followed by ` HH:MM:SS` or `THH:MM:SS`.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let (day, rest) = text.split_at_checked(10)?;
    if !is_iso_date_shape(day) {
        return None;
    }
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    if rest.is_empty() {
        return Some(date);
    }
    let time = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('T'))?;
    NaiveTime::parse_from_str(time, "%H:%M:%S").ok()?;
    Some(date)
}

/// `DDDD-DD-DD` with ASCII digits.
fn is_iso_date_shape(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(
            |(i, b)| {
                if i == 4 || i == 7 {
                    *b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            },
        )
}

/// Empty, null, NaN and - (any case) mark a missing value.
fn is_missing(text: &str) -> bool {
    let text = text.trim();
    text.is_empty() || text == "-" || text.eq_ignore_ascii_case("null") || text.eq_ignore_ascii_case("nan")
}

/// `Ok(None)` for a missing value, `Ok(Some(x))` for a finite number (of any sign: the caller drops
/// non-positive prices), and `Err(message)` otherwise.
fn parse_price(text: &str) -> Result<Option<f64>, String> {
    parse_number(text, "price")
}

/// Like [`parse_price`], but a negative volume is an error.
fn parse_volume(text: &str) -> Result<Option<f64>, String> {
    match parse_number(text, "volume")? {
        Some(volume) if volume < 0.0 => Err(format!("volume \"{}\" is negative", shorten(text))),
        volume => Ok(volume),
    }
}

fn parse_number(text: &str, what: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if is_missing(text) {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(value) if value.is_nan() => Ok(None),
        Ok(value) if value.is_infinite() => {
            Err(format!("{what} \"{}\" is not a finite number", shorten(text)))
        }
        Ok(value) => Ok(Some(value)),
        Err(_) => Err(format!("cannot parse {what} \"{}\" as a number", shorten(text))),
    }
}

// ---------------------------------------------------------------------------------------------
// Step 5: clean

/// Sorts by date (stable), keeps the last row in file order for each date, and builds the series
/// and the finished report.
fn clean(
    mut rows: Vec<RawRow>,
    columns: &ColumnMap,
    path: &Path,
    mut report: LoadReport,
) -> Result<(Series, LoadReport), DataError> {
    add_row_warnings(&rows, &mut report);
    rows.sort_by_key(|row| row.date);
    let (rows, removed) = dedupe_keep_last(rows);
    if !removed.is_empty() {
        count_drop(&mut report, DropReason::DuplicateDate, removed.len());
        report.warnings.push(duplicate_warning(&removed));
    }
    if rows.is_empty() {
        return Err(no_usable_rows_error(path, &report));
    }
    let series = build_series(&rows, columns.volume.is_some());
    report.rows_used = series.len();
    Ok((series, report))
}

/// Warnings about rows that were kept but changed: volume read as 0, low/high widened.
fn add_row_warnings(rows: &[RawRow], report: &mut LoadReport) {
    let filled = rows.iter().filter(|row| row.volume_filled).count();
    if filled > 0 {
        report.warnings.push(format!("{} had no volume; volume was set to 0.", count_rows(filled)));
    }
    let widened = rows.iter().filter(|row| row.widened).count();
    if widened > 0 {
        report.warnings.push(format!(
            "{} had close outside [low, high]; low/high widened to include it.",
            count_rows(widened)
        ));
    }
}

/// Given rows sorted by date (stably, so file order within a date), keeps the last row of each
/// date. Returns the kept rows and the date of each removed row.
fn dedupe_keep_last(rows: Vec<RawRow>) -> (Vec<RawRow>, Vec<NaiveDate>) {
    let mut kept = Vec::with_capacity(rows.len());
    let mut removed = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while let Some(row) = rows.next() {
        if rows.peek().is_some_and(|next| next.date == row.date) {
            removed.push(row.date);
        } else {
            kept.push(row);
        }
    }
    (kept, removed)
}

const DUPLICATE_DATES_SHOWN: usize = 5;

/// `removed` holds one sorted date per removed row.
fn duplicate_warning(removed: &[NaiveDate]) -> String {
    let mut dates = removed.to_vec();
    dates.dedup();
    let mut shown: Vec<String> = dates.iter().take(DUPLICATE_DATES_SHOWN).map(ToString::to_string).collect();
    if dates.len() > DUPLICATE_DATES_SHOWN {
        shown.push("...".to_string());
    }
    let date_noun = if dates.len() == 1 { "date" } else { "dates" };
    format!(
        "{} repeated an earlier date ({} {date_noun}: {}); only the last row in the file for each date was kept.",
        count_rows(removed.len()),
        dates.len(),
        shown.join(", ")
    )
}

fn no_usable_rows_error(path: &Path, report: &LoadReport) -> DataError {
    let counts: Vec<String> = report.dropped.iter().map(|(reason, n)| format!("{n} {reason}")).collect();
    DataError::new(path, format!("no usable rows: all {} data rows were dropped", report.rows_read))
        .with_hint(format!(
            "rows dropped: {}; each row needs a date and positive open, high, low and close prices",
            counts.join(", ")
        ))
}

fn build_series(rows: &[RawRow], has_volume: bool) -> Series {
    Series {
        dates: rows.iter().map(|row| row.date).collect(),
        open: rows.iter().map(|row| row.open).collect(),
        high: rows.iter().map(|row| row.high).collect(),
        low: rows.iter().map(|row| row.low).collect(),
        close: rows.iter().map(|row| row.close).collect(),
        volume: has_volume.then(|| rows.iter().map(|row| row.volume.unwrap_or(0.0)).collect()),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn count_drop(report: &mut LoadReport, reason: DropReason, n: usize) {
    *report.dropped.entry(reason.as_str().to_string()).or_insert(0) += n;
}

/// "1 row" or "N rows".
fn count_rows(n: usize) -> String {
    if n == 1 {
        "1 row".to_string()
    } else {
        format!("{n} rows")
    }
}

const SHOWN_CHARS: usize = 40;

/// A cell or header as shown in a message: at most 40 characters, so that garbage stays readable.
fn shorten(text: &str) -> String {
    if text.chars().count() <= SHOWN_CHARS {
        text.to_string()
    } else {
        let head: String = text.chars().take(SHOWN_CHARS).collect();
        format!("{head}...")
    }
}

fn csv_error(path: &Path, err: &csv::Error, lines: &mut LineCounter) -> DataError {
    let error = match err.position() {
        Some(position) => DataError::at(
            path,
            lines.line_of_record(position.byte()),
            None,
            format!("cannot read the CSV: {err}"),
        ),
        None => DataError::new(path, format!("cannot read the CSV: {err}")),
    };
    error.with_hint("check that the file is a well-formed CSV")
}

/// Turns the byte offsets csv reports into 1-based physical lines. csv's own `Position::line()`
/// is one short after a CRLF and skips blank lines, and its byte offset points just past the
/// previous record's terminator, so lines are counted here from the bytes. A line ends at `\n`,
/// `\r\n` or a lone `\r`.
struct LineCounter<'a> {
    text: &'a [u8],
    /// Bytes before `offset` have been counted...
    offset: usize,
    /// ...and `offset` is on this line.
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a [u8]) -> Self {
        LineCounter { text, offset: 0, line: 1 }
    }

    /// The line on which the record that csv places at `byte` starts: past any line breaks at
    /// `byte` (the `\n` of a CRLF, blank lines).
    fn line_of_record(&mut self, byte: u64) -> u64 {
        let byte = usize::try_from(byte).unwrap_or(usize::MAX).min(self.text.len());
        let breaks = self.text.get(byte..).unwrap_or_default();
        let start = byte + breaks.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        if start < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        let ended = (self.offset..start).filter(|&i| self.ends_line(i)).count();
        self.line = self.line.saturating_add(u64::try_from(ended).unwrap_or(u64::MAX));
        self.offset = start;
        self.line
    }

    /// Whether the byte at `i` ends a line.
    fn ends_line(&self, i: usize) -> bool {
        match self.text.get(i) {
            Some(b'\n') => true,
            Some(b'\r') => self.text.get(i + 1) != Some(&b'\n'),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const HEADER: &str = "Date,Open,High,Low,Close,Volume\n";

    fn parse(bytes: &[u8]) -> Result<(Series, LoadReport), DataError> {
        parse_csv(bytes, Path::new("prices.csv"), &LoadOptions::default())
    }

    fn load(text: &str) -> (Series, LoadReport) {
        match parse(text.as_bytes()) {
            Ok(loaded) => loaded,
            Err(err) => panic!("expected the fixture to load, got: {err}"),
        }
    }

    fn fail(text: &str) -> DataError {
        match parse(text.as_bytes()) {
            Ok((series, _)) => panic!("expected an error, got {} rows", series.len()),
            Err(err) => err,
        }
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
    }

    fn line_and_column(err: &DataError) -> (u64, Option<(usize, String)>) {
        let location = err.location.clone().expect("error has a location");
        (location.line, location.column)
    }

    #[test]
    fn plain_file_loads_every_field() {
        let (series, report) =
            load("Date,Open,High,Low,Close,Volume\n2020-01-02,1,3,0.5,2,100\n2020-01-03,2,4,1.5,3,200.5\n");
        assert_eq!(series.dates, vec![date("2020-01-02"), date("2020-01-03")]);
        assert_eq!(series.open, vec![1.0, 2.0]);
        assert_eq!(series.high, vec![3.0, 4.0]);
        assert_eq!(series.low, vec![0.5, 1.5]);
        assert_eq!(series.close, vec![2.0, 3.0]);
        assert_eq!(series.volume, Some(vec![100.0, 200.5]));
        assert_eq!(report.rows_read, 2);
        assert_eq!(report.rows_used, 2);
        assert_eq!(report.delimiter, ',');
        assert_eq!(report.path, PathBuf::from("prices.csv"));
        assert!(report.dropped.is_empty());
        assert!(report.warnings.is_empty());
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let (series, report) = load("\u{FEFF}Date,Open,High,Low,Close\n2020-01-02,1,2,1,2\n");
        assert_eq!(report.columns.get("date").map(String::as_str), Some("Date"));
        assert_eq!(series.dates, vec![date("2020-01-02")]);
    }

    #[test]
    fn crlf_line_endings_load_and_errors_name_the_physical_line() {
        let (series, _) = load("Date,Open,High,Low,Close\r\n2020-01-02,1,2,1,2\r\n2020-01-03,2,3,2,3\r\n");
        assert_eq!(series.close, vec![2.0, 3.0]);
        let err = fail("Date,Open,High,Low,Close\r\n2020-01-02,1,2,1,2\r\n2020-01-03,2,x,2,3\r\n");
        assert_eq!(line_and_column(&err), (3, Some((3, "High".to_string()))));
    }

    #[test]
    fn last_row_without_trailing_newline_is_read() {
        let (series, report) = load("Date,Open,High,Low,Close\n2020-01-02,1,2,1,2\n2020-01-03,2,3,2,3");
        assert_eq!(series.close, vec![2.0, 3.0]);
        assert_eq!(report.rows_read, 2);
    }

    #[test]
    fn descending_input_is_sorted_ascending() {
        let (series, _) = load(
            "timestamp,open,high,low,close\n2020-01-03,3,3,3,3\n2020-01-02,2,2,2,2\n2020-01-01,1,1,1,1\n",
        );
        assert_eq!(series.dates, vec![date("2020-01-01"), date("2020-01-02"), date("2020-01-03")]);
        assert_eq!(series.close, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn unsorted_input_is_sorted_ascending() {
        let (series, _) =
            load("Date,Open,High,Low,Close\n2020-01-02,2,2,2,2\n2020-01-03,3,3,3,3\n2020-01-01,1,1,1,1\n");
        assert_eq!(series.close, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn duplicate_dates_keep_the_last_row_and_are_counted_and_named() {
        let (series, report) = load(
            "Date,Open,High,Low,Close\n2020-01-03,5,5,5,5\n2020-01-02,1,1,1,1\n2020-01-03,6,6,6,6\n\
             2020-01-02,2,2,2,2\n2020-01-03,7,7,7,7\n",
        );
        assert_eq!(series.dates, vec![date("2020-01-02"), date("2020-01-03")]);
        assert_eq!(series.close, vec![2.0, 7.0]);
        assert_eq!(report.dropped.get("duplicate date"), Some(&3));
        assert_eq!(report.rows_read, 5);
        assert_eq!(report.rows_used, 2);
        assert_eq!(report.warnings.len(), 1);
        let warning = &report.warnings[0];
        assert!(warning.starts_with("3 rows"), "{warning}");
        assert!(warning.contains("2020-01-02, 2020-01-03"), "{warning}");
        assert!(warning.ends_with('.'), "{warning}");
    }

    #[test]
    fn duplicate_warning_names_at_most_five_dates() {
        let mut text = String::from("Date,Open,High,Low,Close\n");
        for _ in 0..2 {
            for day in 1..=7 {
                text.push_str(&format!("2020-01-0{day},1,1,1,1\n"));
            }
        }
        let (series, report) = load(&text);
        assert_eq!(series.len(), 7);
        assert_eq!(report.dropped.get("duplicate date"), Some(&7));
        let warning = &report.warnings[0];
        assert!(warning.contains("7 dates: 2020-01-01, 2020-01-02, 2020-01-03, 2020-01-04, 2020-01-05, ..."));
        assert!(!warning.contains("2020-01-06"), "{warning}");
    }

    #[test]
    fn null_rows_are_dropped_and_counted() {
        let (series, report) = load(
            "Date,Open,High,Low,Close,Adj Close,Volume\n2020-04-16,1,2,1,2,2,10\n\
             2020-04-17,null,null,null,null,null,null\n2020-04-18,NULL,NaN,nan,-,null,-\n2020-04-19,2,3,2,3,3,20\n",
        );
        assert_eq!(series.dates, vec![date("2020-04-16"), date("2020-04-19")]);
        assert_eq!(report.dropped.get("missing price"), Some(&2));
        assert_eq!(report.rows_read, 4);
        assert_eq!(report.rows_used, 2);
        assert!(
            report.warnings.is_empty(),
            "volume of dropped rows is not warned about: {:?}",
            report.warnings
        );
    }

    #[test]
    fn empty_price_cell_drops_the_row() {
        let (series, report) = load(
            "date,open,high,low,close,volume,Name\n2015-07-16,88,89,87,88.5,100,DHR\n\
             2015-07-17,,88.76,88.24,88.72,2056819,DHR\n2016-01-12,,,,88.55,0,DHR\n",
        );
        assert_eq!(series.dates, vec![date("2015-07-16")]);
        assert_eq!(report.dropped.get("missing price"), Some(&2));
    }

    #[test]
    fn short_record_is_a_missing_price_and_missing_volume_is_zero() {
        let (series, report) =
            load(&format!("{HEADER}2020-01-02,1,2\n2020-01-03,1,2,1,2\n2020-01-06,2,3,2,3,50\n"));
        assert_eq!(report.dropped.get("missing price"), Some(&1));
        assert_eq!(series.dates, vec![date("2020-01-03"), date("2020-01-06")]);
        assert_eq!(series.volume, Some(vec![0.0, 50.0]));
        assert_eq!(report.warnings, vec!["1 row had no volume; volume was set to 0.".to_string()]);
    }

    #[test]
    fn empty_and_null_volumes_are_zero_with_one_warning() {
        let (series, report) =
            load(&format!("{HEADER}2020-01-02,1,2,1,2,\n2020-01-03,1,2,1,2,null\n2020-01-06,1,2,1,2,-\n"));
        assert_eq!(series.volume, Some(vec![0.0, 0.0, 0.0]));
        assert_eq!(report.warnings, vec!["3 rows had no volume; volume was set to 0.".to_string()]);
        assert!(report.dropped.is_empty());
    }

    #[test]
    fn extra_fields_are_ignored() {
        let (series, _) = load(&format!("{HEADER}2020-01-02,1,2,1,2,10,extra,more\n"));
        assert_eq!(series.volume, Some(vec![10.0]));
    }

    #[test]
    fn bad_number_is_an_error_at_its_line_and_column() {
        for bad in ["abc", "1.2.3", "inf", "-Infinity", "1,5"] {
            let err = fail(&format!("{HEADER}2020-01-02,1,2,1,2,10\n2020-01-03,1,2,\"{bad}\",2,10\n"));
            assert_eq!(line_and_column(&err), (3, Some((4, "Low".to_string()))), "{bad}");
            assert!(err.message.contains(bad), "{}", err.message);
            assert!(err.hint.is_some());
            assert!(err.to_string().starts_with("prices.csv:3:4 (column \"Low\"): "), "{err}");
        }
    }

    #[test]
    fn bad_number_is_an_error_even_when_the_row_would_be_dropped() {
        let err = fail(&format!("{HEADER}2020-01-02,,2,1,abc,10\n"));
        assert_eq!(line_and_column(&err), (2, Some((5, "Close".to_string()))));
    }

    #[test]
    fn bad_or_negative_volume_is_an_error() {
        let err = fail(&format!("{HEADER}2020-01-02,1,2,1,2,10\n2020-01-03,1,2,1,2,-5\n"));
        assert_eq!(line_and_column(&err), (3, Some((6, "Volume".to_string()))));
        assert!(err.message.contains("negative"), "{}", err.message);
        let err = fail(&format!("{HEADER}2020-01-02,1,2,1,2,lots\n"));
        assert_eq!(line_and_column(&err), (2, Some((6, "Volume".to_string()))));
    }

    #[test]
    fn bad_date_is_an_error_at_its_line_and_column() {
        let err = fail("Ticker,Date,Open,High,Low,Close\nX,2020-01-02,1,2,1,2\nX,3/17/1980,1,2,1,2\n");
        assert_eq!(line_and_column(&err), (3, Some((2, "Date".to_string()))));
        assert_eq!(err.message, "cannot parse date \"3/17/1980\"");
        assert!(err.hint.as_deref().is_some_and(|hint| hint.contains("ISO YYYY-MM-DD")));
        for bad in
            ["", "2020-13-01", "2020-02-30", "20200102", "2020-1-2", "2020-01-02 25:00:00", "2020-01-02X"]
        {
            let err = fail(&format!("{HEADER}{bad},1,2,1,2,10\n"));
            assert_eq!(line_and_column(&err), (2, Some((1, "Date".to_string()))), "{bad:?}");
        }
    }

    #[test]
    fn date_with_time_uses_the_date_part() {
        let (series, _) =
            load("date,open,high,low,close\n2021-06-11 00:00:00,1,1,1,1\n2021-06-10T23:59:59,1,1,1,1\n2021-06-09,1,1,1,1\n");
        assert_eq!(series.dates, vec![date("2021-06-09"), date("2021-06-10"), date("2021-06-11")]);
    }

    #[test]
    fn missing_columns_are_an_error_on_line_1_naming_them() {
        let err = fail("Date,Price,Open,High,Low,Vol.\n2020-01-02,1,2,1,2,10\n");
        assert_eq!(line_and_column(&err), (1, None));
        assert!(err.message.contains("missing required column close"), "{}", err.message);
        assert!(err.message.contains("\"Price\""), "{}", err.message);
        assert!(err.hint.is_some());
        let err = fail("Data,Otwarcie,Najwyzszy,Najnizszy,Zamkniecie\n2020-01-02,1,2,1,2\n");
        assert!(err.message.contains("columns date, open, high, low, close"), "{}", err.message);
    }

    #[test]
    fn headers_match_case_insensitively_and_unknown_columns_are_ignored() {
        let (series, report) =
            load("Name, DATE ,OPEN,HIGH,LOW,CLOSE,VOL,OpenInt\nXOM,2020-01-02,1,2,1,2,10,0\n");
        assert_eq!(series.close, vec![2.0]);
        assert_eq!(series.volume, Some(vec![10.0]));
        let expected: BTreeMap<String, String> = [
            ("date", "DATE"),
            ("open", "OPEN"),
            ("high", "HIGH"),
            ("low", "LOW"),
            ("close", "CLOSE"),
            ("volume", "VOL"),
        ]
        .iter()
        .map(|(role, name)| (role.to_string(), name.to_string()))
        .collect();
        assert_eq!(report.columns, expected);
    }

    #[test]
    fn timestamp_is_the_date_column() {
        let (series, report) =
            load("timestamp,open,high,low,close,volume\n2018-07-13,105.4,106,105,105.43,100\n");
        assert_eq!(series.dates, vec![date("2018-07-13")]);
        assert_eq!(report.columns.get("date").map(String::as_str), Some("timestamp"));
    }

    #[test]
    fn adj_close_is_recorded_but_close_is_used() {
        let (series, report) = load("Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,1,2,1.5,10\n");
        assert_eq!(series.close, vec![2.0]);
        assert_eq!(report.columns.get("adj_close").map(String::as_str), Some("Adj Close"));
        for name in ["adj_close", "ADJUSTED_CLOSE"] {
            let (_, report) = load(&format!("date,open,high,low,close,{name}\n2020-01-02,1,2,1,2,1.5\n"));
            assert_eq!(report.columns.get("adj_close"), Some(&name.to_string()));
        }
    }

    #[test]
    fn no_volume_column_gives_no_volume() {
        let (series, report) = load("Date,Open,High,Low,Close\n2020-01-02,1,2,1,2\n");
        assert_eq!(series.volume, None);
        assert!(!report.columns.contains_key("volume"));
    }

    #[test]
    fn zero_volume_is_kept_without_a_warning() {
        let (series, report) =
            load(&format!("{HEADER}2010-04-26,34.8,34.8,34.8,34.8,0\n2010-04-27,1,2,1,2,0.0\n"));
        assert_eq!(series.volume, Some(vec![0.0, 0.0]));
        assert!(report.warnings.is_empty());
    }

    #[test]
    fn non_positive_prices_are_dropped_and_counted() {
        let (series, report) =
            load(&format!("{HEADER}2020-01-02,0,2,1,2,10\n2020-01-03,1,2,-1,2,10\n2020-01-06,1,2,1,2,10\n"));
        assert_eq!(series.dates, vec![date("2020-01-06")]);
        assert_eq!(report.dropped.get("non-positive price"), Some(&2));
    }

    #[test]
    fn high_below_low_is_dropped_and_counted() {
        let (series, report) = load(&format!("{HEADER}2020-01-02,2,1,3,2,10\n2020-01-03,1,2,1,2,10\n"));
        assert_eq!(series.dates, vec![date("2020-01-03")]);
        assert_eq!(report.dropped.get("high below low"), Some(&1));
    }

    #[test]
    fn close_outside_the_bar_widens_low_and_high() {
        let (series, report) =
            load(&format!("{HEADER}2016-12-14,240,242.01,239,477,10\n2016-12-15,5,6,4,3,10\n"));
        assert_eq!(series.high, vec![477.0, 6.0]);
        assert_eq!(series.low, vec![239.0, 3.0]);
        assert_eq!(series.close, vec![477.0, 3.0]);
        assert_eq!(
            report.warnings,
            vec!["2 rows had close outside [low, high]; low/high widened to include it.".to_string()]
        );
        assert!(report.dropped.is_empty());
    }

    #[test]
    fn blank_lines_are_skipped_and_not_counted() {
        let text = "Date,Open,High,Low,Close\n\n2020-01-02,1,2,1,2\n   \n,,,,\n\r\n2020-01-03,2,3,2,3\n\n2020-01-06,x,3,2,3\n";
        let err = fail(text);
        assert_eq!(line_and_column(&err), (9, Some((2, "Open".to_string()))));
        let (series, report) = load(text.trim_end_matches("2020-01-06,x,3,2,3\n"));
        assert_eq!(series.len(), 2);
        assert_eq!(report.rows_read, 2);
    }

    #[test]
    fn quoted_field_spanning_lines_keeps_later_line_numbers_right() {
        let err = fail(
            "Name,Date,Open,High,Low,Close\n\"two\nlines\",2020-01-02,1,2,1,2\nx,2020-01-03,1,2,1,bad\n",
        );
        assert_eq!(line_and_column(&err), (4, Some((6, "Close".to_string()))));
    }

    #[test]
    fn lone_carriage_returns_end_lines() {
        let (series, _) = load("Date,Open,High,Low,Close\r2020-01-02,1,2,1,2\r2020-01-03,2,3,2,3\r");
        assert_eq!(series.len(), 2);
        let err = fail("Date,Open,High,Low,Close\r2020-01-02,1,2,1,2\r2020-01-03,2,3,2,?\r");
        assert_eq!(line_and_column(&err), (3, Some((5, "Close".to_string()))));
    }

    #[test]
    fn semicolon_and_tab_delimiters_are_detected() {
        assert_eq!(detect_delimiter(b"Date,Open,High,Low,Close\n1;2;3"), b',');
        assert_eq!(detect_delimiter(b"Date;Open;High;Low;Close\n"), b';');
        assert_eq!(detect_delimiter(b"Date\tOpen\tHigh\tLow\tClose"), b'\t');
        assert_eq!(detect_delimiter(b"\"a;b;c\",x,y\n"), b',');
        assert_eq!(detect_delimiter(b"Date"), b',');
        let (series, report) = load("Date;Open;High;Low;Close\n2020-01-02;1;2;1;2\n");
        assert_eq!(report.delimiter, ';');
        assert_eq!(series.close, vec![2.0]);
    }

    #[test]
    fn empty_file_is_an_error() {
        for text in ["", "\u{FEFF}", "\n\n", " \r\n"] {
            let err = fail(text);
            assert_eq!(err.message, "the file is empty", "{text:?}");
            assert!(err.hint.is_some());
        }
    }

    #[test]
    fn header_only_is_an_error() {
        for text in
            ["Date,Open,High,Low,Close", "Date,Open,High,Low,Close\n", "Date,Open,High,Low,Close\r\n\r\n"]
        {
            let err = fail(text);
            assert_eq!(err.message, "the file has a header but no data rows", "{text:?}");
        }
    }

    #[test]
    fn no_usable_rows_is_an_error_with_the_drop_counts() {
        let err =
            fail(&format!("{HEADER}2020-01-02,null,1,1,1,1\n2020-01-03,0,1,1,1,1\n2020-01-06,,1,1,1,1\n"));
        assert_eq!(err.location, None);
        assert!(err.message.starts_with("no usable rows"), "{}", err.message);
        let hint = err.hint.unwrap_or_default();
        assert!(hint.contains("2 missing price") && hint.contains("1 non-positive price"), "{hint}");
    }

    #[test]
    fn invalid_utf8_in_a_cell_is_an_error_at_its_line() {
        let err = match parse(b"Date,Open,High,Low,Close\n2020-01-02,1,2,1,2\n2020-01-03,\xFF\xFE,2,1,2\n") {
            Err(err) => err,
            Ok(_) => panic!("invalid UTF-8 loaded"),
        };
        assert_eq!(line_and_column(&err), (3, Some((2, "Open".to_string()))));
        assert!(err.message.contains("UTF-8"));
    }

    #[test]
    fn invalid_utf8_in_an_ignored_column_is_fine() {
        let loaded = parse(b"Name,Date,Open,High,Low,Close\nSoci\xE9t\xE9,2020-01-02,1,2,1,2\n");
        assert_eq!(loaded.map(|(series, _)| series.len()), Ok(1));
    }

    #[test]
    fn utf16_is_an_error() {
        let err = parse(b"\xFF\xFED\x00a\x00t\x00e\x00").err();
        assert_eq!(err.map(|err| err.message), Some("the file is UTF-16 encoded".to_string()));
    }

    #[test]
    fn garbage_bytes_never_panic() {
        let inputs: [&[u8]; 14] = [
            b"\x00\x01\x02\x03",
            b"\xFF\xFF\xFF\n\xC3\x28",
            b"\xEF\xBB\xBF",
            b"\xEF\xBB",
            b"\"",
            b"\"\"\"\n\"",
            b",,,,\n,,,,",
            b"\r\r\r\n\n\r",
            b"Date,Open,High,Low,Close\n\"2020-01-02,1,2,1,2\n",
            b"Date,Open,High,Low,Close\n\xE2\x82\xAC\xE2\x82,1,2,1,2\n",
            b"date,open,high,low,close\n2020-01-02\xF0\x9F\x92\xA9,1,2,1,2\n",
            b"date,open,high,low,close\n2020-01-0\xF0\x9F\x92\xA9,1,2,1,2\n",
            b"date,date,close,close,open,high,low\n2020-01-02,x,1,y,1,1,1\n",
            b"date;open\tclose,high,low\n1;2\t3,4,5\n",
        ];
        for input in inputs {
            let result = std::panic::catch_unwind(|| parse(input));
            assert!(result.is_ok(), "panicked on {input:?}");
        }
        // The first column with a role wins when a header repeats one.
        let loaded = parse(b"date,date,close,close,open,high,low\n2020-01-02,x,1,y,1,1,1\n");
        assert_eq!(loaded.map(|(series, _)| series.close), Ok(vec![1.0]));
        // A very long garbage cell is shortened in the message.
        let long = format!("{HEADER}{},1,2,1,2,1\n", "9".repeat(10_000));
        assert!(fail(&long).message.len() < 100);
    }

    #[test]
    fn load_csv_reads_a_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("prices.csv");
        std::fs::write(&path, "Date,Open,High,Low,Close,Volume\r\n2020-01-02,1,2,1,2,10\r\n")
            .expect("write fixture");
        let (series, report) = load_csv(&path, &LoadOptions::default()).expect("fixture loads");
        assert_eq!(series.close, vec![2.0]);
        assert_eq!(report.path, path);
    }

    #[test]
    fn load_csv_on_a_missing_file_names_the_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("no-such-file.csv");
        let err = load_csv(&path, &LoadOptions::default()).expect_err("missing file is an error");
        assert_eq!(err.path, path);
        assert!(err.to_string().contains("no-such-file.csv"), "{err}");
        assert!(err.message.starts_with("cannot read the file"), "{}", err.message);
    }
}
