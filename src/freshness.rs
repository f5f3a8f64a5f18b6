//! Is the data fresh enough to forecast from? A cron job that forecasts from a file its download
//! step failed to refresh should fail loudly (`predict --max-age`, exit 5), and a hole in the
//! latest rows is worth a warning.

use crate::data::Series;
use chrono::NaiveDate;

/// Gaps longer than this many calendar days in the latest rows are warned about.
pub const GAP_DAYS: i64 = 7;
/// How many of the latest rows are looked at for gaps.
const RECENT_ROWS: usize = 30;

/// The first gap of more than [`GAP_DAYS`] among the latest rows: (day before, day after).
pub fn recent_gap(series: &Series) -> Option<(NaiveDate, NaiveDate)> {
    let recent = &series.dates[series.len().saturating_sub(RECENT_ROWS)..];
    recent.windows(2).find(|w| (w[1] - w[0]).num_days() > GAP_DAYS).map(|w| (w[0], w[1]))
}

/// The data's age in calendar days on `reference` when it is more than `max_age` days: its last
/// date is too old. None when fresh enough (or empty).
pub fn too_old(series: &Series, max_age: u64, reference: NaiveDate) -> Option<(NaiveDate, i64)> {
    let &last = series.dates.last()?;
    let age = (reference - last).num_days();
    // A negative age (data dated after `reference`) is fresh; compare without casting max_age,
    // which may exceed i64.
    (age > 0 && age as u64 > max_age).then_some((last, age))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(dates: &[&str]) -> Series {
        let dates: Vec<NaiveDate> = dates.iter().map(|d| d.parse().unwrap()).collect();
        let ones = vec![1.0; dates.len()];
        Series { dates, open: ones.clone(), high: ones.clone(), low: ones.clone(), close: ones, volume: None }
    }

    #[test]
    fn age_is_compared_without_overflow() {
        let s = series(&["2025-01-01", "2025-01-02"]);
        let on = |d: &str| d.parse::<NaiveDate>().unwrap();
        assert_eq!(too_old(&s, 3, on("2025-01-05")), None);
        assert_eq!(too_old(&s, 2, on("2025-01-05")), Some((on("2025-01-02"), 3)));
        assert_eq!(too_old(&s, u64::MAX, on("2025-01-05")), None);
        assert_eq!(too_old(&s, 1 << 63, on("2025-01-05")), None);
        assert_eq!(too_old(&s, 0, on("2024-12-01")), None);
        assert_eq!(too_old(&series(&[]), 0, on("2024-12-01")), None);
    }

    #[test]
    fn a_gap_in_the_latest_rows_is_found() {
        let s = series(&["2025-01-01", "2025-01-02", "2025-01-13", "2025-01-14"]);
        let gap = recent_gap(&s).unwrap();
        assert_eq!((gap.0.to_string(), gap.1.to_string()), ("2025-01-02".into(), "2025-01-13".into()));
        assert_eq!(recent_gap(&series(&["2025-01-01", "2025-01-08"])), None);
    }
}
