//! Step 5: the instruments. A ticker column (ticker, symbol, Name, stock symbol, ASSET,
//! `<TICKER>`) with more than one value needs `--ticker` ([`select`]); without it the file is
//! refused with the tickers found. A column with a single value just loads. [`select_each`] picks
//! every instrument, or a list of them, for `load_csv_tickers`. Either way the records are grouped
//! by ticker in one pass. `symbols` says which values a name selects.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use super::header::Header;
use super::options::TickerChoice;
use super::records::{Column, Record, Records};
use super::show::{excerpt, list};
use super::symbols::{choose, instruments};
use crate::error::DataError;

/// The most instruments `load_csv_tickers` reads from one file with [`TickerChoice::All`]
/// (50,000): a watchlist is tens to hundreds, a whole market a few thousand. Each instrument read
/// takes a series and a report whatever its size, so a file of one-row instruments could otherwise
/// take many times its size in memory.
pub const MAX_TICKERS: usize = 50_000;

/// The data records of the chosen instrument.
#[derive(Debug)]
pub(super) struct Selection<'r> {
    records: &'r Records<'r>,
    /// The index of the first data record.
    first: usize,
    /// The indices of the chosen records, in file order; `None` for every data record.
    chosen: Option<Vec<u32>>,
    /// The ticker value(s) read, when the file names any, as messages show them.
    pub ticker: Option<String>,
    pub warnings: Vec<String>,
}

impl<'r> Selection<'r> {
    fn all(records: &'r Records<'r>, first: usize, ticker: Option<String>, warnings: Vec<String>) -> Self {
        Selection { records, first, chosen: None, ticker, warnings }
    }

    /// The chosen records, in file order.
    pub fn records(&self) -> Box<dyn Iterator<Item = Record<'r>> + '_> {
        match &self.chosen {
            None => Box::new(self.records.starting_at(self.first)),
            Some(chosen) => Box::new(chosen.iter().filter_map(|&index| self.records.get(index as usize))),
        }
    }

    /// How many records were chosen.
    pub fn len(&self) -> usize {
        match &self.chosen {
            None => self.records.len().saturating_sub(self.first),
            Some(chosen) => chosen.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Picks the records of one instrument (`wanted`, `--ticker`) from the data records, those from
/// `header.data_start` on.
pub(super) fn select<'r>(
    records: &'r Records<'r>,
    header: &Header,
    wanted: Option<&str>,
    path: &Path,
) -> Result<Selection<'r>, DataError> {
    let first = header.data_start;
    let Some(column) = &header.columns.ticker else {
        let mut warnings = Vec::new();
        if let (Some(wanted), None) = (wanted, &header.ticker) {
            warnings.push(format!(
                "--ticker {}: the file has no ticker column, so every row was read.",
                excerpt(wanted)
            ));
        }
        return Ok(Selection::all(records, first, header.ticker.clone(), warnings));
    };
    let groups = Groups::of(records, first, column.index, usize::MAX).unwrap_or_default();
    let chosen = match (wanted, groups.values.len()) {
        (None, 0) => return Ok(Selection::all(records, first, None, Vec::new())),
        (None, 1) => return Ok(Selection::all(records, first, Some(list(&groups.values)), Vec::new())),
        (None, _) => {
            let (fewest, median, most) = groups.spread();
            return Err(DataError::at(
                path,
                header.line,
                column.location(),
                format!(
                    "the file holds {} tickers in column \"{}\" ({}), with {fewest} to {most} rows each (median \
                     {median})",
                    groups.values.len(),
                    column.label(),
                    list(&groups.values)
                ),
            )
            .with_hint(format!(
                "choose one with --ticker SYMBOL, for example --ticker {}",
                groups.values.first().map_or(String::new(), |value| excerpt(value))
            )));
        }
        (Some(wanted), _) => {
            choose(&groups.values, wanted).map_err(|message| no_match(header, column, message, path))?
        }
    };
    Ok(groups.selection(records, first, &groups.positions_of(&chosen)))
}

/// One instrument of [`select_each`]: its id, the first of its ticker values as written (`None`
/// when the file names none), and its records or why they cannot be read.
pub(super) type Instrument<'r> = (Option<String>, Result<Selection<'r>, DataError>);

/// Picks the records of every instrument `choice` names, from one pass over the data records:
/// for [`TickerChoice::All`] in order of first appearance, the values `--ticker` tells apart each
/// one instrument (see `symbols::instruments`; a column with a single value reads every row, as
/// [`select`] does); for [`TickerChoice::Listed`] in the order listed, each name matched as
/// `--ticker` is, a name that matches none being that instrument's error. Either way an
/// instrument's id selects it again as `--ticker`. A file that names no ticker is one instrument.
/// The error is for the file as a whole: more than [`MAX_TICKERS`] tickers for `All`.
pub(super) fn select_each<'r>(
    records: &'r Records<'r>,
    header: &Header,
    choice: &TickerChoice,
    path: &Path,
) -> Result<Vec<Instrument<'r>>, DataError> {
    let first = header.data_start;
    let (names, cap) = match choice {
        TickerChoice::All => (None, MAX_TICKERS),
        TickerChoice::Listed(names) if names.is_empty() => return Ok(Vec::new()),
        TickerChoice::Listed(names) => (Some(names), usize::MAX),
    };
    let groups = match &header.columns.ticker {
        Some(column) => Groups::of(records, first, column.index, cap)
            .ok_or_else(|| too_many_tickers(header, column, path))?,
        None => Groups::default(),
    };
    let column = match &header.columns.ticker {
        Some(column) if !groups.values.is_empty() => column,
        _ => {
            let mut warnings = Vec::new();
            if let Some(names) = names {
                warnings.push(format!(
                    "{}: the file names no ticker, so every row was read as one instrument.",
                    list(names)
                ));
            }
            return Ok(vec![(None, Ok(Selection::all(records, first, header.ticker.clone(), warnings)))]);
        }
    };
    Ok(match names {
        None if groups.values.len() == 1 => {
            let ticker = Some(list(&groups.values));
            vec![(groups.values.into_iter().next(), Ok(Selection::all(records, first, ticker, Vec::new())))]
        }
        None => instruments(&groups.values)
            .iter()
            .map(|positions| (groups.first_value(positions), Ok(groups.selection(records, first, positions))))
            .collect(),
        Some(names) => names
            .iter()
            .map(|name| match choose(&groups.values, name) {
                Ok(chosen) => {
                    let positions = groups.positions_of(&chosen);
                    (groups.first_value(&positions), Ok(groups.selection(records, first, &positions)))
                }
                Err(message) => (Some(name.clone()), Err(no_match(header, column, message, path))),
            })
            .collect(),
    })
}

/// The instruments of a ticker column: its non-empty values in order of first appearance, each
/// with the indices of its records in file order.
#[derive(Debug, Default)]
struct Groups {
    values: Vec<String>,
    rows: Vec<Vec<u32>>,
}

impl Groups {
    /// Groups the records from `first` on by the value of column `index`, in one pass over them;
    /// `None` when there are more than `cap` values.
    fn of(records: &Records, first: usize, index: usize, cap: usize) -> Option<Groups> {
        let mut groups = Groups::default();
        let mut positions: HashMap<Cow<'_, str>, usize> = HashMap::new();
        // The value of the record before and its position: files list an instrument's rows together.
        let mut last: Option<(Cow<'_, str>, usize)> = None;
        for at in first..records.len() {
            // Records are counted in 32 bits (see `records`), so every index fits.
            let (Some(record), Ok(at)) = (records.get(at), u32::try_from(at)) else { continue };
            let value = record.lossy(index);
            if value.is_empty() {
                continue;
            }
            let position = match &last {
                Some((before, position)) if *before == value => *position,
                _ => match positions.get(value.as_ref()) {
                    Some(&position) => position,
                    None if groups.values.len() >= cap => return None,
                    None => {
                        groups.values.push(value.to_string());
                        groups.rows.push(Vec::new());
                        positions.insert(value.clone(), groups.values.len() - 1);
                        groups.values.len() - 1
                    }
                },
            };
            if let Some(rows) = groups.rows.get_mut(position) {
                rows.push(at);
            }
            last = Some((value, position));
        }
        Some(groups)
    }

    /// The positions of the `chosen` values (values of the column).
    fn positions_of(&self, chosen: &[String]) -> Vec<usize> {
        self.values.iter().enumerate().filter(|(_, value)| chosen.contains(value)).map(|(p, _)| p).collect()
    }

    /// The value at the first of `positions`: the id of the instrument they make.
    fn first_value(&self, positions: &[usize]) -> Option<String> {
        positions.first().and_then(|&position| self.values.get(position)).cloned()
    }

    /// The records of the values at `positions`, in file order.
    fn selection<'r>(&self, records: &'r Records<'r>, first: usize, positions: &[usize]) -> Selection<'r> {
        let values: Vec<String> = positions.iter().filter_map(|&p| self.values.get(p).cloned()).collect();
        let mut chosen: Vec<u32> =
            positions.iter().filter_map(|&p| self.rows.get(p)).flatten().copied().collect();
        if positions.len() > 1 {
            chosen.sort_unstable();
        }
        Selection { records, first, chosen: Some(chosen), ticker: Some(list(&values)), warnings: Vec::new() }
    }

    /// Fewest, median and most rows per ticker.
    fn spread(&self) -> (usize, usize, usize) {
        let mut sizes: Vec<usize> = self.rows.iter().map(Vec::len).collect();
        sizes.sort_unstable();
        let fewest = sizes.first().copied().unwrap_or(0);
        let most = sizes.last().copied().unwrap_or(0);
        let median = sizes.get(sizes.len() / 2).copied().unwrap_or(0);
        (fewest, median, most)
    }
}

/// A name that selects no ticker of the column (`message` from `symbols::choose`).
fn no_match(header: &Header, column: &Column, message: String, path: &Path) -> DataError {
    DataError::at(path, header.line, column.location(), message)
        .with_hint("pass one of the tickers listed with --ticker")
}

fn too_many_tickers(header: &Header, column: &Column, path: &Path) -> DataError {
    DataError::at(
        path,
        header.line,
        column.location(),
        format!("the file holds more than {MAX_TICKERS} tickers in column \"{}\"", column.label()),
    )
    .with_hint("read a list of them, or check that this column holds tickers")
}
