//! Step 4: the header. Finds the header line (the first of the first few records whose names map
//! to the needed columns, so a banner line above it is passed over), reads yfinance's three-line
//! header (Price / Ticker / Date), and maps header names to roles: date, open, high, low, close,
//! adjusted close, volume and ticker.
//!
//! Names are compared after [`normalize`] (case, `<>`, `.`, `*`, `_`, `-` and repeated spaces do not
//! matter), against per-role alias lists in priority order, so that `date` beats `unix` and `close`
//! beats `price`. `--date-column` and the other column flags name a column outright; the roles they
//! take are not detected.

use std::collections::BTreeMap;
use std::path::Path;

use super::options::{LoadOptions, TickerChoice};
use super::records::{Column, Record, Records};
use super::show::{count_noun, excerpt, list, quoted_list, EXCERPT_CHARS};
use super::symbols::{choose, instruments};
use crate::error::DataError;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Date,
    Open,
    High,
    Low,
    Close,
    AdjClose,
    Volume,
    Ticker,
}

impl Role {
    /// The name used in `LoadReport::columns` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Date => "date",
            Role::Open => "open",
            Role::High => "high",
            Role::Low => "low",
            Role::Close => "close",
            Role::AdjClose => "adj_close",
            Role::Volume => "volume",
            Role::Ticker => "ticker",
        }
    }

    /// Accepted header names after [`normalize`], best first.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Role::Date => &[
                "date",
                "data",
                "datetime",
                "date time",
                "timestamp",
                "trade date",
                "tradedate",
                "day",
                "time",
                "begin",
                "open time",
                "opentime",
                "unix",
                "unix timestamp",
            ],
            Role::Open => &["open", "otwarcie", "open price", "opening price"],
            Role::High => &["high", "najwyzszy", "najwyższy", "high price", "max"],
            Role::Low => &["low", "najnizszy", "najniższy", "low price", "min"],
            Role::Close => &[
                "close",
                "zamkniecie",
                "zamknięcie",
                "close price",
                "closing price",
                "close/last",
                "last",
                "price",
            ],
            Role::AdjClose => &["adj close", "adjusted close", "adjclose", "adj close price", "adjusted"],
            Role::Volume => &["volume", "vol", "wolumen", "volumen"],
            Role::Ticker => &["ticker", "symbol", "stock symbol", "name", "asset", "stock", "secid", "tic"],
        }
    }

    /// How well a normalized header name fits this role: the alias's position, lower is better.
    /// `Volume BTC`-style names (the base-asset volume of crypto exports) rank after exact names.
    fn rank(self, name: &str) -> Option<usize> {
        let aliases = self.aliases();
        if let Some(position) = aliases.iter().position(|alias| *alias == name) {
            return Some(position);
        }
        (self == Role::Volume && name.starts_with("volume ")).then_some(aliases.len())
    }
}

/// `Adj Close**` → `adj close`, `<VOL>` → `vol`, `Open_time` → `open time`: lower case, without
/// `<>.*"`, with `_` and `-` as spaces and white space collapsed.
pub(super) fn normalize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | '.' | '*' | '"'))
        .map(|c| if c == '_' || c == '-' { ' ' } else { c })
        .collect::<String>()
        .to_lowercase();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Which close becomes the series' close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Price {
    Close,
    /// The adjusted close; open, high and low are scaled by adjusted / close.
    Adjusted,
}

/// Where each role is in the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ColumnMap {
    pub date: Column,
    pub open: Column,
    pub high: Column,
    pub low: Column,
    pub close: Column,
    pub volume: Option<Column>,
    pub adj_close: Option<Column>,
    pub ticker: Option<Column>,
    pub price: Price,
}

impl ColumnMap {
    /// Role name → header as written (as messages show it: cut short, non-printables escaped), for
    /// the report.
    pub fn names(&self) -> BTreeMap<String, String> {
        let required = [
            (Role::Date, &self.date),
            (Role::Open, &self.open),
            (Role::High, &self.high),
            (Role::Low, &self.low),
            (Role::Close, &self.close),
        ];
        let optional =
            [(Role::Volume, &self.volume), (Role::AdjClose, &self.adj_close), (Role::Ticker, &self.ticker)];
        let mut names: BTreeMap<String, String> = required
            .iter()
            .map(|(role, column)| (role.name().to_string(), column.label().to_string()))
            .collect();
        for (role, column) in optional {
            if let Some(column) = column {
                names.insert(role.name().to_string(), column.label().to_string());
            }
        }
        names
    }
}

/// The header and where the data starts.
#[derive(Debug, Clone)]
pub(super) struct Header {
    pub columns: ColumnMap,
    /// The line of the header (of its names line, for yfinance's three-line header).
    pub line: u64,
    /// Index in the records of the first data record.
    pub data_start: usize,
    /// The ticker chosen from a yfinance Ticker line, when there is one, as messages show it.
    pub ticker: Option<String>,
    pub warnings: Vec<String>,
}

/// How many leading records may be a banner rather than the header.
const HEADER_SEARCH: usize = 5;

/// Finds and maps the header: the first of the first [`HEADER_SEARCH`] records that maps. When none
/// does, the error is about the first record that names any column the loader knows (or a column
/// flag names), or that looks like a line of column names ([`like_names`]); when no record does,
/// the file has no recognisable header, and no line of it is quoted: it may not be a price file at
/// all (a model file can name any path).
pub(super) fn find(records: &Records, opts: &LoadOptions, path: &Path) -> Result<Header, DataError> {
    let Some(first) = records.get(0) else {
        return Err(DataError::new(path, "the file has no header line")
            .with_hint("expected a header line such as Date,Open,High,Low,Close,Volume and rows of prices"));
    };
    if let Some(header) = yfinance(records, opts, path)? {
        return Ok(header);
    }
    let mut refusal = None;
    for (position, record) in records.starting_at(0).enumerate().take(HEADER_SEARCH) {
        let names = record.names();
        let usable = vec![true; names.len()];
        match map_columns(&names, &usable, opts, record.line, path) {
            Ok(columns) => {
                let mut warnings = Vec::new();
                if position > 0 {
                    warnings.push(format!(
                        "the header is on line {}; {} before it ignored.",
                        record.line,
                        count_noun(position, "line was", "lines were")
                    ));
                }
                return Ok(Header {
                    columns,
                    line: record.line,
                    data_start: position + 1,
                    ticker: None,
                    warnings,
                });
            }
            Err(err) if refusal.is_none() && (names_known_columns(&names, opts) || like_names(&names)) => {
                refusal = Some(err)
            }
            Err(_) => {}
        }
    }
    Err(refusal.unwrap_or_else(|| no_header_error(path, &first, records.len().min(HEADER_SEARCH))))
}

/// Whether any of `names` is a header name the loader knows, or one a column flag names.
fn names_known_columns(names: &[String], opts: &LoadOptions) -> bool {
    let normalized: Vec<String> = names.iter().map(|name| normalize(name)).collect();
    let flags = [
        &opts.date_column,
        &opts.open_column,
        &opts.high_column,
        &opts.low_column,
        &opts.close_column,
        &opts.volume_column,
    ];
    normalized.iter().any(|name| AUTO_ORDER.iter().any(|role| role.rank(name).is_some()))
        || flags
            .iter()
            .filter_map(|flag| flag.as_deref())
            .any(|wanted| named_column(names, &normalized, wanted).is_some())
}

/// Whether `names` could be a header in another language: at least five names (one for each
/// required column), each short, printable and with a letter in it. A line of a file that is not
/// a CSV (a password file, a key) has one or two fields, and is never quoted.
fn like_names(names: &[String]) -> bool {
    let name_like = |name: &String| {
        name.is_empty()
            || (name.chars().count() <= EXCERPT_CHARS
                && !name.chars().any(char::is_control)
                && name.chars().any(char::is_alphabetic))
    };
    names.iter().filter(|name| !name.is_empty()).count() >= 5 && names.iter().all(name_like)
}

/// No record at the top of the file names a known column: say so without quoting any of it.
fn no_header_error(path: &Path, first: &Record, searched: usize) -> DataError {
    let names = first.names();
    if !names.iter().any(|name| name.chars().any(char::is_alphabetic)) {
        return DataError::at(
            path,
            first.line,
            None,
            "the file has no header line (the first line holds values)",
        )
        .with_hint("add a header line such as Date,Open,High,Low,Close,Volume");
    }
    let message = if searched == 1 {
        "no header line found: the first line names no date, open, high, low or close column".to_string()
    } else {
        format!(
            "no header line found: none of the first {searched} lines names a date, open, high, low or close \
             column"
        )
    };
    let mut hint = "check that this is a price CSV; it needs a header line such as \
                    Date,Open,High,Low,Close,Volume (or name the columns with --date-column, --open-column, \
                    --high-column, --low-column and --close-column)"
        .to_string();
    if first.len() == 1 {
        hint.push_str(
            "; the first line is one field: if its columns are separated by another character, pass \
             --delimiter",
        );
    }
    DataError::at(path, first.line, None, message).with_hint(hint)
}

/// One header of [`find_each`]: the ticker value(s) it was chosen for, as written (`None` for a
/// file without yfinance's Ticker line), and the header or why it cannot be read.
pub(super) type Found = (Option<String>, Result<Header, DataError>);

/// The header of each instrument `choice` names, for `load_csv_tickers` (`opts.ticker` must be
/// `None`). For yfinance's header with a Ticker line: one header per chosen ticker, with the ticker
/// value(s) as written (a listed name that matches no ticker is that entry's error). For any other
/// file: its one header, without a ticker (`None`), from which the ticker step picks the
/// instruments. The error is for the file as a whole: no header.
pub(super) fn find_each(
    records: &Records,
    opts: &LoadOptions,
    choice: &TickerChoice,
    path: &Path,
) -> Result<Vec<Found>, DataError> {
    let layout = Yfinance::read(records);
    let tickers = layout.as_ref().map(Yfinance::tickers).unwrap_or_default();
    let Some(layout) = layout.filter(|_| !tickers.is_empty()) else {
        return Ok(vec![(None, Ok(find(records, opts, path)?))]);
    };
    let chosen: Vec<(String, Result<Vec<String>, DataError>)> = match choice {
        TickerChoice::All => instruments(&tickers)
            .iter()
            .map(|positions| {
                let values: Vec<String> = positions.iter().filter_map(|&p| tickers.get(p).cloned()).collect();
                (values.first().cloned().unwrap_or_default(), Ok(values))
            })
            .collect(),
        TickerChoice::Listed(names) => names
            .iter()
            .map(|name| match choose_side_by_side(&tickers, name, layout.line, path) {
                Ok(values) => (values.first().cloned().unwrap_or_default(), Ok(values)),
                Err(err) => (name.clone(), Err(err)),
            })
            .collect(),
    };
    Ok(chosen
        .into_iter()
        .map(|(id, values)| (Some(id), values.and_then(|values| layout.header(Some(values), opts, path))))
        .collect())
}

/// yfinance's `download(...).to_csv()` header: a `Price` line with the field names, a `Ticker`
/// line with the ticker of each column, and a `Date` line with nothing else; the dates are in the
/// first column. Several tickers side by side need `--ticker`.
fn yfinance(records: &Records, opts: &LoadOptions, path: &Path) -> Result<Option<Header>, DataError> {
    let Some(layout) = Yfinance::read(records) else {
        return Ok(None);
    };
    let tickers = layout.tickers();
    let chosen = match (&opts.ticker, tickers.len()) {
        (None, 0) => None,
        (None, 1) => Some(tickers),
        (None, _) => {
            return Err(DataError::at(
                path,
                layout.line,
                None,
                format!(
                    "the file holds {} tickers side by side (its Ticker line has {})",
                    tickers.len(),
                    list(&tickers)
                ),
            )
            .with_hint(format!(
                "choose one with --ticker SYMBOL, for example --ticker {}",
                tickers.first().map_or(String::new(), |value| excerpt(value))
            )));
        }
        (Some(wanted), _) => Some(choose_side_by_side(&tickers, wanted, layout.line, path)?),
    };
    layout.header(chosen, opts, path).map(Some)
}

/// The tickers of a yfinance Ticker line that `wanted` selects (see `symbols`).
fn choose_side_by_side(
    tickers: &[String],
    wanted: &str,
    line: u64,
    path: &Path,
) -> Result<Vec<String>, DataError> {
    choose(tickers, wanted).map_err(|message| {
        DataError::at(path, line, None, message).with_hint("pass one of the tickers listed with --ticker")
    })
}

/// The lines of yfinance's header, when the file starts with them.
struct Yfinance {
    /// The field names of the Price line, the first one (above the dates) named `Date`.
    names: Vec<String>,
    /// The Ticker line (empty without one).
    ticker_line: Vec<String>,
    /// The line of the Price line.
    line: u64,
    /// How many records the header takes.
    consumed: usize,
}

impl Yfinance {
    fn read(records: &Records) -> Option<Yfinance> {
        let mut names_at = None;
        let mut tickers_at = None;
        let mut date_line = false;
        let mut consumed = 0;
        for (position, record) in records.starting_at(0).enumerate().take(3) {
            match normalize(&record.lossy(0)).as_str() {
                "price" if names_at.is_none() => names_at = Some(position),
                "ticker" if tickers_at.is_none() => tickers_at = Some(position),
                "date" if (1..record.len()).all(|index| record.lossy(index).is_empty()) => date_line = true,
                _ => break,
            }
            consumed = position + 1;
        }
        let names_record = names_at.and_then(|position| records.get(position))?;
        if tickers_at.is_none() && !date_line {
            return None;
        }
        let mut names = names_record.names();
        if let Some(first) = names.first_mut() {
            *first = "Date".to_string();
        }
        let ticker_line = tickers_at
            .and_then(|position| records.get(position))
            .map(|record| record.names())
            .unwrap_or_default();
        Some(Yfinance { names, ticker_line, line: names_record.line, consumed })
    }

    /// The ticker of column `index` (empty when none).
    fn ticker_of(&self, index: usize) -> &str {
        self.ticker_line.get(index).map(String::as_str).unwrap_or_default()
    }

    /// The distinct tickers of the Ticker line, in column order (the date column's cell is not one).
    fn tickers(&self) -> Vec<String> {
        let mut distinct: Vec<String> = Vec::new();
        for index in 1..self.names.len() {
            let value = self.ticker_of(index);
            if !value.is_empty() && !distinct.iter().any(|seen| seen == value) {
                distinct.push(value.to_string());
            }
        }
        distinct
    }

    /// The header of the columns of the `chosen` tickers (and of columns without a ticker); of
    /// every column when `None`.
    fn header(
        &self,
        chosen: Option<Vec<String>>,
        opts: &LoadOptions,
        path: &Path,
    ) -> Result<Header, DataError> {
        let usable: Vec<bool> = (0..self.names.len())
            .map(|index| {
                let value = self.ticker_of(index);
                index == 0
                    || value.is_empty()
                    || chosen.as_ref().is_none_or(|chosen| chosen.iter().any(|c| c == value))
            })
            .collect();
        let columns = map_columns(&self.names, &usable, opts, self.line, path)?;
        Ok(Header {
            columns,
            line: self.line,
            data_start: self.consumed,
            ticker: chosen.map(|chosen| list(&chosen)),
            warnings: Vec::new(),
        })
    }
}

/// The roles in the order they pick columns; the column flags are applied before any of them.
const AUTO_ORDER: [Role; 8] =
    [Role::Date, Role::Close, Role::AdjClose, Role::Open, Role::High, Role::Low, Role::Volume, Role::Ticker];

/// Maps header `names` to roles. Only `usable` columns are considered. Errors at `line` when a
/// required role (date, open, high, low, close) has no column or a column flag names none.
fn map_columns(
    names: &[String],
    usable: &[bool],
    opts: &LoadOptions,
    line: u64,
    path: &Path,
) -> Result<ColumnMap, DataError> {
    let normalized: Vec<String> = names.iter().map(|name| normalize(name)).collect();
    let mut taken: Vec<bool> =
        (0..names.len()).map(|index| !usable.get(index).copied().unwrap_or(false)).collect();
    let mut found: Vec<(Role, Column)> = Vec::new();
    let mut no_volume = false;
    let overrides = [
        (Role::Date, "--date-column", &opts.date_column),
        (Role::Open, "--open-column", &opts.open_column),
        (Role::High, "--high-column", &opts.high_column),
        (Role::Low, "--low-column", &opts.low_column),
        (Role::Close, "--close-column", &opts.close_column),
        (Role::Volume, "--volume-column", &opts.volume_column),
    ];
    for (role, flag, wanted) in overrides {
        let Some(wanted) = wanted else { continue };
        if role == Role::Volume && normalize(wanted) == "none" {
            no_volume = true;
            continue;
        }
        let column = named_column(names, &normalized, wanted)
            .filter(|&index| !taken.get(index).copied().unwrap_or(true))
            .and_then(|index| take_column(&mut taken, names, index))
            .ok_or_else(|| no_such_column_error(path, line, flag, wanted, names))?;
        found.push((role, column));
    }
    for role in AUTO_ORDER {
        if found.iter().any(|(seen, _)| *seen == role) || (role == Role::Volume && no_volume) {
            continue;
        }
        let best = normalized
            .iter()
            .enumerate()
            .filter(|(index, _)| !taken.get(*index).copied().unwrap_or(true))
            .filter_map(|(index, name)| role.rank(name).map(|rank| (rank, index)))
            .min();
        if let Some(column) = best.and_then(|(_, index)| take_column(&mut taken, names, index)) {
            found.push((role, column));
        }
    }
    let take = |role: Role| found.iter().find(|(seen, _)| *seen == role).map(|(_, column)| column.clone());
    let (Some(date), Some(open), Some(high), Some(low), Some(close)) =
        (take(Role::Date), take(Role::Open), take(Role::High), take(Role::Low), take(Role::Close))
    else {
        let required = [Role::Date, Role::Open, Role::High, Role::Low, Role::Close];
        let missing: Vec<&str> =
            required.iter().filter(|&&role| take(role).is_none()).map(|role| role.name()).collect();
        return Err(missing_columns_error(path, line, &missing, names));
    };
    let adj_close = take(Role::AdjClose);
    let price = choose_price(opts.price_column.as_deref(), &close, adj_close.as_ref(), line, path)?;
    Ok(ColumnMap {
        date,
        open,
        high,
        low,
        close,
        volume: take(Role::Volume),
        adj_close,
        ticker: take(Role::Ticker),
        price,
    })
}

/// Marks column `index` as taken and returns it.
fn take_column(taken: &mut [bool], names: &[String], index: usize) -> Option<Column> {
    let name = names.get(index)?;
    *taken.get_mut(index)? = true;
    Some(Column::new(index, name))
}

/// The column a flag names: a 1-based column number, or a header name (as written, then
/// normalized).
fn named_column(names: &[String], normalized: &[String], wanted: &str) -> Option<usize> {
    let wanted = wanted.trim();
    if !wanted.is_empty() && wanted.bytes().all(|b| b.is_ascii_digit()) {
        return wanted.parse::<usize>().ok().filter(|&n| n >= 1 && n <= names.len()).map(|n| n - 1);
    }
    names.iter().position(|name| name.eq_ignore_ascii_case(wanted)).or_else(|| {
        let wanted = normalize(wanted);
        normalized.iter().position(|name| *name == wanted)
    })
}

/// The adjusted close is modelled when there is one, unless `--price-column close`.
fn choose_price(
    flag: Option<&str>,
    close: &Column,
    adj_close: Option<&Column>,
    line: u64,
    path: &Path,
) -> Result<Price, DataError> {
    let Some(flag) = flag else {
        return Ok(if adj_close.is_some() { Price::Adjusted } else { Price::Close });
    };
    let wanted = normalize(flag);
    if wanted == "close" || wanted == normalize(&close.name) {
        return Ok(Price::Close);
    }
    let names_adjusted = Role::AdjClose.rank(&wanted).is_some()
        || adj_close.is_some_and(|column| normalize(&column.name) == wanted);
    match (names_adjusted, adj_close) {
        (true, Some(_)) => Ok(Price::Adjusted),
        (true, None) => Err(DataError::at(
            path,
            line,
            None,
            format!("--price-column {}: the file has no adjusted close column", excerpt(flag)),
        )
        .with_hint("use --price-column close, or a file with an Adj Close (or adjusted_close) column")),
        (false, _) => Err(DataError::at(
            path,
            line,
            None,
            format!("--price-column {}: expected close or adjusted", excerpt(flag)),
        )
        .with_hint(
            "--price-column close models the close as written; --price-column adjusted the adjusted close",
        )),
    }
}

fn no_such_column_error(path: &Path, line: u64, flag: &str, wanted: &str, names: &[String]) -> DataError {
    DataError::at(
        path,
        line,
        None,
        format!("{flag} {}: no such column (the header has {})", excerpt(wanted), quoted_list(names)),
    )
    .with_hint(format!(
        "give {flag} a header name from the list (case does not matter) or a column number from 1 to {}",
        names.len()
    ))
}

/// Only for a record that names some known column (see [`find`]), so it is a header of sorts and
/// its names may be listed.
fn missing_columns_error(path: &Path, line: u64, missing: &[&str], names: &[String]) -> DataError {
    let noun = if missing.len() == 1 { "column" } else { "columns" };
    let flags: Vec<String> = missing.iter().map(|role| format!("--{role}-column")).collect();
    DataError::at(
        path,
        line,
        None,
        format!("missing required {noun} {} (the header has {})", missing.join(", "), quoted_list(names)),
    )
    .with_hint(format!(
        "the header needs date, open, high, low and close columns (matched case-insensitively, with common \
         exporter spellings); name the columns with {}",
        flags.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized() {
        assert_eq!(normalize(" Adj Close** "), "adj close");
        assert_eq!(normalize("<VOL>"), "vol");
        assert_eq!(normalize("Open_time"), "open time");
        assert_eq!(normalize("Vol."), "vol");
        assert_eq!(normalize("stock   symbol"), "stock symbol");
        assert_eq!(normalize("adjusted_close"), "adjusted close");
    }

    #[test]
    fn aliases_rank_in_priority_order() {
        assert!(Role::Date.rank("date") < Role::Date.rank("unix"));
        assert!(Role::Close.rank("close") < Role::Close.rank("price"));
        assert_eq!(Role::Volume.rank("volume btc"), Some(Role::Volume.aliases().len()));
        assert_eq!(Role::Volume.rank("quote asset volume"), None);
        assert_eq!(Role::Close.rank("close time"), None);
    }

    #[test]
    fn columns_are_found_by_name_or_number() {
        let names: Vec<String> = ["Data", "Kurs", "Adj Close"].iter().map(|s| s.to_string()).collect();
        let normalized: Vec<String> = names.iter().map(|n| normalize(n)).collect();
        assert_eq!(named_column(&names, &normalized, "kurs"), Some(1));
        assert_eq!(named_column(&names, &normalized, "adj_close"), Some(2));
        assert_eq!(named_column(&names, &normalized, "2"), Some(1));
        assert_eq!(named_column(&names, &normalized, "0"), None);
        assert_eq!(named_column(&names, &normalized, "4"), None);
        assert_eq!(named_column(&names, &normalized, "Close"), None);
    }
}
