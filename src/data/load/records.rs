//! Step 3: the CSV records of the whole file, each with the physical line it starts on, blank
//! records left out. Files are small (megabytes), so everything is read before the header and the
//! date format are detected from it.

use std::borrow::Cow;
use std::path::Path;

use csv::{ByteRecord, ReaderBuilder};

use crate::error::DataError;

/// One column of the records: its 0-based index and its header as written (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Column {
    pub index: usize,
    pub name: String,
}

impl Column {
    /// The 1-based index and name, as `DataError::at` takes them.
    pub fn location(&self) -> Option<(usize, &str)> {
        Some((self.index + 1, self.name.as_str()))
    }
}

/// One record as the csv crate split it, and the 1-based line it starts on.
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub line: u64,
    pub fields: ByteRecord,
}

impl Record {
    /// The trimmed text of `column`; `None` when the record is too short to have it, an error when
    /// the cell is not UTF-8.
    pub fn cell(&self, column: &Column, path: &Path) -> Result<Option<&str>, DataError> {
        let Some(bytes) = self.fields.get(column.index) else {
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
    pub fn lossy(&self, index: usize) -> Cow<'_, str> {
        match self.fields.get(index).map(String::from_utf8_lossy) {
            Some(Cow::Borrowed(text)) => Cow::Borrowed(text.trim()),
            Some(Cow::Owned(text)) => Cow::Owned(text.trim().to_string()),
            None => Cow::Borrowed(""),
        }
    }

    /// Every field, trimmed and lossily decoded.
    pub fn names(&self) -> Vec<String> {
        (0..self.fields.len()).map(|index| self.lossy(index).into_owned()).collect()
    }
}

/// Reads every non-blank record of `text`.
pub(super) fn read_all(text: &[u8], delimiter: u8, path: &Path) -> Result<Vec<Record>, DataError> {
    let mut reader =
        ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(false).from_reader(text);
    let mut lines = LineCounter::new(text);
    let mut records = Vec::new();
    let mut fields = ByteRecord::new();
    while reader.read_byte_record(&mut fields).map_err(|err| csv_error(path, &err, &mut lines))? {
        if is_blank(&fields) {
            continue;
        }
        let line = fields.position().map_or(0, |position| lines.line_of_record(position.byte()));
        records.push(Record { line, fields: fields.clone() });
    }
    Ok(records)
}

/// A record whose cells are all empty or white space, such as `,,,,` or a line of spaces.
fn is_blank(record: &ByteRecord) -> bool {
    record.iter().all(|field| field.iter().all(u8::is_ascii_whitespace))
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

    fn lines(text: &str) -> Vec<u64> {
        match read_all(text.as_bytes(), b',', Path::new("x.csv")) {
            Ok(records) => records.iter().map(|record| record.line).collect(),
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
}
