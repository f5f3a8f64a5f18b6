//! Trading calendars: which days a forecast step lands on.
//!
//! - `weekdays`: Monday to Friday.
//! - `nyse`: weekdays except the New York Stock Exchange's full-day holidays, computed from the
//!   exchange's rules for any year (not a fixed list): New Year's Day, Martin Luther King Jr. Day
//!   (third Monday of January, from 1998), Washington's Birthday (third Monday of February), Good
//!   Friday, Memorial Day (last Monday of May), Juneteenth (June 19, from 2022), Independence Day,
//!   Labor Day (first Monday of September), Thanksgiving (fourth Thursday of November) and
//!   Christmas. A fixed-date holiday on a Saturday is observed the Friday before, on a Sunday the
//!   Monday after — except New Year's Day on a Saturday, which is not observed (NYSE Rule 7.2).
//!   One-off closures (national days of mourning, 9/11, Hurricane Sandy) are not rules and are not
//!   included.
//! - `crypto`: every day.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Calendar {
    Weekdays,
    Nyse,
    Crypto,
}

impl Calendar {
    /// Every calendar's name, as `--calendar` and the model file spell it.
    pub const NAMES: [&'static str; 3] = ["weekdays", "nyse", "crypto"];

    /// The calendar named `name` (one of [`Calendar::NAMES`]).
    pub fn from_name(name: &str) -> Option<Calendar> {
        match name {
            "weekdays" => Some(Calendar::Weekdays),
            "nyse" => Some(Calendar::Nyse),
            "crypto" => Some(Calendar::Crypto),
            _ => None,
        }
    }

    pub fn is_trading_day(self, date: NaiveDate) -> bool {
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        match self {
            Calendar::Crypto => true,
            Calendar::Weekdays => !weekend,
            Calendar::Nyse => !weekend && !is_nyse_holiday(date),
        }
    }

    /// The first trading day after `date`.
    pub fn next_trading_day(self, date: NaiveDate) -> NaiveDate {
        let mut next = date + Days::new(1);
        while !self.is_trading_day(next) {
            next = next + Days::new(1);
        }
        next
    }

    /// The `n` trading days after `date`.
    pub fn next_trading_days(self, date: NaiveDate, n: usize) -> Vec<NaiveDate> {
        let mut days = Vec::with_capacity(n);
        let mut current = date;
        for _ in 0..n {
            current = self.next_trading_day(current);
            days.push(current);
        }
        days
    }

    /// The calendar the data itself suggests: every day when it trades on weekends (more than
    /// 5 % of its rows fall on a Saturday or Sunday), else weekdays.
    pub fn detect(dates: &[NaiveDate]) -> Calendar {
        let weekend = dates.iter().filter(|d| matches!(d.weekday(), Weekday::Sat | Weekday::Sun)).count();
        if weekend * 20 > dates.len() {
            Calendar::Crypto
        } else {
            Calendar::Weekdays
        }
    }
}

/// The `n`-th (1-based) `weekday` of `month`.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

/// The last `weekday` of `month`.
fn last_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    nth_weekday(year, month, weekday, 5).or_else(|| nth_weekday(year, month, weekday, 4))
}

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
pub fn easter(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// A fixed-date holiday moved off the weekend: Saturday → Friday, Sunday → Monday.
fn observed(date: NaiveDate) -> NaiveDate {
    match date.weekday() {
        Weekday::Sat => date - Days::new(1),
        Weekday::Sun => date + Days::new(1),
        _ => date,
    }
}

/// The NYSE's full-day holidays of `year`, as observed, by rule.
pub fn nyse_holidays(year: i32) -> Vec<NaiveDate> {
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    let mut days = Vec::new();
    if let Some(new_year) = ymd(1, 1) {
        if new_year.weekday() != Weekday::Sat {
            days.push(observed(new_year));
        }
    }
    if year >= 1998 {
        days.extend(nth_weekday(year, 1, Weekday::Mon, 3));
    }
    days.extend(nth_weekday(year, 2, Weekday::Mon, 3));
    days.extend(easter(year).map(|e| e - Days::new(2)));
    days.extend(last_weekday(year, 5, Weekday::Mon));
    if year >= 2022 {
        days.extend(ymd(6, 19).map(observed));
    }
    days.extend(ymd(7, 4).map(observed));
    days.extend(nth_weekday(year, 9, Weekday::Mon, 1));
    days.extend(nth_weekday(year, 11, Weekday::Thu, 4));
    days.extend(ymd(12, 25).map(observed));
    days.sort();
    days
}

pub fn is_nyse_holiday(date: NaiveDate) -> bool {
    nyse_holidays(date.year()).contains(&date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn nyse_holidays_2024_to_2026_match_the_exchange() {
        let expected = [
            (
                2024,
                vec![
                    "2024-01-01",
                    "2024-01-15",
                    "2024-02-19",
                    "2024-03-29",
                    "2024-05-27",
                    "2024-06-19",
                    "2024-07-04",
                    "2024-09-02",
                    "2024-11-28",
                    "2024-12-25",
                ],
            ),
            (
                2025,
                vec![
                    "2025-01-01",
                    "2025-01-20",
                    "2025-02-17",
                    "2025-04-18",
                    "2025-05-26",
                    "2025-06-19",
                    "2025-07-04",
                    "2025-09-01",
                    "2025-11-27",
                    "2025-12-25",
                ],
            ),
            (
                2026,
                vec![
                    "2026-01-01",
                    "2026-01-19",
                    "2026-02-16",
                    "2026-04-03",
                    "2026-05-25",
                    "2026-06-19",
                    "2026-07-03",
                    "2026-09-07",
                    "2026-11-26",
                    "2026-12-25",
                ],
            ),
        ];
        for (year, days) in expected {
            let want: Vec<NaiveDate> = days.iter().map(|s| d(s)).collect();
            assert_eq!(nyse_holidays(year), want, "{year}");
        }
    }

    #[test]
    fn weekend_observance_rules() {
        // 2021-12-25 is a Saturday: observed Friday 2021-12-24.
        assert!(is_nyse_holiday(d("2021-12-24")));
        // 2022-01-01 is a Saturday: not observed on Friday 2021-12-31.
        assert!(!is_nyse_holiday(d("2021-12-31")));
        // 2023-01-01 is a Sunday: observed Monday 2023-01-02.
        assert!(is_nyse_holiday(d("2023-01-02")));
        // 2022-06-19 is a Sunday: Juneteenth observed Monday 2022-06-20; none before 2022.
        assert!(is_nyse_holiday(d("2022-06-20")));
        assert!(!is_nyse_holiday(d("2021-06-18")));
        // Easter: a few known dates.
        assert_eq!(easter(2000), Some(d("2000-04-23")));
        assert_eq!(easter(2019), Some(d("2019-04-21")));
        assert_eq!(easter(2038), Some(d("2038-04-25")));
    }

    #[test]
    fn next_trading_days_skip_what_each_calendar_closes() {
        // Wednesday 2024-07-03 → Thursday the 4th is a holiday on the NYSE.
        assert_eq!(
            Calendar::Nyse.next_trading_days(d("2024-07-03"), 2),
            vec![d("2024-07-05"), d("2024-07-08")]
        );
        assert_eq!(
            Calendar::Weekdays.next_trading_days(d("2024-07-03"), 2),
            vec![d("2024-07-04"), d("2024-07-05")]
        );
        assert_eq!(
            Calendar::Crypto.next_trading_days(d("2024-07-05"), 2),
            vec![d("2024-07-06"), d("2024-07-07")]
        );
        // Friday before Good Friday 2025 is Thursday the 17th → Monday the 21st.
        assert_eq!(Calendar::Nyse.next_trading_day(d("2025-04-17")), d("2025-04-21"));
    }

    #[test]
    fn weekend_trading_data_is_detected() {
        let every_day: Vec<NaiveDate> = (0..30).map(|i| d("2024-01-01") + Days::new(i)).collect();
        assert_eq!(Calendar::detect(&every_day), Calendar::Crypto);
        let weekdays: Vec<NaiveDate> =
            every_day.iter().copied().filter(|x| Calendar::Weekdays.is_trading_day(*x)).collect();
        assert_eq!(Calendar::detect(&weekdays), Calendar::Weekdays);
    }
}
