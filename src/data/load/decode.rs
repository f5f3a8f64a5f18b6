//! Steps 1 and 2: the bytes as text (a UTF-8 byte-order mark stripped, UTF-16 refused) and the
//! field delimiter (comma, semicolon or tab, detected from the header line).

use std::path::Path;

use crate::error::DataError;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Strips a UTF-8 byte-order mark. Cells are checked for valid UTF-8 one by one as they are read,
/// so that an error can name the line; UTF-16 is refused here as a whole.
pub(super) fn decode<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a [u8], DataError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(DataError::new(path, "the file is UTF-16 encoded")
            .with_hint("save it as UTF-8 (or plain ASCII) CSV"));
    }
    Ok(bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes))
}

const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// Lines looked at for a delimiter: a banner line above the header has none.
const LINES_TO_SCAN: usize = 5;

/// Picks the delimiter that occurs most often (outside quotes) in the first non-blank line that has
/// any of them, normally the header; comma on a tie or when no line has one.
pub(super) fn detect_delimiter(text: &[u8]) -> u8 {
    text.split(|&b| b == b'\n' || b == b'\r')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .take(LINES_TO_SCAN)
        .map(count_delimiters)
        .find(|counts| counts.iter().any(|&count| count > 0))
        .map_or(b',', |counts| most_frequent(&counts))
}

/// How often each of [`DELIMITERS`] occurs outside double quotes in `line`.
fn count_delimiters(line: &[u8]) -> [usize; DELIMITERS.len()] {
    let mut counts = [0usize; DELIMITERS.len()];
    let mut in_quotes = false;
    for &byte in line {
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
    counts
}

/// The delimiter with the highest count; the earlier one (comma first) on a tie.
fn most_frequent(counts: &[usize; DELIMITERS.len()]) -> u8 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_decides_the_delimiter() {
        assert_eq!(detect_delimiter(b"Date,Open,High,Low,Close\n1;2;3"), b',');
        assert_eq!(detect_delimiter(b"Date;Open;High;Low;Close\n"), b';');
        assert_eq!(detect_delimiter(b"Date\tOpen\tHigh\tLow\tClose"), b'\t');
        assert_eq!(detect_delimiter(b"\"a;b;c\",x,y\n"), b',');
        assert_eq!(detect_delimiter(b"Date"), b',');
        assert_eq!(detect_delimiter(b""), b',');
    }

    #[test]
    fn a_banner_line_without_delimiters_is_passed_over() {
        assert_eq!(detect_delimiter(b"https://www.example.com\r\nDate;Open;High;Low;Close\r\n"), b';');
    }

    #[test]
    fn bom_is_stripped_and_utf16_refused() {
        assert_eq!(decode(b"\xEF\xBB\xBFDate", Path::new("x")).ok(), Some(&b"Date"[..]));
        assert!(decode(b"\xFF\xFED\x00", Path::new("x")).is_err());
        assert!(decode(b"\xFE\xFF\x00D", Path::new("x")).is_err());
    }
}
