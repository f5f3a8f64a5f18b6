//! Step 3: the CSV records of the whole file, each with the physical line it starts on, blank
//! records left out. Files are small (megabytes), so everything is read before the header and the
//! date format are detected from it.
//!
//! Memory stays proportional to the file: the records are stored flat, every field's bytes back
//! to back in one buffer with a 4-byte end offset per field and 8 bytes per record, never as one
//! `csv::ByteRecord` per row (a `ByteRecord` keeps buffers as large as the widest record read
//! before it, so one wide row made every later row as wide). The csv reader's input is cut off
//! [`MAX_RECORD_BYTES`] past the start of each record, so that even the record being read is
//! bounded; a record past that, or with more than [`MAX_FIELDS`] fields, is refused.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use csv::{ByteRecord, ReaderBuilder};

use super::show::excerpt;
use crate::error::DataError;

/// The longest record read, in bytes (256 KiB): a row of daily prices is under a hundred bytes,
/// and yfinance's header of several hundred tickers side by side is tens of kilobytes.
pub const MAX_RECORD_BYTES: usize = 256 * 1024;

/// The most fields a record may have: a price file has a handful of columns; yfinance's layout
/// of several hundred tickers side by side has five or six per ticker.
pub const MAX_FIELDS: usize = 4096;

/// One column of the records: its 0-based index and its header as written (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Column {
    pub index: usize,
    pub name: String,
    /// The name as messages show it (see `show::excerpt`).
    label: String,
}

impl Column {
    pub fn new(index: usize, name: &str) -> Column {
        Column { index, name: name.to_string(), label: excerpt(name) }
    }

    /// The header name as messages and the report show it: cut short, non-printables escaped.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The 1-based index and name, as `DataError::at` takes them.
    pub fn location(&self) -> Option<(usize, &str)> {
        Some((self.index + 1, self.label.as_str()))
    }
}

/// Where one record starts: its 1-based line, and the index of its first field's end.
#[derive(Debug, Clone, Copy)]
struct Start {
    line: u32,
    field: u32,
}

/// Every non-blank record of a file, stored flat.
#[derive(Debug, Default)]
pub(super) struct Records {
    /// The bytes of every field of every record, back to back.
    bytes: Vec<u8>,
    /// The end (in `bytes`) of each field; a field starts where the one before it ends.
    ends: Vec<u32>,
    starts: Vec<Start>,
}

impl Records {
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Record `index` (0-based, counting non-blank records only).
    pub fn get(&self, index: usize) -> Option<Record<'_>> {
        let start = self.starts.get(index)?;
        let first = start.field as usize;
        let next = self.starts.get(index + 1).map_or(self.ends.len(), |next| next.field as usize);
        let from = match first.checked_sub(1) {
            Some(before) => *self.ends.get(before)?,
            None => 0,
        };
        Some(Record {
            line: u64::from(start.line),
            from,
            ends: self.ends.get(first..next)?,
            bytes: &self.bytes,
        })
    }

    /// The records from `index` on.
    pub fn starting_at(&self, index: usize) -> impl Iterator<Item = Record<'_>> + '_ {
        (index..self.len()).filter_map(|index| self.get(index))
    }

    /// Appends `fields`, a record that starts on `line`. `None` when an offset does not fit in 32
    /// bits, which the file size limit rules out.
    fn push(&mut self, line: u64, fields: &ByteRecord) -> Option<()> {
        let field = u32::try_from(self.ends.len()).ok()?;
        self.starts.push(Start { line: u32::try_from(line).unwrap_or(u32::MAX), field });
        for value in fields {
            self.bytes.extend_from_slice(value);
            self.ends.push(u32::try_from(self.bytes.len()).ok()?);
        }
        Some(())
    }
}

/// One record of a [`Records`], and the 1-based line it starts on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Record<'a> {
    pub line: u64,
    /// Where the first field starts in `bytes`.
    from: u32,
    /// The end of each field in `bytes`.
    ends: &'a [u32],
    bytes: &'a [u8],
}

impl<'a> Record<'a> {
    /// How many fields the record has.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of field `index`, as the csv reader unquoted them.
    pub fn field(&self, index: usize) -> Option<&'a [u8]> {
        let end = *self.ends.get(index)?;
        let start = match index.checked_sub(1) {
            Some(before) => *self.ends.get(before)?,
            None => self.from,
        };
        self.bytes.get(start as usize..end as usize)
    }

    /// The trimmed text of `column`; `None` when the record is too short to have it, an error when
    /// the cell is not UTF-8.
    pub fn cell(&self, column: &Column, path: &Path) -> Result<Option<&'a str>, DataError> {
        let Some(bytes) = self.field(column.index) else {
            return Ok(None);
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Some(text.trim())),
            Err(_) => {
                Err(DataError::at(path, self.line, column.location(), "the cell is not valid UTF-8 text")
                    .with_hint("save the file as UTF-8 (or plain ASCII) CSV"))
            }
        }
    }

    /// The trimmed text of field `index` (empty when missing), invalid UTF-8 replaced: for cells
    /// that only identify something, such as a ticker or a header name.
    pub fn lossy(&self, index: usize) -> Cow<'a, str> {
        match self.field(index).map(String::from_utf8_lossy) {
            Some(Cow::Borrowed(text)) => Cow::Borrowed(text.trim()),
            Some(Cow::Owned(text)) => Cow::Owned(text.trim().to_string()),
            None => Cow::Borrowed(""),
        }
    }

    /// Every field, trimmed and lossily decoded.
    pub fn names(&self) -> Vec<String> {
        (0..self.len()).map(|index| self.lossy(index).into_owned()).collect()
    }
}

/// Reads every non-blank record of `text` (at most `MAX_FILE_BYTES` long), within the record
/// limits.
pub(super) fn read_all(text: &[u8], delimiter: u8, path: &Path) -> Result<Records, DataError> {
    read_within(text, delimiter, path, MAX_RECORD_BYTES, MAX_FIELDS)
}

/// [`read_all`] with the limits as arguments, so that tests can use small ones.
fn read_within(
    text: &[u8],
    delimiter: u8,
    path: &Path,
    max_bytes: usize,
    max_fields: usize,
) -> Result<Records, DataError> {
    let budget = Rc::new(Budget::default());
    let input = Capped { text, at: 0, budget: Rc::clone(&budget) };
    let mut reader =
        ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(false).from_reader(input);
    let mut lines = LineCounter::new(text);
    let mut records = reserve(text, delimiter).ok_or_else(|| out_of_memory(path))?;
    let mut fields = ByteRecord::new();
    let mut next = 0;
    loop {
        next = past_line_breaks(text, next);
        // Room for the record, and a CRLF after it.
        budget.limit.set(next.saturating_add(max_bytes).saturating_add(2));
        match reader.read_byte_record(&mut fields) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) if budget.hit.get() => return Err(too_long(path, lines.line_of(next), max_bytes)),
            Err(err) => return Err(csv_error(path, &err, &mut lines)),
        }
        let end = usize::try_from(reader.position().byte()).unwrap_or(usize::MAX);
        let line = lines.line_of(next);
        if record_length(text, next, end) > max_bytes {
            return Err(too_long(path, line, max_bytes));
        }
        if fields.len() > max_fields {
            return Err(too_many_fields(path, line, fields.len(), max_fields, delimiter));
        }
        next = end;
        if !is_blank(&fields) {
            records.push(line, &fields).ok_or_else(|| super::file::too_large(path, None))?;
        }
    }
    Ok(records)
}

/// Empty [`Records`] with room for every record of `text` reserved (the count of delimiters and
/// line breaks bounds the fields). Pages reserved and never written take no memory.
fn reserve(text: &[u8], delimiter: u8) -> Option<Records> {
    let breaks = text.iter().filter(|&&b| b == b'\n' || b == b'\r').count();
    let delimiters = text.iter().filter(|&&b| b == delimiter).count();
    let mut records = Records::default();
    records.bytes.try_reserve_exact(text.len()).ok()?;
    records.ends.try_reserve_exact(delimiters.checked_add(breaks)?.checked_add(1)?).ok()?;
    records.starts.try_reserve_exact(breaks.checked_add(1)?).ok()?;
    Some(records)
}

/// The first offset at or after `at` that is not a line break: where csv's next record starts.
fn past_line_breaks(text: &[u8], at: usize) -> usize {
    let rest = text.get(at..).unwrap_or_default();
    at + rest.iter().take_while(|&&b| b == b'\n' || b == b'\r').count()
}

/// The length of the record csv read from `start` to `end`, without its line break.
fn record_length(text: &[u8], start: usize, end: usize) -> usize {
    let read = text.get(start..end).unwrap_or_default();
    let breaks = read.iter().rev().take(2).take_while(|&&b| b == b'\n' || b == b'\r').count();
    read.len() - breaks
}

/// How far the csv reader may read: set before each record, [`Capped`] stops there.
#[derive(Debug, Default)]
struct Budget {
    limit: Cell<usize>,
    /// The reader asked for bytes past the limit.
    hit: Cell<bool>,
}

/// The file's text as the csv reader reads it: an error instead of bytes past the budget's limit,
/// so that one record never grows the reader's buffers past the limit.
struct Capped<'a> {
    text: &'a [u8],
    at: usize,
    budget: Rc<Budget>,
}

impl Read for Capped<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = self.text.get(self.at..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(0);
        }
        let allowed = self.budget.limit.get().saturating_sub(self.at);
        if allowed == 0 {
            self.budget.hit.set(true);
            return Err(std::io::Error::other("record too long"));
        }
        let n = buf.len().min(rest.len()).min(allowed);
        if let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) {
            to.copy_from_slice(from);
        }
        self.at += n;
        Ok(n)
    }
}

/// A record whose cells are all empty or white space, such as `,,,,` or a line of spaces.
fn is_blank(record: &ByteRecord) -> bool {
    record.iter().all(|field| field.iter().all(u8::is_ascii_whitespace))
}

fn too_long(path: &Path, line: u64, max_bytes: usize) -> DataError {
    DataError::at(path, line, None, format!("the record is longer than {max_bytes} bytes, the limit"))
        .with_hint(
            "a row of daily prices is under a hundred bytes: check that this is a price CSV, and that its \
             quotes are balanced (a quote left open runs on to the end of the file)",
        )
}

fn too_many_fields(path: &Path, line: u64, fields: usize, max_fields: usize, delimiter: u8) -> DataError {
    DataError::at(path, line, None, format!("the line has {fields} fields; the limit is {max_fields}"))
        .with_hint(format!(
            "a price file has a handful of columns (fields were split at {:?}); check that this is a price \
             CSV, or pass --delimiter",
            char::from(delimiter)
        ))
}

fn out_of_memory(path: &Path) -> DataError {
    DataError::new(path, "not enough memory to read the file")
        .with_hint("free some memory, or use a smaller file")
}

fn csv_error(path: &Path, err: &csv::Error, lines: &mut LineCounter) -> DataError {
    let error = match err.position() {
        Some(position) => DataError::at(
            path,
            lines.line_of(usize::try_from(position.byte()).unwrap_or(usize::MAX)),
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
    fn line_of(&mut self, byte: usize) -> u64 {
        let byte = byte.min(self.text.len());
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

    fn lines(text: &str) -> Vec<u64> {
        match read_all(text.as_bytes(), b',', Path::new("x.csv")) {
            Ok(records) => records.starting_at(0).map(|record| record.line).collect(),
            Err(err) => panic!("{err}"),
        }
    }

    #[test]
    fn records_know_their_physical_lines() {
        assert_eq!(lines("a,b\n1,2\n3,4"), vec![1, 2, 3]);
        assert_eq!(lines("\n\na,b\r\n\r\n1,2\r\n,,\n3,4\n"), vec![3, 5, 7]);
        assert_eq!(lines("a\r1\r\r2\r"), vec![1, 2, 4]);
        assert_eq!(lines("\"x\ny\",1\n2,3\n"), vec![1, 3]);
    }

    fn read_small(text: &str) -> Result<Vec<Vec<String>>, String> {
        let records =
            read_within(text.as_bytes(), b',', Path::new("x.csv"), 8, 3).map_err(|e| e.to_string())?;
        Ok(records.starting_at(0).map(|record| record.names()).collect())
    }

    #[test]
    fn records_up_to_the_limits_are_read() {
        let expected =
            vec![vec!["abc".to_string(), "def".to_string()], vec!["1".to_string(), "2".to_string()]];
        for text in
            ["abc,def\n1,2\n", "abc,def\r\n1,2\r\n", "abc,def\r1,2", "abc,def\n\n\n\n\n\n\n\n\n\n\n\n1,2"]
        {
            assert_eq!(read_small(text), Ok(expected.clone()), "{text:?}");
        }
        assert_eq!(read_small("\"a,b\",c\n"), Ok(vec![vec!["a,b".to_string(), "c".to_string()]]));
        assert_eq!(read_small("a,b,c\n,,\n1\n").map(|records| records.len()), Ok(2));
    }

    #[test]
    fn a_record_past_the_byte_limit_is_refused_at_its_line() {
        for (text, line) in [("abcdefghi\n", 1), ("a,b\n\r\n123456789,1\n", 3), ("a\n\"1\n2\n3\n4\n5\n", 2)] {
            let err = read_small(text).err().unwrap_or_default();
            assert!(
                err.starts_with(&format!("x.csv:{line}: the record is longer than 8 bytes")),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn a_record_with_too_many_fields_is_refused_at_its_line() {
        let err = read_small("a,b\n1,2,3,4\n").err().unwrap_or_default();
        assert!(err.starts_with("x.csv:2: the line has 4 fields; the limit is 3"), "{err}");
        let err = read_small(",,,\n").err().unwrap_or_default();
        assert!(err.contains("the line has 4 fields"), "{err}");
    }

    #[test]
    fn wide_rows_do_not_make_later_rows_wide() {
        let mut text = format!("{}\n", ",x".repeat(MAX_FIELDS / 2));
        for _ in 0..1000 {
            text.push_str("1,2\n");
        }
        let records = read_all(text.as_bytes(), b',', Path::new("x.csv")).map_err(|e| e.to_string());
        let records = records.unwrap_or_default();
        assert_eq!(records.len(), 1001);
        // 4 bytes an end offset and 8 a record start: nothing proportional to the widest row.
        assert!(records.ends.len() <= MAX_FIELDS / 2 + 1 + 2000, "{}", records.ends.len());
    }
}
