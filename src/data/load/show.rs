//! How text read from a file appears in messages and in the report. A CSV path can come from a
//! model file, so the file may be anything the user can read (`/etc/shadow`, a key file): no
//! message ever quotes more than [`EXCERPT_CHARS`] characters of a file's content, and control and
//! other non-printable characters are escaped (`\u{1b}`, `\n`), so that a cell cannot write escape
//! codes or extra lines to a terminal or a log. Every piece of file content in a message goes
//! through [`excerpt`].
//!
//! Also the small wording helpers the steps share: counted nouns and cut-off lists.

/// The most characters of a file's content that one quoted piece of a message shows (escapes
/// included); longer text is cut and ends in `...`.
pub const EXCERPT_CHARS: usize = 40;

/// `text` as a message may show it: [`crate::text::excerpt`] at [`EXCERPT_CHARS`].
pub(super) fn excerpt(text: &str) -> String {
    crate::text::excerpt(text, EXCERPT_CHARS)
}

/// "1 row" or "N rows" (with the given singular and plural nouns).
pub(super) fn count_noun(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Values named in one message before "and N more".
const LIST_SHOWN: usize = 20;

/// The first [`LIST_SHOWN`] of `values`, each an [`excerpt`], comma-separated, and how many more
/// there are.
pub(super) fn list(values: &[String]) -> String {
    cut_list(values, excerpt)
}

/// Like [`list`], each value in double quotes.
pub(super) fn quoted_list(values: &[String]) -> String {
    cut_list(values, |value| format!("\"{}\"", excerpt(value)))
}

fn cut_list(values: &[String], show: impl Fn(&str) -> String) -> String {
    let shown: Vec<String> = values.iter().take(LIST_SHOWN).map(|value| show(value)).collect();
    let more = values.len().saturating_sub(LIST_SHOWN);
    if more == 0 {
        shown.join(", ")
    } else {
        format!("{}, and {more} more", shown.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_printable_text_is_shown_as_it_is() {
        assert_eq!(excerpt("Adj Close"), "Adj Close");
        assert_eq!(excerpt("Zamknięcie \"x\" a\\b"), "Zamknięcie \"x\" a\\b");
        assert_eq!(excerpt(""), "");
    }

    #[test]
    fn control_and_invisible_characters_are_escaped() {
        assert_eq!(excerpt("\u{1b}[31mRED\u{7}"), "\\u{1b}[31mRED\\u{7}");
        assert_eq!(excerpt("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(excerpt("x\u{202e}y\u{200b}"), "x\\u{202e}y\\u{200b}");
        assert!(!excerpt("\u{85}\u{2028}\u{0}").chars().any(char::is_control));
    }

    #[test]
    fn long_text_is_cut_to_the_excerpt_length() {
        let long = "y".repeat(1000);
        let shown = excerpt(&long);
        assert_eq!(shown, format!("{}...", "y".repeat(EXCERPT_CHARS)));
        let escapes = "\u{1}".repeat(100);
        let shown = excerpt(&escapes);
        assert!(shown.chars().count() <= EXCERPT_CHARS + 3, "{shown}");
        assert!(shown.ends_with("..."), "{shown}");
        assert_eq!(excerpt(&"z".repeat(EXCERPT_CHARS)), "z".repeat(EXCERPT_CHARS));
    }

    #[test]
    fn long_lists_are_cut_after_twenty() {
        let values: Vec<String> = (0..25).map(|i| format!("T{i}")).collect();
        let text = list(&values);
        assert!(text.starts_with("T0, T1, "), "{text}");
        assert!(text.ends_with("T19, and 5 more"), "{text}");
        assert_eq!(quoted_list(&values[..2]), "\"T0\", \"T1\"");
    }
}
