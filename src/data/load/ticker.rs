//! Step 5: one instrument. A ticker column (ticker, symbol, Name, stock symbol, ASSET, `<TICKER>`)
//! with more than one value needs `--ticker`; without it the file is refused with the tickers
//! found. A column with a single value just loads.
//!
//! `--ticker` matches case-insensitively and ignores an exchange prefix (`LMT` selects `LMT` and
//! `NYSE:LMT`). When no value matches exactly, a market suffix may follow (`SPY` selects `SPY.US`),
//! but only when that picks one instrument (`BRK` with `BRK.A` and `BRK.B` is refused).

use std::collections::HashMap;
use std::path::Path;

use super::header::Header;
use super::records::Record;
use crate::error::DataError;

/// The records of the chosen instrument.
#[derive(Debug)]
pub(super) struct Selection<'r> {
    pub records: Vec<&'r Record>,
    /// The ticker value(s) read, when the file names any.
    pub ticker: Option<String>,
    pub warnings: Vec<String>,
}

/// Tickers named in messages.
const TICKERS_SHOWN: usize = 20;

/// Picks the records of one instrument from `records` (the data records after the header).
pub(super) fn select<'r>(
    records: &'r [Record],
    header: &Header,
    wanted: Option<&str>,
    path: &Path,
) -> Result<Selection<'r>, DataError> {
    let all = || records.iter().collect::<Vec<_>>();
    let Some(column) = &header.columns.ticker else {
        let mut warnings = Vec::new();
        if let (Some(wanted), None) = (wanted, &header.ticker) {
            warnings
                .push(format!("--ticker {wanted}: the file has no ticker column, so every row was read."));
        }
        return Ok(Selection { records: all(), ticker: header.ticker.clone(), warnings });
    };
    let (values, counts) = distinct_values(records, column.index);
    let chosen = match (wanted, values.len()) {
        (None, 0) => return Ok(Selection { records: all(), ticker: None, warnings: Vec::new() }),
        (None, 1) => {
            return Ok(Selection { records: all(), ticker: values.first().cloned(), warnings: Vec::new() })
        }
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
                    column.name,
                    list(&values)
                ),
            )
            .with_hint(format!(
                "choose one with --ticker SYMBOL, for example --ticker {}",
                values.first().map_or("", String::as_str)
            )));
        }
        (Some(wanted), _) => choose(&values, wanted).map_err(|message| {
            DataError::at(path, header.line, column.location(), message)
                .with_hint("pass one of the tickers listed with --ticker")
        })?,
    };
    let records = records
        .iter()
        .filter(|record| {
            let value = record.lossy(column.index);
            chosen.iter().any(|c| *c == value)
        })
        .collect();
    Ok(Selection { records, ticker: Some(chosen.join(", ")), warnings: Vec::new() })
}

/// The non-empty values of column `index` in order of first appearance, and how many rows each has.
fn distinct_values(records: &[Record], index: usize) -> (Vec<String>, HashMap<String, usize>) {
    let mut values = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for record in records {
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

/// The values of a ticker column that `wanted` selects, or a message saying why none can be.
pub(super) fn choose(values: &[String], wanted: &str) -> Result<Vec<String>, String> {
    let key = symbol(wanted);
    let exact: Vec<String> = values.iter().filter(|value| symbol(value) == key).cloned().collect();
    if !exact.is_empty() {
        return Ok(exact);
    }
    let suffixed: Vec<String> = values
        .iter()
        .filter(|value| {
            !key.contains('.') && symbol(value).strip_prefix(&key).is_some_and(|rest| rest.starts_with('.'))
        })
        .cloned()
        .collect();
    let mut instruments: Vec<String> = suffixed.iter().map(|value| symbol(value)).collect();
    instruments.sort();
    instruments.dedup();
    match instruments.len() {
        0 => Err(format!(
            "--ticker {wanted}: no such ticker; the file has {} ({})",
            values.len(),
            list(values)
        )),
        1 => Ok(suffixed),
        _ => {
            Err(format!("--ticker {wanted} matches several tickers ({}); give one of them", list(&suffixed)))
        }
    }
}

/// The symbol in upper case, without an exchange prefix such as `NYSE:`.
fn symbol(value: &str) -> String {
    value.rsplit_once(':').map_or(value, |(_, symbol)| symbol).trim().to_uppercase()
}

/// The first [`TICKERS_SHOWN`] values, comma-separated, and how many more there are.
pub(super) fn list(values: &[String]) -> String {
    let shown: Vec<&str> = values.iter().take(TICKERS_SHOWN).map(String::as_str).collect();
    let more = values.len().saturating_sub(TICKERS_SHOWN);
    if more == 0 {
        shown.join(", ")
    } else {
        format!("{}, and {more} more", shown.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| value.to_string()).collect()
    }

    #[test]
    fn tickers_match_case_insensitively_and_without_exchange_prefix() {
        let values = strings(&["AAPL", "NYSE:LMT", "LMT", "msft"]);
        assert_eq!(choose(&values, "aapl"), Ok(strings(&["AAPL"])));
        assert_eq!(choose(&values, "LMT"), Ok(strings(&["NYSE:LMT", "LMT"])));
        assert_eq!(choose(&values, "MSFT"), Ok(strings(&["msft"])));
        assert_eq!(choose(&values, "NYSE:MSFT"), Ok(strings(&["msft"])));
    }

    #[test]
    fn a_market_suffix_matches_only_one_instrument() {
        assert_eq!(choose(&strings(&["SPY.US"]), "SPY"), Ok(strings(&["SPY.US"])));
        assert_eq!(choose(&strings(&["SPY.US", "SPY"]), "spy"), Ok(strings(&["SPY"])));
        let err = choose(&strings(&["BRK.A", "BRK.B"]), "BRK").err().unwrap_or_default();
        assert!(err.contains("matches several tickers (BRK.A, BRK.B)"), "{err}");
        assert_eq!(choose(&strings(&["BRK.A", "BRK.B"]), "brk.b"), Ok(strings(&["BRK.B"])));
        assert!(choose(&strings(&["SPYG"]), "SPY").is_err());
    }

    #[test]
    fn unknown_ticker_lists_what_the_file_has() {
        let err = choose(&strings(&["AAPL", "MSFT"]), "IBM").err().unwrap_or_default();
        assert_eq!(err, "--ticker IBM: no such ticker; the file has 2 (AAPL, MSFT)");
    }

    #[test]
    fn long_lists_are_cut_after_twenty() {
        let values: Vec<String> = (0..25).map(|i| format!("T{i}")).collect();
        let text = list(&values);
        assert!(text.starts_with("T0, T1, "), "{text}");
        assert!(text.ends_with("T19, and 5 more"), "{text}");
    }
}
