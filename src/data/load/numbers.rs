//! Numbers in cells: prices and volumes as exporters write them. Thousands separators
//! (`"1,111.90"`, `2,500,485`) are accepted only in groups of three digits, so a decimal comma
//! (`1,5`) is an error rather than a silently wrong number; volumes may end in K, M or B
//! (`698.62K`); empty, `-`, `null`, `NaN`, `n/a` and `#N/A` (any case) mark a missing value.

use std::borrow::Cow;

use super::records::trim;
use super::show::excerpt;

/// Empty, `-`, null, NaN, n/a, na and #N/A (any case) mark a missing value.
pub(super) fn is_missing(text: &str) -> bool {
    let text = trim(text);
    text.is_empty()
        || text == "-"
        || ["null", "nan", "n/a", "na", "#n/a", "none"].iter().any(|marker| text.eq_ignore_ascii_case(marker))
}

/// `Ok(None)` for a missing value, `Ok(Some(x))` for a finite number (of any sign: the caller
/// decides about zero and negative prices), and `Err(message)` otherwise.
pub(super) fn parse_price(text: &str) -> Result<Option<f64>, String> {
    parse_number(text, "price", false)
}

/// Like [`parse_price`], with a K/M/B suffix allowed; a negative volume is an error.
pub(super) fn parse_volume(text: &str) -> Result<Option<f64>, String> {
    match parse_number(text, "volume", true)? {
        Some(volume) if volume < 0.0 => Err(format!("volume \"{}\" is negative", excerpt(text))),
        volume => Ok(volume),
    }
}

fn parse_number(text: &str, what: &str, suffix_allowed: bool) -> Result<Option<f64>, String> {
    let text = trim(text);
    if let Some(value) = plain_decimal(text.as_bytes()) {
        return Ok(Some(value));
    }
    if is_missing(text) {
        return Ok(None);
    }
    let not_a_number = || format!("cannot parse {what} \"{}\" as a number", excerpt(text));
    let (body, multiplier) = if suffix_allowed { split_suffix(text) } else { (text, 1.0) };
    let body = body.strip_prefix('$').unwrap_or(body);
    let plain: Cow<str> = if body.contains(',') {
        Cow::Owned(ungroup(body).ok_or_else(not_a_number)?)
    } else {
        Cow::Borrowed(body)
    };
    match plain.parse::<f64>() {
        Ok(value) if value.is_nan() => Ok(None),
        Ok(value) if !(value * multiplier).is_finite() => {
            Err(format!("{what} \"{}\" is not a finite number", excerpt(text)))
        }
        Ok(value) => Ok(Some(value * multiplier)),
        Err(_) => Err(not_a_number()),
    }
}

/// Powers of ten that are exact in an `f64`.
const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
];

/// The most significant digits read by [`plain_decimal`]: they stay below 2^53, exact in an `f64`.
const EXACT_DIGITS: usize = 15;

/// The value of a cell such as `123.4567` or `2500485` (digits, at most one point, at most 15
/// digits in all), the way most cells are written, read without `str::parse` (nor a UTF-8 check:
/// such a cell is ASCII); `None` for anything else. Digits and a power of ten are both exact in an
/// `f64`, so their quotient is rounded once, to the same value `str::parse` gives.
pub(super) fn plain_decimal(text: &[u8]) -> Option<f64> {
    let (mut digits, mut mantissa, mut point) = (0usize, 0u64, None);
    for (at, &byte) in text.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                digits += 1;
                mantissa = mantissa * 10 + u64::from(byte - b'0');
            }
            b'.' if point.is_none() => point = Some(at),
            _ => return None,
        }
    }
    if digits == 0 || digits > EXACT_DIGITS {
        return None;
    }
    let decimals = point.map_or(0, |at| text.len() - at - 1);
    Some(mantissa as f64 / EXACT_POWERS.get(decimals)?)
}

/// `698.62K` → (`698.62`, 1e3); also M (1e6) and B (1e9), either case. Anything else is returned
/// as it is.
fn split_suffix(text: &str) -> (&str, f64) {
    let multiplier = match text.as_bytes().last() {
        Some(b'K' | b'k') => 1e3,
        Some(b'M' | b'm') => 1e6,
        Some(b'B' | b'b') => 1e9,
        _ => return (text, 1.0),
    };
    let body = &text[..text.len() - 1];
    if body.bytes().last().is_some_and(|b| b.is_ascii_digit() || b == b'.') {
        (body, multiplier)
    } else {
        (text, 1.0)
    }
}

/// `1,111.90` → `1111.90` when the commas separate groups of three digits; `None` otherwise.
fn ungroup(text: &str) -> Option<String> {
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'+' | b'-') => text.split_at(1),
        _ => ("", text),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let mut groups = whole.split(',');
    let head = groups.next()?;
    let tail: Vec<&str> = groups.collect();
    let grouped = (1..=3).contains(&head.len())
        && all_digits(head)
        && !tail.is_empty()
        && tail.iter().all(|group| group.len() == 3 && all_digits(group))
        && !matches!(fraction, Some(fraction) if !all_digits(fraction));
    if !grouped {
        return None;
    }
    let mut plain = format!("{sign}{head}{}", tail.concat());
    if let Some(fraction) = fraction {
        plain.push('.');
        plain.push_str(fraction);
    }
    Some(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_and_missing_markers() {
        assert_eq!(parse_price("123.45"), Ok(Some(123.45)));
        assert_eq!(parse_price(" 7 "), Ok(Some(7.0)));
        assert_eq!(parse_price("$12.50"), Ok(Some(12.5)));
        for missing in ["", "-", "null", "NULL", "NaN", "nan", "n/a", "N/A", "#N/A", "  "] {
            assert_eq!(parse_price(missing), Ok(None), "{missing:?}");
        }
    }

    #[test]
    fn thousands_separators_in_groups_of_three() {
        assert_eq!(parse_price("1,111.90"), Ok(Some(1111.9)));
        assert_eq!(parse_volume("2,500,485"), Ok(Some(2_500_485.0)));
        assert_eq!(parse_price("-1,000"), Ok(Some(-1000.0)));
        for bad in ["1,5", "1,11", "1,1111", ",111", "1,,111", "1111,111", "1,111.9,0", "1,111.x"] {
            assert!(parse_price(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn volume_suffixes() {
        assert_eq!(parse_volume("698.62K"), Ok(Some(698_620.0)));
        assert_eq!(parse_volume("1.5M"), Ok(Some(1_500_000.0)));
        assert_eq!(parse_volume("2b"), Ok(Some(2e9)));
        assert!(parse_volume("K").is_err());
        assert!(parse_volume("1.5X").is_err());
        assert!(parse_price("698.62K").is_err(), "prices take no suffix");
    }

    #[test]
    fn plain_decimals_read_as_str_parse_reads_them() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let digits = format!("{}", state % 10u64.pow(1 + (state % 15) as u32));
            let point = (state >> 40) as usize % (digits.len() + 2);
            let text = match point {
                0 => digits,
                point => format!(
                    "{}.{}",
                    &digits[..(point - 1).min(digits.len())],
                    &digits[(point - 1).min(digits.len())..]
                ),
            };
            assert_eq!(plain_decimal(text.as_bytes()), text.parse::<f64>().ok(), "{text}");
        }
        for text in ["0", "0.0", "1.", ".5", "000123.4500", "999999999999999", "0.00000000000001"] {
            assert_eq!(plain_decimal(text.as_bytes()), text.parse::<f64>().ok(), "{text}");
        }
        for other in
            ["", ".", "1.2.3", "-1", "+1", "1e5", "1,000", "1234567890123456", "0.000000000000001", " 1"]
        {
            assert_eq!(plain_decimal(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn bad_and_infinite_numbers_are_errors() {
        for bad in ["abc", "1.2.3", "inf", "-Infinity", "1e400"] {
            assert!(parse_price(bad).is_err(), "{bad}");
        }
        assert!(parse_volume("1e306B").is_err());
        assert!(parse_volume("-5").is_err());
    }
}
