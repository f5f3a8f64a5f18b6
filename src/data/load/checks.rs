//! Step 9: checks on the finished series that only add to the report: gaps longer than a week, and
//! jumps that look like an unadjusted stock split.
//!
//! A split shows as a close that moves by a common split ratio r (2, 3, 4, 5, 7, 8, 10, 20, 50, 100,
//! 1000 or 3:2, either way) from one row to the next, within 6%, *and* an open that already differs
//! from the previous close by r within 3%: prices were rescaled overnight. A crash or a crypto move
//! opens near the previous close, and the one crash in the real test files that gapped at the open
//! (Apple, 2000-09-29: 2.08 at the close, 1.90 at the open) misses the open test. The series is
//! left as it is; the warning says what to do.

use chrono::NaiveDate;

use crate::data::series::Gap;
use crate::data::{LoadReport, Series};

/// Calendar days between two rows above which a gap is reported.
const GAP_DAYS: i64 = 7;

/// Every gap longer than a week between consecutive dates.
pub(super) fn gaps(dates: &[NaiveDate]) -> Vec<Gap> {
    dates
        .windows(2)
        .filter_map(|pair| match pair {
            [from, to] if (*to - *from).num_days() > GAP_DAYS => {
                Some(Gap { from: *from, to: *to, days: (*to - *from).num_days() })
            }
            _ => None,
        })
        .collect()
}

/// Split ratios looked for, as (ratio, how it is written).
const SPLITS: [(f64, &str); 12] = [
    (1.5, "3:2"),
    (2.0, "2:1"),
    (3.0, "3:1"),
    (4.0, "4:1"),
    (5.0, "5:1"),
    (7.0, "7:1"),
    (8.0, "8:1"),
    (10.0, "10:1"),
    (20.0, "20:1"),
    (50.0, "50:1"),
    (100.0, "100:1"),
    (1000.0, "1000:1"),
];
const CLOSE_TOLERANCE: f64 = 0.06;
/// A move below this is no split (the smallest ratio, 1.5, less [`CLOSE_TOLERANCE`], is 1.41):
/// most days are passed over with one comparison.
const SMALLEST_JUMP: f64 = 1.4;
const OPEN_TOLERANCE: f64 = 0.03;

/// Split warnings given one by one; the rest are counted in one more warning.
const SPLITS_SHOWN: usize = 10;

/// Warns about each jump that looks like an unadjusted split (the first [`SPLITS_SHOWN`]; then how
/// many more there are).
pub(super) fn split_warnings(series: &Series, report: &mut LoadReport) {
    let mut found = 0usize;
    for i in 1..series.len() {
        let (Some(&before), Some(&after), Some(&open)) =
            (series.close.get(i - 1), series.close.get(i), series.open.get(i))
        else {
            continue;
        };
        let Some((label, reverse)) = split_ratio(before, open, after) else { continue };
        found += 1;
        if found > SPLITS_SHOWN {
            continue;
        }
        let (Some(from), Some(to)) = (series.dates.get(i - 1), series.dates.get(i)) else { continue };
        let kind = if reverse { format!("{label} reverse split") } else { format!("{label} split") };
        report.warnings.push(format!(
            "the close jumps from {before} on {from} to {after} on {to} (x{:.4}), as an unadjusted {kind} would; \
             the model will read it as a {:+.0}% day. Use split-adjusted prices (a file with an Adj Close or \
             adjusted_close column, or your source's adjusted export).",
            after / before,
            (after / before - 1.0) * 100.0
        ));
    }
    if found > SPLITS_SHOWN {
        report.warnings.push(format!(
            "{} more jumps look like unadjusted splits; use split-adjusted prices.",
            found - SPLITS_SHOWN
        ));
    }
}

/// The split ratio that explains a move from `before` (previous close) to `open` and `after`
/// (this row's open and close), and whether it is a reverse split.
fn split_ratio(before: f64, open: f64, after: f64) -> Option<(&'static str, bool)> {
    let reverse = after > before;
    let (jump, gap) = if reverse { (after / before, open / before) } else { (before / after, before / open) };
    if jump < SMALLEST_JUMP {
        return None;
    }
    SPLITS
        .iter()
        .find(|(ratio, _)| {
            (jump / ratio - 1.0).abs() <= CLOSE_TOLERANCE && (gap / ratio - 1.0).abs() <= OPEN_TOLERANCE
        })
        .map(|(_, label)| (*label, reverse))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn real_splits_are_recognised() {
        // MSFT 2003-02-14 → 18 (Alpha Vantage, unadjusted) and SBER 2007-07-17 → 20 (Finam).
        assert_eq!(split_ratio(48.30, 24.62, 24.96), Some(("2:1", false)));
        assert_eq!(split_ratio(107000.0, 109.0, 109.2), Some(("1000:1", false)));
        assert_eq!(split_ratio(10.0, 100.0, 99.0), Some(("10:1", true)));
    }

    #[test]
    fn crashes_are_not_splits() {
        // AAPL 2000-09-29 (gapped at the open, but not by 2), ETH 2020-03-12 (opened at the previous
        // close), NVDA 2004-08-06 (a 1.54 day that opened 1.44 down).
        assert_eq!(split_ratio(3.4257, 1.8058, 1.6496), None);
        assert_eq!(split_ratio(194.61, 194.61, 107.82), None);
        assert_eq!(split_ratio(0.11123, 0.0772929, 0.0720097), None);
    }

    #[test]
    fn gaps_longer_than_a_week_are_listed() {
        let dates = [day("2015-03-05"), day("2015-03-06"), day("2015-03-23"), day("2015-03-30")];
        assert_eq!(gaps(&dates), vec![Gap { from: day("2015-03-06"), to: day("2015-03-23"), days: 17 }]);
        assert!(gaps(&[day("2015-03-06")]).is_empty());
    }
}
