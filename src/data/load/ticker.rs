//! Step 5: one instrument. A ticker column (ticker, symbol, Name, stock symbol, ASSET, `<TICKER>`)
//! with more than one value needs `--ticker`; without it the file is refused with the tickers
//! found. A column with a single value just loads. `symbols` says which values `--ticker` selects.

use std::collections::HashMap;
use std::path::Path;

use super::header::Header;
use super::records::{Record, Records};
use super::show::{excerpt, list};
use super::symbols::choose;
use crate::error::DataError;

/// The data records of the chosen instrument.
#[derive(Debug)]
pub(super) struct Selection<'r> {
    records: &'r Records,
    /// The index of the first data record.
    first: usize,
    /// The indices of the chosen records; `None` for every data record.
    chosen: Option<Vec<usize>>,
    /// The ticker value(s) read, when the file names any, as messages show them.
    pub ticker: Option<String>,
    pub warnings: Vec<String>,
}

impl<'r> Selection<'r> {
    fn all(records: &'r Records, first: usize, ticker: Option<String>, warnings: Vec<String>) -> Self {
        Selection { records, first, chosen: None, ticker, warnings }
    }

    /// The chosen records, in file order.
    pub fn records(&self) -> Box<dyn Iterator<Item = Record<'r>> + '_> {
        match &self.chosen {
            None => Box::new(self.records.starting_at(self.first)),
            Some(chosen) => Box::new(chosen.iter().filter_map(|&index| self.records.get(index))),
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

/// Picks the records of one instrument from the data records, those from `header.data_start` on.
pub(super) fn select<'r>(
    records: &'r Records,
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
    let (values, counts) = distinct_values(records, first, column.index);
    let chosen = match (wanted, values.len()) {
        (None, 0) => return Ok(Selection::all(records, first, None, Vec::new())),
        (None, 1) => return Ok(Selection::all(records, first, Some(list(&values)), Vec::new())),
        (None, _) => {
            let (fewest, median, most) = spread(&values, &counts);
            return Err(DataError::at(
                path,
                header.line,
                column.location(),
                format!(
                    "the file holds {} tickers in column \"{}\" ({}), with {fewest} to {most} rows each (median \
                     {median})",
                    values.len(),
                    column.label(),
                    list(&values)
                ),
            )
            .with_hint(format!(
                "choose one with --ticker SYMBOL, for example --ticker {}",
                values.first().map_or(String::new(), |value| excerpt(value))
            )));
        }
        (Some(wanted), _) => choose(&values, wanted).map_err(|message| {
            DataError::at(path, header.line, column.location(), message)
                .with_hint("pass one of the tickers listed with --ticker")
        })?,
    };
    let picked = (first..records.len())
        .filter(|&index| {
            records.get(index).is_some_and(|record| {
                let value = record.lossy(column.index);
                chosen.iter().any(|c| *c == value)
            })
        })
        .collect();
    Ok(Selection { records, first, chosen: Some(picked), ticker: Some(list(&chosen)), warnings: Vec::new() })
}

/// The non-empty values of column `index` in the records from `first` on, in order of first
/// appearance, and how many rows each has.
fn distinct_values(records: &Records, first: usize, index: usize) -> (Vec<String>, HashMap<String, usize>) {
    let mut values = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for record in records.starting_at(first) {
        let value = record.lossy(index);
        if value.is_empty() {
            continue;
        }
        match counts.get_mut(value.as_ref()) {
            Some(count) => *count += 1,
            None => {
                values.push(value.to_string());
                counts.insert(value.into_owned(), 1);
            }
        }
    }
    (values, counts)
}

/// Fewest, median and most rows per ticker.
fn spread(values: &[String], counts: &HashMap<String, usize>) -> (usize, usize, usize) {
    let mut sizes: Vec<usize> = values.iter().map(|value| counts.get(value).copied().unwrap_or(0)).collect();
    sizes.sort_unstable();
    let fewest = sizes.first().copied().unwrap_or(0);
    let most = sizes.last().copied().unwrap_or(0);
    let median = sizes.get(sizes.len() / 2).copied().unwrap_or(0);
    (fewest, median, most)
}
