//! Step 6: the date format, decided from the whole date column before any row is read.
//!
//! Every known format is tried on every date; the first (in [`candidates`] order) that reads them
//! all wins. Month-first and day-first are told apart by the data: a field above 12 settles it, and
//! when every date reads both ways the file is refused with a hint to pass `--date-format`. Two
//! formats stitched together in one file are accepted when they are two forms of the same family
//! (ISO dates with and without a time, epoch seconds and milliseconds), with a warning.
//!
//! Years are read when they are written with four digits, 1000 to 9999: histories start as early
//! as their data does (index histories go back to 1789), but chrono's `%Y` also reads `00`, `-5`
//! and `+123456`, and `05/01/00` must fail `%d/%m/%Y` so that `%d/%m/%y` reads it as 2000. Epoch
//! numbers are read only with 9 or 10 digits of seconds or 12 or 13 of milliseconds (1973 to
//! 2286), and `YYYYMMDD` only with exactly 8 digits, so no other number is taken for a date.
//!
//! `--date-format` takes a chrono strftime format (`%d/%m/%Y`), or `unix` / `unix-ms`.

use std::fmt;
use std::path::Path;
use std::sync::LazyLock;

use chrono::format::{parse, Item, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, NaiveDate};

use super::records::Column;
use super::show::{count_noun, excerpt};
use super::ticker::Selection;
use crate::error::DataError;

/// One way of writing a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DateFormat {
    /// `2024-01-31`
    IsoDate,
    /// `2024-01-31 16:00:00`, `2024-01-31T16:00`, optionally with a `Z` or `+01:00` offset (the
    /// date is taken as written).
    IsoDateTime,
    /// `20240131`
    Compact,
    /// Seconds since 1970 (UTC), possibly with a fraction: `1513555200.0`.
    UnixSeconds,
    /// Milliseconds since 1970 (UTC): `1643673600000`.
    UnixMillis,
    /// A chrono strftime pattern; a trailing time of day (`1/2/2004 16:00`) is ignored.
    Pattern(Pattern),
}

/// A chrono strftime pattern as written, and read by chrono once rather than for every date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    text: String,
    /// `None` when chrono cannot read the pattern: it then reads no date.
    items: Option<Vec<Item<'static>>>,
}

impl Pattern {
    pub fn new(text: &str) -> Pattern {
        Pattern { text: text.to_string(), items: StrftimeItems::new(text).parse_to_owned().ok() }
    }

    /// The date `text` holds, read as `NaiveDate::parse_from_str` reads it.
    fn parse(&self, text: &str) -> Option<NaiveDate> {
        let mut parsed = Parsed::new();
        parse(&mut parsed, text, self.items.as_ref()?.iter()).ok()?;
        parsed.to_naive_date().ok()
    }
}

impl fmt::Display for DateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateFormat::IsoDate => f.write_str("%Y-%m-%d"),
            DateFormat::IsoDateTime => f.write_str("%Y-%m-%d %H:%M:%S"),
            DateFormat::Compact => f.write_str("%Y%m%d"),
            DateFormat::UnixSeconds => f.write_str("unix"),
            DateFormat::UnixMillis => f.write_str("unix-ms"),
            DateFormat::Pattern(pattern) => f.write_str(&pattern.text),
        }
    }
}

/// The strftime patterns tried after the fixed formats, in order.
const PATTERNS: [&str; 17] = [
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m/%d/%y",
    "%d/%m/%y",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%d.%m.%y",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%d-%b-%y",
    "%d-%b-%Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d %Y",
    "%Y.%m.%d",
];

/// Every format detection tries, best first.
fn candidates() -> Vec<DateFormat> {
    let fixed = [
        DateFormat::IsoDate,
        DateFormat::IsoDateTime,
        DateFormat::Compact,
        DateFormat::UnixSeconds,
        DateFormat::UnixMillis,
    ];
    let patterns = PATTERNS.iter().map(|p| DateFormat::Pattern(Pattern::new(p)));
    fixed.into_iter().chain(patterns).collect()
}

/// Pairs of formats that may be stitched together in one column.
fn stitches() -> [(DateFormat, DateFormat); 2] {
    [(DateFormat::IsoDateTime, DateFormat::IsoDate), (DateFormat::UnixMillis, DateFormat::UnixSeconds)]
}

/// Examples for the hint when no format fits.
const KNOWN_FORMATS: &str = "2024-01-31, 2024-01-31 16:00:00, 20240131, unix seconds or milliseconds, \
     1/31/2024, 31/01/2024, 31/01/24, 31.01.2024, 31-Jan-24, Jan 31, 2024";

/// The first and last year read: four-digit years (see the module documentation).
const FIRST_YEAR: i32 = 1000;
const LAST_YEAR: i32 = 9999;

impl DateFormat {
    /// The format `--date-format` names.
    pub fn from_flag(flag: &str) -> DateFormat {
        match flag.trim() {
            "unix" => DateFormat::UnixSeconds,
            "unix-ms" => DateFormat::UnixMillis,
            pattern => DateFormat::Pattern(Pattern::new(pattern)),
        }
    }

    /// The date `text` holds in this format, if its year has four digits.
    pub fn parse(&self, text: &str) -> Option<NaiveDate> {
        let date = match self {
            DateFormat::IsoDate => parse_iso_date(text),
            DateFormat::IsoDateTime => parse_iso_date_time(text),
            DateFormat::Compact => parse_compact(text),
            DateFormat::UnixSeconds => parse_epoch(text, 1e8, 1e10, 1.0),
            DateFormat::UnixMillis => parse_epoch(text, 1e11, 1e13, 1000.0),
            DateFormat::Pattern(pattern) => parse_pattern(text, pattern),
        }?;
        (FIRST_YEAR..=LAST_YEAR).contains(&date.year()).then_some(date)
    }

    /// The same pattern with day and month swapped, when it has both.
    fn twin(&self) -> Option<DateFormat> {
        let DateFormat::Pattern(Pattern { text: pattern, .. }) = self else { return None };
        if !(pattern.contains("%d") && pattern.contains("%m")) {
            return None;
        }
        let swapped = pattern.replace("%d", "\u{1}").replace("%m", "%d").replace('\u{1}', "%m");
        Some(DateFormat::Pattern(Pattern::new(&swapped)))
    }
}

/// `DDDD-DD-DD` with ASCII digits, a real date.
fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shape = bytes.len() == 10
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() });
    if !shape {
        return None;
    }
    ymd(bytes.get(..4)?, bytes.get(5..7)?, bytes.get(8..)?)
}

/// The date of year, month and day written in ASCII digits (already checked to be digits).
fn ymd(year: &[u8], month: &[u8], day: &[u8]) -> Option<NaiveDate> {
    let number = |digits: &[u8]| digits.iter().fold(0u32, |n, &b| n * 10 + u32::from(b.wrapping_sub(b'0')));
    NaiveDate::from_ymd_opt(i32::try_from(number(year)).ok()?, number(month), number(day))
}

/// An ISO date, `T` or a space, and a time of day.
fn parse_iso_date_time(text: &str) -> Option<NaiveDate> {
    let (day, rest) = text.split_at_checked(10)?;
    let time = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('T'))?;
    is_time(time).then(|| parse_iso_date(day)).flatten()
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fff`, then optionally `Z`, ` UTC` or an offset `+01:00`.
fn is_time(text: &str) -> bool {
    let text = text.trim();
    let text = text.strip_suffix('Z').or_else(|| text.strip_suffix(" UTC")).unwrap_or(text);
    let text = match text.char_indices().rev().find(|(_, c)| *c == '+' || *c == '-') {
        Some((at, _)) if at > 0 && is_offset(&text[at + 1..]) => &text[..at],
        _ => text,
    };
    TIMES.iter().any(|items| {
        let mut parsed = Parsed::new();
        parse(&mut parsed, text, items.iter()).is_ok() && parsed.to_naive_time().is_ok()
    })
}

/// The times of day [`is_time`] reads, `%H:%M:%S%.f` and `%H:%M`, read by chrono once.
static TIMES: LazyLock<Vec<Vec<Item<'static>>>> = LazyLock::new(|| {
    ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .filter_map(|format| StrftimeItems::new(format).parse_to_owned().ok())
        .collect()
});

/// `01:00` or `0100`.
fn is_offset(text: &str) -> bool {
    let digits: String = text.chars().filter(|c| *c != ':').collect();
    digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Eight digits, `YYYYMMDD`.
fn parse_compact(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 8 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    ymd(bytes.get(..4)?, bytes.get(4..6)?, bytes.get(6..)?)
}

/// A plain decimal number in [`low`, `high`), in units of 1/`per_second` seconds since 1970.
fn parse_epoch(text: &str, low: f64, high: f64, per_second: f64) -> Option<NaiveDate> {
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|&b| b == b'.').count() <= 1;
    if !plain {
        return None;
    }
    let value = text.parse::<f64>().ok().filter(|value| (low..high).contains(value))?;
    let seconds = (value / per_second).floor();
    // In range by construction: below 1e10 seconds.
    DateTime::from_timestamp(seconds as i64, 0).map(|moment| moment.date_naive())
}

/// A strftime pattern, with any trailing time of day ignored.
fn parse_pattern(text: &str, pattern: &Pattern) -> Option<NaiveDate> {
    pattern.parse(text).or_else(|| without_time(text).and_then(|date| pattern.parse(date)))
}

/// `1/2/2004 16:00` → `1/2/2004`; `1/2/2004 4:00 PM` → `1/2/2004`.
fn without_time(text: &str) -> Option<&str> {
    let trimmed = text.trim_end();
    let upper = trimmed.to_ascii_uppercase();
    let trimmed = if upper.ends_with("AM") || upper.ends_with("PM") {
        trimmed.get(..trimmed.len() - 2)?.trim_end()
    } else {
        trimmed
    };
    let (date, time) = trimmed.rsplit_once([' ', 'T'])?;
    is_time(time).then_some(date.trim_end())
}

/// How the dates of a file are read (one format, or two stitched together), and the dates read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DateReader {
    formats: Vec<DateFormat>,
    /// The date of each non-empty date cell of the selected records, in order: read once, while
    /// the format was checked on the whole column.
    dates: Vec<NaiveDate>,
}

impl DateReader {
    fn single(format: DateFormat, dates: Vec<NaiveDate>) -> DateReader {
        DateReader { formats: vec![format], dates }
    }

    /// The date of each non-empty date cell of the selected records, in order.
    pub fn dates(&self) -> &[NaiveDate] {
        &self.dates
    }

    /// The date in `text`, by the first format that reads it.
    pub fn parse(&self, text: &str) -> Option<NaiveDate> {
        self.formats.iter().find_map(|format| format.parse(text))
    }

    /// The format(s), for the report: `%d/%m/%Y`, or `%Y-%m-%d %H:%M:%S + %Y-%m-%d`.
    pub fn describe(&self) -> String {
        self.formats.iter().map(ToString::to_string).collect::<Vec<_>>().join(" + ")
    }
}

/// A date cell and the line it is on.
#[derive(Debug, Clone, Copy)]
struct Sample<'r> {
    text: &'r str,
    line: u64,
}

/// The dates tried on every candidate format before any is tried on the whole column: a date reads
/// in at most a few formats, so at most a few candidates are tried on every date, and detection
/// costs a few passes over the column whatever the file holds.
const SCREEN: usize = 1000;

/// Decides how `column` is read in the selected records: `explicit` (`--date-format`) when given,
/// else the detected format. Empty cells are passed over here (the row reports them). Warnings
/// (stitched formats) are pushed to `warnings`.
///
/// The cells are read from the records again for each pass rather than copied: for a file of
/// tiny rows the copies would take more memory than the file.
pub(super) fn detect(
    selection: &Selection,
    column: &Column,
    explicit: Option<&str>,
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<DateReader, DataError> {
    // Every cell is checked to be UTF-8 (an error at the first that is not), and the non-empty
    // ones kept for the passes below.
    let mut kept = Vec::new();
    kept.try_reserve_exact(selection.len())
        .map_err(|_| DataError::new(path, "not enough memory for the dates of the file"))?;
    for record in selection.records() {
        match record.cell(column, path)? {
            Some(text) if !text.is_empty() => kept.push(Sample { text, line: record.line }),
            _ => {}
        }
    }
    let samples = || kept.iter().copied();
    if let Some(flag) = explicit {
        let format = DateFormat::from_flag(flag);
        let mut dates = Vec::new();
        for sample in samples() {
            let Some(date) = format.parse(sample.text) else {
                return Err(DataError::at(
                    path,
                    sample.line,
                    column.location(),
                    format!(
                        "date \"{}\" does not match --date-format {}",
                        excerpt(sample.text),
                        excerpt(flag)
                    ),
                )
                .with_hint(
                    "--date-format takes a chrono strftime format such as %d/%m/%Y, or unix / unix-ms",
                ));
            };
            dates.push(date);
        }
        return Ok(DateReader::single(format, dates));
    }
    if samples().next().is_none() {
        return Ok(DateReader::single(DateFormat::IsoDate, Vec::new()));
    }
    detect_format(&samples, column, path, warnings)
}

fn reads_all<'r>(format: &DateFormat, mut samples: impl Iterator<Item = Sample<'r>>) -> bool {
    samples.all(|sample| format.parse(sample.text).is_some())
}

/// The date of every sample in `format`; `None` when it does not read one. Room for as many dates
/// as there may be samples is taken at once, rather than grown.
fn read_every<'r>(format: &DateFormat, samples: impl Iterator<Item = Sample<'r>>) -> Option<Vec<NaiveDate>> {
    let mut dates = Vec::with_capacity(samples.size_hint().1.unwrap_or(0));
    for sample in samples {
        dates.push(format.parse(sample.text)?);
    }
    Some(dates)
}

/// The first candidate that reads every date; two formats stitched together; or the error.
/// `samples` gives the dates afresh for each pass.
fn detect_format<'r, I: Iterator<Item = Sample<'r>>>(
    samples: &impl Fn() -> I,
    column: &Column,
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<DateReader, DataError> {
    let candidates = candidates();
    let found = candidates
        .iter()
        .filter(|format| reads_all(format, samples().take(SCREEN)))
        .find_map(|format| Some((format, read_every(format, samples())?)));
    if let Some((format, dates)) = found {
        if let Some(twin) = format.twin().filter(|twin| reads_all(twin, samples())) {
            return Err(ambiguous_error(samples().next(), column, path, format, &twin));
        }
        return Ok(DateReader::single(format.clone(), dates));
    }
    for (first, second) in stitches() {
        let (mut firsts, mut seconds, mut dates) = (0usize, 0usize, Vec::new());
        let covered = samples().all(|sample| {
            if let Some(date) = first.parse(sample.text) {
                firsts += 1;
                dates.push(date);
                true
            } else if let Some(date) = second.parse(sample.text) {
                seconds += 1;
                dates.push(date);
                true
            } else {
                false
            }
        });
        if covered {
            warnings.push(format!(
                "the dates in column \"{}\" mix two formats, {first} ({}) and {second} ({}); both were read.",
                column.label(),
                count_noun(firsts, "row", "rows"),
                count_noun(seconds, "row", "rows"),
            ));
            return Ok(DateReader { formats: vec![first, second], dates });
        }
    }
    Err(no_format_error(samples, &candidates, column, path))
}

fn ambiguous_error(
    first: Option<Sample>,
    column: &Column,
    path: &Path,
    format: &DateFormat,
    twin: &DateFormat,
) -> DataError {
    let line = first.map_or(1, |sample| sample.line);
    DataError::at(
        path,
        line,
        column.location(),
        format!(
            "the dates in column \"{}\" are ambiguous: every one reads both as {format} and as {twin} (no day \
             is above 12)",
            column.label()
        ),
    )
    .with_hint(format!("say which with --date-format {format} or --date-format {twin}"))
}

/// The error at the first date that the format reading the most dates (of the first [`SCREEN`])
/// does not read.
fn no_format_error<'r, I: Iterator<Item = Sample<'r>>>(
    samples: &impl Fn() -> I,
    candidates: &[DateFormat],
    column: &Column,
    path: &Path,
) -> DataError {
    let coverage =
        |format: &DateFormat| samples().take(SCREEN).filter(|s| format.parse(s.text).is_some()).count();
    let best =
        candidates.iter().map(|format| (coverage(format), format)).fold(
            None,
            |best, (n, format)| match best {
                Some((best_n, _)) if best_n >= n => best,
                _ => Some((n, format)),
            },
        );
    let hint = format!(
        "known formats: {KNOWN_FORMATS}; for any other, pass --date-format with a chrono strftime format, for \
         example --date-format %d/%m/%Y"
    );
    match best {
        Some((n, format)) if n > 0 => {
            let read = samples().filter(|sample| format.parse(sample.text).is_some()).count();
            let bad = samples().find(|sample| format.parse(sample.text).is_none());
            let (text, line) = bad.map_or(("", 1), |sample| (sample.text, sample.line));
            DataError::at(
                path,
                line,
                column.location(),
                format!(
                    "cannot parse date \"{}\": the other dates in the column are {format} ({} of {} rows)",
                    excerpt(text),
                    read,
                    samples().count()
                ),
            )
            .with_hint(hint)
        }
        _ => {
            let (text, line) = samples().next().map_or(("", 1), |sample| (sample.text, sample.line));
            DataError::at(path, line, column.location(), format!("cannot parse date \"{}\"", excerpt(text)))
                .with_hint(hint)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
    }

    fn pattern(p: &str) -> DateFormat {
        DateFormat::Pattern(Pattern::new(p))
    }

    #[test]
    fn iso_dates_with_and_without_time() {
        assert_eq!(DateFormat::IsoDate.parse("2021-06-11"), date("2021-06-11"));
        assert_eq!(DateFormat::IsoDate.parse("2021-06-11 00:00:00"), None);
        for text in ["2021-06-11 00:00:00", "2021-06-11T23:59:59", "2021-06-11 16:00", "2021-06-11T00:00:00Z"]
        {
            assert_eq!(DateFormat::IsoDateTime.parse(text), date("2021-06-11"), "{text}");
        }
        assert_eq!(DateFormat::IsoDateTime.parse("2021-06-11T00:00:00.000+02:00"), date("2021-06-11"));
        for bad in
            ["2021-06-11", "2021-06-11 25:00:00", "2021-06-11X00:00", "2021-6-11 00:00", "2021-06-11 ab"]
        {
            assert_eq!(DateFormat::IsoDateTime.parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn compact_and_epoch_dates() {
        assert_eq!(DateFormat::Compact.parse("20050225"), date("2005-02-25"));
        assert_eq!(DateFormat::Compact.parse("2005022"), None);
        assert_eq!(DateFormat::UnixMillis.parse("1643673600000"), date("2022-02-01"));
        assert_eq!(DateFormat::UnixSeconds.parse("1513555200.0"), date("2017-12-18"));
        assert_eq!(DateFormat::UnixSeconds.parse("1643673600000"), None);
        assert_eq!(DateFormat::UnixMillis.parse("1513555200"), None);
        assert_eq!(DateFormat::UnixSeconds.parse("20050225"), None);
        for bad in ["1e9", "-1513555200", "1513555200.0.0", "", "+1513555200"] {
            assert_eq!(DateFormat::UnixSeconds.parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn patterns_accept_unpadded_fields_and_ignore_a_time() {
        assert_eq!(pattern("%m/%d/%Y").parse("3/17/1980"), date("1980-03-17"));
        assert_eq!(pattern("%d/%m/%y").parse("05/01/00"), date("2000-01-05"));
        assert_eq!(pattern("%d-%b-%y").parse("3-Jan-05"), date("2005-01-03"));
        assert_eq!(pattern("%b %d, %Y").parse("Jun 30, 2017"), date("2017-06-30"));
        assert_eq!(pattern("%B %d, %Y").parse("June 30, 2017"), date("2017-06-30"));
        assert_eq!(pattern("%m/%d/%Y").parse("1/2/2004 16:00"), date("2004-01-02"));
        assert_eq!(pattern("%m/%d/%Y").parse("1/2/2004 4:00 PM"), date("2004-01-02"));
    }

    #[test]
    fn any_four_digit_year_is_read() {
        assert_eq!(DateFormat::IsoDate.parse("1789-05-01"), date("1789-05-01"));
        assert_eq!(DateFormat::IsoDateTime.parse("1789-05-01 00:00:00"), date("1789-05-01"));
        assert_eq!(DateFormat::Compact.parse("17890501"), date("1789-05-01"));
        assert_eq!(pattern("%m/%d/%Y").parse("5/1/1789"), date("1789-05-01"));
        assert_eq!(pattern("%d.%m.%Y").parse("01.05.1602"), date("1602-05-01"));
        assert_eq!(DateFormat::IsoDate.parse("2999-01-01"), date("2999-01-01"));
    }

    #[test]
    fn years_not_written_with_four_digits_are_refused() {
        assert_eq!(pattern("%d/%m/%Y").parse("05/01/00"), None);
        assert_eq!(pattern("%d/%m/%Y").parse("05/01/789"), None);
        assert_eq!(pattern("%d/%m/%Y").parse("05/01/+12345"), None);
        assert_eq!(pattern("%d/%m/%Y").parse("05/01/-1789"), None);
        assert_eq!(pattern("%Y-%m-%d").parse("+12345-01-01"), None);
        assert_eq!(pattern("%Y-%m-%d").parse("-1789-01-01"), None);
        assert_eq!(DateFormat::IsoDate.parse("0000-01-01"), None);
        assert_eq!(DateFormat::IsoDate.parse("0999-12-31"), None);
        assert_eq!(DateFormat::Compact.parse("00010101"), None);
    }

    #[test]
    fn other_numbers_are_not_dates() {
        for text in ["123456", "1789", "178905", "1234567", "99999999", "12345678"] {
            let read: Vec<String> =
                candidates().iter().filter(|f| f.parse(text).is_some()).map(ToString::to_string).collect();
            assert!(read.is_empty(), "{text} read as {read:?}");
        }
        assert_eq!(DateFormat::UnixSeconds.parse("99999999"), None);
        assert_eq!(DateFormat::UnixSeconds.parse("-1513555200"), None);
    }

    #[test]
    fn two_digit_years_still_fall_to_the_short_pattern() {
        let samples: Vec<Sample> =
            ["05/01/00", "31/12/99"].iter().map(|text| Sample { text, line: 2 }).collect();
        let column = Column::new(0, "Date");
        let mut warnings = Vec::new();
        let reader = detect_format(&|| samples.iter().copied(), &column, Path::new("x.csv"), &mut warnings)
            .map_err(|e| e.to_string());
        assert_eq!(reader.map(|reader| reader.describe()), Ok("%d/%m/%y".to_string()));
    }

    #[test]
    fn twins_swap_day_and_month() {
        assert_eq!(pattern("%m/%d/%Y").twin(), Some(pattern("%d/%m/%Y")));
        assert_eq!(pattern("%d.%m.%y").twin(), Some(pattern("%m.%d.%y")));
        assert_eq!(pattern("%d-%b-%y").twin(), None);
        assert_eq!(DateFormat::IsoDate.twin(), None);
    }

    #[test]
    fn iso_and_compact_dates_read_as_chrono_reads_them() {
        for year in ["0000", "0999", "1000", "1789", "1900", "2000", "2024", "9999"] {
            for month in 0..=13 {
                for day in 0..=32 {
                    let iso = format!("{year}-{month:02}-{day:02}");
                    let chrono = NaiveDate::parse_from_str(&iso, "%Y-%m-%d").ok();
                    assert_eq!(parse_iso_date(&iso), chrono, "{iso}");
                    let compact = format!("{year}{month:02}{day:02}");
                    assert_eq!(parse_compact(&compact), chrono, "{compact}");
                }
            }
        }
    }

    #[test]
    fn compiled_patterns_read_as_chrono_reads_them() {
        let texts =
            ["3/17/1980", "17/3/1980", "05/01/00", "3-Jan-05", "Jun 30, 2017", "1/2/2004 16:00", "x", ""];
        for format in PATTERNS.iter().chain(&["%Y-%m-%d %Q", "%Y-%m-%d"]) {
            for text in texts {
                let chrono = NaiveDate::parse_from_str(text, format).ok();
                assert_eq!(Pattern::new(format).parse(text), chrono, "{format} {text}");
            }
        }
        assert!(is_time("16:00") && is_time("16:00:00.5") && !is_time("25:00") && !is_time("4pm"));
    }

    #[test]
    fn flags_name_epoch_formats() {
        assert_eq!(DateFormat::from_flag("unix"), DateFormat::UnixSeconds);
        assert_eq!(DateFormat::from_flag("unix-ms"), DateFormat::UnixMillis);
        assert_eq!(DateFormat::from_flag("%d/%m/%Y"), pattern("%d/%m/%Y"));
    }
}
