//! Matching `--ticker` against the ticker values a file holds, for both places a file names its
//! instruments: the Ticker line of yfinance's header (`header`) and a ticker column (`ticker`).
//!
//! `--ticker` matches case-insensitively and ignores an exchange prefix (`LMT` selects `LMT` and
//! `NYSE:LMT`). When no value matches exactly, a market suffix may follow (`SPY` selects `SPY.US`),
//! but only when that picks one instrument (`BRK` with `BRK.A` and `BRK.B` is refused).

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::show::{excerpt, list};

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
    let wanted = excerpt(wanted);
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

/// `values` grouped into the instruments [`choose`] tells apart: the positions of the values with
/// the same symbol (`LMT` and `NYSE:LMT`, `aapl` and `AAPL`), in order of first appearance. Any of
/// the values of one instrument selects exactly that instrument's values.
pub(super) fn instruments(values: &[String]) -> Vec<Vec<usize>> {
    let mut instruments: Vec<Vec<usize>> = Vec::new();
    let mut by_symbol: HashMap<String, usize> = HashMap::new();
    for (position, value) in values.iter().enumerate() {
        match by_symbol.entry(symbol(value)) {
            Entry::Occupied(entry) => {
                if let Some(instrument) = instruments.get_mut(*entry.get()) {
                    instrument.push(position);
                }
            }
            Entry::Vacant(entry) => {
                entry.insert(instruments.len());
                instruments.push(vec![position]);
            }
        }
    }
    instruments
}

/// The symbol in upper case, without an exchange prefix such as `NYSE:`.
fn symbol(value: &str) -> String {
    value.rsplit_once(':').map_or(value, |(_, symbol)| symbol).trim().to_uppercase()
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
    fn values_with_one_symbol_are_one_instrument() {
        let values = strings(&["LMT", "AAPL", "NYSE:LMT", "aapl", "SPY.US", "SPY"]);
        assert_eq!(instruments(&values), vec![vec![0, 2], vec![1, 3], vec![4], vec![5]]);
        for value in &values {
            let chosen = choose(&values, value).unwrap_or_default();
            let instrument = instruments(&values)
                .into_iter()
                .find(|positions| positions.iter().any(|&p| values[p] == *value));
            let expected: Vec<String> =
                instrument.unwrap_or_default().iter().map(|&p| values[p].clone()).collect();
            assert_eq!(chosen, expected, "{value}");
        }
    }

    #[test]
    fn unknown_ticker_lists_what_the_file_has() {
        let err = choose(&strings(&["AAPL", "MSFT"]), "IBM").err().unwrap_or_default();
        assert_eq!(err, "--ticker IBM: no such ticker; the file has 2 (AAPL, MSFT)");
    }

    #[test]
    fn tickers_in_messages_are_excerpts() {
        let err = choose(&strings(&["A\u{1b}[2J", &"B".repeat(100)]), "IBM").err().unwrap_or_default();
        assert!(err.contains("A\\u{1b}[2J"), "{err}");
        assert!(!err.contains(&"B".repeat(41)), "{err}");
    }
}
