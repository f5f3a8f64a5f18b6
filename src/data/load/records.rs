//! Step 3: the CSV records of the whole file, each with the physical line it starts on, blank
//! records left out. Files are small (megabytes), so everything is read before the header and the
//! date format are detected from it.
//!
//! The records are split as the `csv` crate splits them (comma, semicolon or tab; fields in double
//! quotes, `""` for a quote inside them; a record ends at a line break outside quotes, `\n`, `\r\n`
//! or a lone `\r`; blank lines skipped), in one pass over the text. Memory stays proportional to
//! the file and to the fields it holds: a record is where it lies in the file's text, a 4-byte
//! end offset per field and 16 bytes per record, never a copy of its bytes, except the fields of a
//! record with quotes, whose unquoted text is stored once, back to back. A record over
//! [`MAX_RECORD_BYTES`], or with more than [`MAX_FIELDS`] fields, is refused; neither is read
//! further than the limit.

use std::borrow::Cow;
use std::path::Path;

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

/// Where one record is: its 1-based line, the index of its first field's end, where its first
/// field starts, and whether its fields are in the file's text or in `Records::unquoted`.
#[derive(Debug, Clone, Copy)]
struct Start {
    line: u32,
    field: u32,
    from: u32,
    unquoted: bool,
}

/// Every non-blank record of a file. The fields of a record follow one another with one byte
/// between them (the delimiter in the text, a space in `unquoted`): a field starts one byte past
/// the end of the one before it.
#[derive(Debug, Default)]
pub(super) struct Records<'t> {
    /// The file's text, which holds the records without quotes.
    text: &'t [u8],
    /// The fields of the records with quotes, unquoted.
    unquoted: Vec<u8>,
    /// The end of each field, in `text` or in `unquoted`.
    ends: Vec<u32>,
    starts: Vec<Start>,
}

impl<'t> Records<'t> {
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Record `index` (0-based, counting non-blank records only).
    pub fn get(&self, index: usize) -> Option<Record<'_>> {
        let start = self.starts.get(index)?;
        let first = start.field as usize;
        let next = self.starts.get(index + 1).map_or(self.ends.len(), |next| next.field as usize);
        Some(Record {
            line: u64::from(start.line),
            from: start.from,
            ends: self.ends.get(first..next)?,
            bytes: if start.unquoted { &self.unquoted } else { self.text },
        })
    }

    /// The records from `index` on.
    pub fn starting_at(&self, index: usize) -> impl Iterator<Item = Record<'_>> + '_ {
        (index..self.len()).filter_map(|index| self.get(index))
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

    /// The bytes of field `index`, unquoted.
    pub fn field(&self, index: usize) -> Option<&'a [u8]> {
        let end = *self.ends.get(index)?;
        let start = match index.checked_sub(1) {
            Some(before) => self.ends.get(before)?.saturating_add(1),
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
            Ok(text) => Ok(Some(trim(text))),
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
            Some(Cow::Borrowed(text)) => Cow::Borrowed(trim(text)),
            Some(Cow::Owned(text)) => Cow::Owned(text.trim().to_string()),
            None => Cow::Borrowed(""),
        }
    }

    /// Every field, trimmed and lossily decoded.
    pub fn names(&self) -> Vec<String> {
        (0..self.len()).map(|index| self.lossy(index).into_owned()).collect()
    }
}

/// `text` without leading and trailing white space, as `str::trim` (Unicode white space); a cell
/// that starts and ends with a visible ASCII character, as most do, is returned without a scan.
pub(super) fn trim(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// Reads every non-blank record of `text` (at most `MAX_FILE_BYTES` long), within the record
/// limits.
pub(super) fn read_all<'t>(text: &'t [u8], delimiter: u8, path: &Path) -> Result<Records<'t>, DataError> {
    read_within(text, delimiter, path, Limits { bytes: MAX_RECORD_BYTES, fields: MAX_FIELDS })
}

/// The longest record and the most fields read.
#[derive(Debug, Clone, Copy)]
struct Limits {
    bytes: usize,
    fields: usize,
}

/// Why a record was not read.
enum Refusal {
    /// It is longer than the limit.
    Length,
    /// It has this many fields, more than the limit.
    Fields(usize),
    /// An offset does not fit in 32 bits, which the file size limit rules out.
    Offset,
}

/// [`read_all`] with the limits as an argument, so that tests can use small ones.
fn read_within<'t>(
    text: &'t [u8],
    delimiter: u8,
    path: &Path,
    limits: Limits,
) -> Result<Records<'t>, DataError> {
    let mut records = reserve(text, delimiter).ok_or_else(|| out_of_memory(path))?;
    let mut lines = LineCounter::default();
    let mut at = 0;
    loop {
        let start = past_line_breaks(text, at);
        if start >= text.len() {
            return Ok(records);
        }
        let line = lines.line_of(text, start);
        let read = match records.push_plain(text, start, line, delimiter, limits) {
            Ok(Some(end)) => {
                // A record without quotes holds no line break: lines are counted on from its end.
                lines.skip_to(end);
                Ok(end)
            }
            Ok(None) => records.push_quoted(text, start, line, delimiter, limits),
            Err(refusal) => Err(refusal),
        };
        at = match read {
            Ok(end) => end,
            Err(Refusal::Length) => return Err(too_long(path, line, limits.bytes)),
            Err(Refusal::Fields(n)) => return Err(too_many_fields(path, line, n, limits.fields, delimiter)),
            Err(Refusal::Offset) => return Err(super::file::too_large(path, None)),
        };
    }
}

impl Records<'_> {
    /// Stores the record at `start` when it has no double quote, the common case: its fields are
    /// split at each delimiter up to the first line break, in one pass. Its end; `None`, with
    /// nothing stored, when it has a quote.
    fn push_plain(
        &mut self,
        text: &[u8],
        start: usize,
        line: u64,
        delimiter: u8,
        limits: Limits,
    ) -> Result<Option<usize>, Refusal> {
        let first_field = self.ends.len();
        let rest = text.get(start..).unwrap_or_default();
        let mut end = text.len();
        for (at, &byte) in rest.iter().enumerate() {
            if byte == delimiter {
                if at > limits.bytes {
                    return Err(Refusal::Length);
                }
                self.ends.push(offset(start + at)?);
            } else if byte > b'"' {
                // Text: digits, letters, points, dashes, slashes (the bytes that matter are below).
            } else if is_line_break(byte) {
                end = start + at;
                break;
            } else if byte == b'"' {
                self.ends.truncate(first_field);
                return Ok(None);
            }
        }
        if end - start > limits.bytes {
            return Err(Refusal::Length);
        }
        self.ends.push(offset(end)?);
        let fields = self.ends.len() - first_field;
        if fields > limits.fields {
            return Err(Refusal::Fields(fields));
        }
        let record = text.get(start..end).unwrap_or_default();
        if record.iter().all(|&byte| byte.is_ascii_whitespace() || byte == delimiter) {
            self.ends.truncate(first_field);
            return Ok(Some(end));
        }
        self.starts.push(Start {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            field: offset(first_field)?,
            from: offset(start)?,
            unquoted: false,
        });
        Ok(Some(end))
    }

    /// Stores a record that has a double quote, read as the `csv` crate reads it: a field that
    /// starts with a quote runs to the next lone quote (`""` is a quote in it, and delimiters and
    /// line breaks are text), and what follows that quote up to the delimiter is added as written;
    /// a quote inside a field that did not start with one is text. Its end.
    fn push_quoted(
        &mut self,
        text: &[u8],
        start: usize,
        line: u64,
        delimiter: u8,
        limits: Limits,
    ) -> Result<usize, Refusal> {
        let (first_field, from) = (self.ends.len(), self.unquoted.len());
        let mut state = Quoting::FieldStart;
        let mut end = text.len();
        for (at, &byte) in text.iter().enumerate().skip(start) {
            if at - start > limits.bytes {
                return Err(Refusal::Length);
            }
            state = match (state, byte) {
                (Quoting::FieldStart, b'"') => Quoting::Quoted,
                (Quoting::Quoted, b'"') => Quoting::QuoteInQuoted,
                (Quoting::Quoted, _) => {
                    self.unquoted.push(byte);
                    Quoting::Quoted
                }
                (Quoting::QuoteInQuoted, b'"') => {
                    self.unquoted.push(b'"');
                    Quoting::Quoted
                }
                (_, byte) if byte == delimiter => {
                    self.ends.push(offset(self.unquoted.len())?);
                    self.unquoted.push(b' ');
                    Quoting::FieldStart
                }
                (_, byte) if is_line_break(byte) => {
                    end = at;
                    break;
                }
                (_, byte) => {
                    self.unquoted.push(byte);
                    Quoting::Unquoted
                }
            };
        }
        if end - start > limits.bytes {
            return Err(Refusal::Length);
        }
        self.ends.push(offset(self.unquoted.len())?);
        let fields = self.ends.len() - first_field;
        if fields > limits.fields {
            return Err(Refusal::Fields(fields));
        }
        // The fields and the spaces between them: all white space when every field is.
        if self.unquoted.get(from..).unwrap_or_default().iter().all(u8::is_ascii_whitespace) {
            self.ends.truncate(first_field);
            self.unquoted.truncate(from);
            return Ok(end);
        }
        self.starts.push(Start {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            field: offset(first_field)?,
            from: offset(from)?,
            unquoted: true,
        });
        Ok(end)
    }
}

/// Where the reading of a record with quotes is.
#[derive(Debug, Clone, Copy)]
enum Quoting {
    /// At the start of a field.
    FieldStart,
    /// In a field that did not start with a quote, or past the closing quote of one that did.
    Unquoted,
    /// Inside quotes.
    Quoted,
    /// Inside quotes, just past a quote: the closing one, or the first of `""`.
    QuoteInQuoted,
}

/// `value` as a 32-bit offset; the file size limit keeps every offset within.
fn offset(value: usize) -> Result<u32, Refusal> {
    u32::try_from(value).map_err(|_| Refusal::Offset)
}

fn is_line_break(byte: u8) -> bool {
    byte == b'\n' || byte == b'\r'
}

/// Empty [`Records`] over `text` with room for every record reserved (the count of delimiters
/// and line breaks bounds the fields). Pages reserved and never written take no memory.
fn reserve(text: &[u8], delimiter: u8) -> Option<Records<'_>> {
    let breaks = count(text, is_line_break);
    let delimiters = count(text, |byte| byte == delimiter);
    let mut records = Records { text, ..Records::default() };
    records.ends.try_reserve_exact(delimiters.checked_add(breaks)?.checked_add(1)?).ok()?;
    records.starts.try_reserve_exact(breaks.checked_add(1)?).ok()?;
    Some(records)
}

/// How many bytes of `text` are `wanted`: counted in blocks of 255 bytes, so that the compiler
/// counts many bytes at once in one-byte lanes.
fn count(text: &[u8], wanted: impl Fn(u8) -> bool) -> usize {
    let block = |bytes: &[u8]| bytes.iter().fold(0u8, |n, &byte| n + u8::from(wanted(byte)));
    text.chunks(255).map(|bytes| usize::from(block(bytes))).sum()
}

/// The first offset at or after `at` that is not a line break: where the next record starts.
fn past_line_breaks(text: &[u8], at: usize) -> usize {
    let rest = text.get(at..).unwrap_or_default();
    at + rest.iter().take_while(|&&b| is_line_break(b)).count()
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

/// Counts physical lines up to each record's start. A line ends at `\n`, `\r\n` or a lone `\r`.
#[derive(Debug)]
struct LineCounter {
    /// Bytes before `offset` have been counted...
    offset: usize,
    /// ...and `offset` is on this line.
    line: u64,
}

impl Default for LineCounter {
    fn default() -> Self {
        LineCounter { offset: 0, line: 1 }
    }
}

impl LineCounter {
    /// The line of the byte at `at` (at or after the bytes counted so far).
    fn line_of(&mut self, text: &[u8], at: usize) -> u64 {
        let ended = (self.offset..at).filter(|&i| ends_line(text, i)).count();
        self.line = self.line.saturating_add(u64::try_from(ended).unwrap_or(u64::MAX));
        self.offset = self.offset.max(at);
        self.line
    }

    /// Moves on to `at` without counting: the bytes before it end no line.
    fn skip_to(&mut self, at: usize) {
        self.offset = self.offset.max(at);
    }
}

/// Whether the byte at `i` ends a line.
fn ends_line(text: &[u8], i: usize) -> bool {
    match text.get(i) {
        Some(b'\n') => true,
        Some(b'\r') => text.get(i + 1) != Some(&b'\n'),
        _ => false,
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
        let limits = Limits { bytes: 8, fields: 3 };
        let records =
            read_within(text.as_bytes(), b',', Path::new("x.csv"), limits).map_err(|e| e.to_string())?;
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

    /// The records as the `csv` crate reads them (flexible, no header), blank ones left out, each
    /// with the line it starts on: what `read_all` must give.
    fn csv_records(text: &[u8], delimiter: u8) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(text);
        let mut record = csv::ByteRecord::new();
        let mut records = Vec::new();
        let mut next = 0;
        while reader.read_byte_record(&mut record).unwrap_or(false) {
            let start = past_line_breaks(text, next);
            next = usize::try_from(reader.position().byte()).unwrap_or(usize::MAX);
            if !record.iter().all(|field| field.iter().all(u8::is_ascii_whitespace)) {
                let line = 1 + (0..start).filter(|&i| ends_line(text, i)).count() as u64;
                records.push((line, record.iter().map(<[u8]>::to_vec).collect()));
            }
        }
        records
    }

    fn our_records(text: &[u8], delimiter: u8) -> Vec<(u64, Vec<Vec<u8>>)> {
        let records = read_all(text, delimiter, Path::new("x.csv")).map_err(|e| e.to_string());
        let records = records.unwrap_or_else(|err| panic!("{text:?}: {err}"));
        let fields = |record: Record| {
            (0..record.len()).map(|i| record.field(i).unwrap_or_default().to_vec()).collect()
        };
        records.starting_at(0).map(|record| (record.line, fields(record))).collect()
    }

    #[test]
    fn records_split_as_the_csv_crate_splits_them() {
        let alphabet = b"ab ,;\t\"\"\r\n\n\xC3";
        // xorshift: random texts of the bytes that matter to a CSV, the same on every run.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let text: Vec<u8> =
                (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            for delimiter in [b',', b';', b'\t'] {
                assert_eq!(our_records(&text, delimiter), csv_records(&text, delimiter), "{text:?}");
            }
        }
    }
}
