//! Step 8: from rows to the series. Sorts by date, keeps one row per date (the last in the file,
//! naming the lines), fills missing opens, drops a volume column with no values, deals with an
//! in-progress last row, and builds the [`Series`].
//!
//! A missing (or zero) open is set to the previous close, kept inside the day's [low, high]: the
//! day then shows no overnight gap, and `log(open / previous close)` stays finite.
//!
//! The last row is a day still in progress (dropped, with a warning) when its volume is below 10%
//! of the median volume of the 20 rows before it, or when the series trades every day (crypto) and
//! the row is dated today or later (UTC): such candles close at midnight UTC. It *may* be in progress
//! (kept, with a warning) when its volume is below half of both that median and the day before.
//! `--last-row keep` or `--last-row drop` decides instead.

use std::path::Path;

use chrono::{Datelike, NaiveDate, Weekday};

use super::header::ColumnMap;
use super::options::LastRow;
use super::rows::{count_drop, DropReason, RawRow};
use super::show::count_noun;
use crate::data::{LoadReport, Series};
use crate::error::DataError;

/// Sorts, de-duplicates, fills and checks `rows`, and builds the series.
pub(super) fn clean(
    mut rows: Vec<RawRow>,
    columns: &ColumnMap,
    last_row: LastRow,
    today: NaiveDate,
    path: &Path,
    mut report: LoadReport,
) -> Result<(Series, LoadReport), DataError> {
    widened_warning(&rows, &mut report);
    // Most files are in date order already: no sort then, nor the memory a stable sort takes.
    if !rows.is_sorted_by_key(|row| row.date) {
        rows.sort_by_key(|row| row.date);
    }
    let rows = dedupe_keep_last(rows, &mut report);
    if rows.is_empty() {
        return Err(no_usable_rows_error(path, &report));
    }
    let mut rows = rows;
    fill_opens(&mut rows, &mut report);
    let has_volume = volume_used(&rows, columns, &mut report);
    drop_in_progress(&mut rows, last_row, has_volume, today, &mut report);
    if rows.is_empty() {
        return Err(no_usable_rows_error(path, &report));
    }
    let series = build_series(&rows, has_volume);
    report.rows_used = series.len();
    Ok((series, report))
}

/// Dates named in a warning before "...".
const DATES_SHOWN: usize = 5;

/// Up to [`DATES_SHOWN`] dates, comma-separated, then "...".
fn some_dates(dates: &[NaiveDate]) -> String {
    let mut shown: Vec<String> = dates.iter().take(DATES_SHOWN).map(ToString::to_string).collect();
    if dates.len() > DATES_SHOWN {
        shown.push("...".to_string());
    }
    shown.join(", ")
}

fn widened_warning(rows: &[RawRow], report: &mut LoadReport) {
    let mut dates: Vec<NaiveDate> = rows.iter().filter(|row| row.widened).map(|row| row.date).collect();
    if dates.is_empty() {
        return;
    }
    dates.sort();
    report.warnings.push(format!(
        "{} had close outside [low, high] ({}); low/high widened to include it.",
        count_noun(dates.len(), "row", "rows"),
        some_dates(&dates)
    ));
}

/// Lines named for one repeated date before "and N more".
const LINES_SHOWN: usize = 5;

/// A date that more than one row has: the line kept and the lines dropped.
struct Repeat {
    date: NaiveDate,
    kept: u64,
    /// The first [`LINES_SHOWN`] lines dropped...
    dropped: Vec<u64>,
    /// ...and how many more.
    more: usize,
}

/// Given rows sorted by date (stably, so file order within a date), keeps the last row of each
/// date, in place; lists the repeated dates in the report with a warning naming the lines.
fn dedupe_keep_last(mut rows: Vec<RawRow>, report: &mut LoadReport) -> Vec<RawRow> {
    let mut repeats: Vec<Repeat> = Vec::new();
    let mut removed = 0;
    // `later` is removed when the closure says so; swapping first keeps the later row instead.
    rows.dedup_by(|later, kept| {
        if later.date != kept.date {
            return false;
        }
        match repeats.last_mut() {
            Some(repeat) if repeat.date == later.date => {
                if repeat.dropped.len() < LINES_SHOWN {
                    repeat.dropped.push(repeat.kept);
                } else {
                    repeat.more += 1;
                }
                repeat.kept = later.line;
            }
            _ => {
                repeats.push(Repeat { date: later.date, kept: later.line, dropped: vec![kept.line], more: 0 })
            }
        }
        std::mem::swap(later, kept);
        removed += 1;
        true
    });
    if removed > 0 {
        count_drop(report, DropReason::DuplicateDate, removed);
        report.duplicates = repeats.iter().map(|repeat| repeat.date).collect();
        report.warnings.push(duplicate_warning(&repeats, removed));
    }
    rows
}

fn duplicate_warning(repeats: &[Repeat], removed: usize) -> String {
    let lines = |repeat: &Repeat| {
        let mut lines: Vec<String> = repeat.dropped.iter().map(ToString::to_string).collect();
        if repeat.more > 0 {
            lines.push(format!("and {} more", repeat.more));
        }
        lines.join(", ")
    };
    let mut shown: Vec<String> = repeats
        .iter()
        .take(DATES_SHOWN)
        .map(|repeat| format!("{} (kept line {}, dropped {})", repeat.date, repeat.kept, lines(repeat)))
        .collect();
    if repeats.len() > DATES_SHOWN {
        shown.push("...".to_string());
    }
    format!(
        "{} repeated an earlier date ({}: {}); the last row in the file for each date was kept.",
        count_noun(removed, "row", "rows"),
        count_noun(repeats.len(), "date", "dates"),
        shown.join(", ")
    )
}

/// Sets each missing open to the previous close (the row's own close on the first row), kept
/// inside the day's [low, high].
fn fill_opens(rows: &mut [RawRow], report: &mut LoadReport) {
    let mut filled: Vec<NaiveDate> = Vec::new();
    let mut previous_close = None;
    for row in rows.iter_mut() {
        if row.open.is_none() {
            let reference = previous_close.unwrap_or(row.close);
            row.open = Some(reference.clamp(row.low, row.high));
            filled.push(row.date);
        }
        previous_close = Some(row.close);
    }
    if let (Some(first), Some(last)) = (filled.first(), filled.last()) {
        let span = if first == last { first.to_string() } else { format!("{first} to {last}") };
        report.warnings.push(format!(
            "{} had an open of 0 or none ({span}); open was set to the previous close, within the day's \
             low-high range.",
            count_noun(filled.len(), "row", "rows")
        ));
    }
}

/// Whether the series gets a volume: not when the file has no volume column, nor when the
/// column holds no value at all (Investing.com's `Vol.` of `-`). Warns about filled volumes.
fn volume_used(rows: &[RawRow], columns: &ColumnMap, report: &mut LoadReport) -> bool {
    let Some(column) = &columns.volume else {
        return false;
    };
    let filled = rows.iter().filter(|row| row.volume_filled).count();
    if filled == rows.len() {
        report
            .warnings
            .push(format!("column \"{}\" has no volume values; the series has no volume.", column.label()));
        report.columns.remove("volume");
        return false;
    }
    if filled > 0 {
        report
            .warnings
            .push(format!("{} had no volume; volume was set to 0.", count_noun(filled, "row", "rows")));
    }
    true
}

/// Volumes of the rows before the last that a last row is compared with.
const RECENT_ROWS: usize = 20;
/// Fewest usable volumes among them for a volume test.
const RECENT_NEEDED: usize = 10;
/// Rows looked at for weekend dates.
const WEEKEND_ROWS: usize = 30;

/// What the last row looks like.
#[derive(Debug, Clone, PartialEq)]
enum LastDay {
    Complete,
    /// Possibly in progress, for this reason.
    Maybe(String),
    /// In progress, for this reason.
    InProgress(String),
}

fn drop_in_progress(
    rows: &mut Vec<RawRow>,
    last_row: LastRow,
    has_volume: bool,
    today: NaiveDate,
    report: &mut LoadReport,
) {
    let Some(last) = rows.last() else { return };
    let (date, line) = (last.date, last.line);
    let verdict = match last_row {
        LastRow::Keep => return,
        LastRow::Drop => LastDay::InProgress("--last-row drop".to_string()),
        LastRow::Auto => last_day(rows, has_volume, today),
    };
    match verdict {
        LastDay::Complete => {}
        LastDay::Maybe(reason) => report.warnings.push(format!(
            "the last row ({date}, line {line}) may be a day still in progress: {reason}; if it is, pass \
             --last-row drop."
        )),
        LastDay::InProgress(reason) => {
            rows.pop();
            count_drop(report, DropReason::InProgress, 1);
            report.warnings.push(if last_row == LastRow::Drop {
                format!("dropped the last row ({date}, line {line}), as --last-row drop asks.")
            } else {
                format!(
                    "dropped the last row ({date}, line {line}) as a day still in progress: {reason} \
                     (--last-row keep keeps it)."
                )
            });
        }
    }
}

/// Applies the rules in the module documentation to the last of `rows`.
fn last_day(rows: &[RawRow], has_volume: bool, today: NaiveDate) -> LastDay {
    let Some((last, before)) = rows.split_last() else { return LastDay::Complete };
    if last.date >= today && trades_every_day(before) {
        return LastDay::InProgress(format!(
            "it is dated {} and this market trades every day, so its day had not closed (UTC)",
            last.date
        ));
    }
    let Some(volume) = last.volume.filter(|&v| has_volume && v > 0.0 && !last.volume_filled) else {
        return LastDay::Complete;
    };
    let recent: Vec<f64> = before
        .iter()
        .rev()
        .take(RECENT_ROWS)
        .filter(|row| !row.volume_filled)
        .filter_map(|row| row.volume)
        .filter(|&v| v > 0.0)
        .collect();
    let Some(median) = median(&recent).filter(|_| recent.len() >= RECENT_NEEDED) else {
        return LastDay::Complete;
    };
    let share = volume / median;
    let describe = |share: f64| {
        format!(
            "its volume {volume} is {:.1}% of the median of the {} rows before it",
            share * 100.0,
            recent.len()
        )
    };
    if share < 0.1 {
        return LastDay::InProgress(describe(share));
    }
    let previous = before.last().and_then(|row| row.volume).unwrap_or(0.0);
    if share < 0.5 && volume < 0.5 * previous {
        return LastDay::Maybe(format!("{} and under half of the day before", describe(share)));
    }
    LastDay::Complete
}

/// Whether any of the last rows falls on a weekend: a market that trades every day.
fn trades_every_day(rows: &[RawRow]) -> bool {
    rows.iter().rev().take(WEEKEND_ROWS).any(|row| matches!(row.date.weekday(), Weekday::Sat | Weekday::Sun))
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => sorted.get(middle).copied(),
        _ => Some((sorted.get(middle - 1)? + sorted.get(middle)?) / 2.0),
    }
}

fn no_usable_rows_error(path: &Path, report: &LoadReport) -> DataError {
    let counts: Vec<String> = report.dropped.iter().map(|(reason, n)| format!("{n} {reason}")).collect();
    DataError::new(path, format!("no usable rows: all {} data rows were dropped", report.rows_read))
        .with_hint(format!(
            "rows dropped: {}; each row needs a date and positive high, low and close prices",
            counts.join(", ")
        ))
}

fn build_series(rows: &[RawRow], has_volume: bool) -> Series {
    Series {
        dates: rows.iter().map(|row| row.date).collect(),
        open: rows.iter().map(|row| row.open.unwrap_or(row.close)).collect(),
        high: rows.iter().map(|row| row.high).collect(),
        low: rows.iter().map(|row| row.low).collect(),
        close: rows.iter().map(|row| row.close).collect(),
        volume: has_volume.then(|| rows.iter().map(|row| row.volume.unwrap_or(0.0)).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
    }

    fn row(date: &str, close: f64, volume: f64) -> RawRow {
        RawRow {
            line: 0,
            date: day(date),
            open: Some(close),
            high: close,
            low: close,
            close,
            volume: Some(volume),
            volume_filled: false,
            widened: false,
        }
    }

    /// Weekdays from 2024-01-01 (a Monday) with the given volumes.
    fn weekdays(volumes: &[f64]) -> Vec<RawRow> {
        let mut date = day("2024-01-01");
        let mut rows = Vec::new();
        for &volume in volumes {
            while matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
                date = date.succ_opt().unwrap_or(date);
            }
            rows.push(row(&date.to_string(), 10.0, volume));
            date = date.succ_opt().unwrap_or(date);
        }
        rows
    }

    #[test]
    fn a_last_row_far_below_the_median_volume_is_in_progress() {
        let mut volumes = vec![100.0; 20];
        volumes.push(9.0);
        let verdict = last_day(&weekdays(&volumes), true, day("2030-01-01"));
        assert!(
            matches!(verdict, LastDay::InProgress(ref r) if r.contains("9.0% of the median")),
            "{verdict:?}"
        );
        volumes.pop();
        volumes.push(11.0);
        assert!(matches!(last_day(&weekdays(&volumes), true, day("2030-01-01")), LastDay::Maybe(_)));
    }

    #[test]
    fn a_low_last_row_is_complete_when_the_day_before_was_as_low() {
        let mut volumes = vec![100.0; 19];
        volumes.extend([40.0, 30.0]);
        assert_eq!(last_day(&weekdays(&volumes), true, day("2030-01-01")), LastDay::Complete);
    }

    #[test]
    fn too_little_history_or_no_volume_decides_nothing() {
        assert_eq!(last_day(&weekdays(&[100.0; 5]), true, day("2030-01-01")), LastDay::Complete);
        let mut volumes = vec![100.0; 20];
        volumes.push(1.0);
        assert_eq!(last_day(&weekdays(&volumes), false, day("2030-01-01")), LastDay::Complete);
        volumes.pop();
        volumes.push(0.0);
        assert_eq!(last_day(&weekdays(&volumes), true, day("2030-01-01")), LastDay::Complete);
    }

    #[test]
    fn todays_row_of_a_market_that_trades_every_day_is_in_progress() {
        let daily: Vec<RawRow> = (1..=10).map(|d| row(&format!("2024-06-{d:02}"), 10.0, 100.0)).collect();
        assert!(matches!(last_day(&daily, true, day("2024-06-10")), LastDay::InProgress(_)));
        assert_eq!(last_day(&daily, true, day("2024-06-11")), LastDay::Complete);
        let stocks = weekdays(&[100.0; 10]);
        let last = stocks.last().map(|row| row.date).unwrap_or_default();
        assert_eq!(
            last_day(&stocks, true, last),
            LastDay::Complete,
            "a weekday market's row may be complete"
        );
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
