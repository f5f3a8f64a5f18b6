//! Text from outside the program — a file's content, a path, a flag's value — as messages show
//! it: one line, with control and other non-printable characters escaped (`\n`, `\u{1b}`), and,
//! for content read from a file, a short excerpt only. A CSV or ledger path can come from a model
//! file, so the file may be anything the user can read: no message quotes more than a few dozen
//! characters of it, and nothing from it can write escape codes or extra lines to a terminal or a
//! cron log. Every such piece of text in a message goes through this module.

/// `text` with every control character (newline, carriage return, escape, …) written as its
/// escape sequence, so that a message built from user-supplied strings stays one plain line.
pub fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars().map(|c| if c.is_control() { c.escape_debug().to_string() } else { c.to_string() }).collect()
}

/// At most `max_chars` characters of `text` (escapes included), with control and non-printable
/// characters escaped as `char::escape_debug` writes them (quotes and backslashes are left as they
/// are: the text is shown between quotes, never parsed back); longer text is cut and ends in `...`.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let mut shown = String::new();
    let mut count = 0;
    for c in text.chars() {
        let escaped = escape(c);
        let width = escaped.chars().count();
        if count + width > max_chars {
            shown.push_str("...");
            return shown;
        }
        shown.push_str(&escaped);
        count += width;
    }
    shown
}

/// `c`, or its escape when it is not printable (control, format, private-use and unassigned
/// characters, and combining marks).
fn escape(c: char) -> String {
    if matches!(c, '"' | '\'' | '\\') {
        c.to_string()
    } else {
        c.escape_debug().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_stay_one_line_and_excerpts_short() {
        assert_eq!(one_line("a.csv: bad"), "a.csv: bad");
        assert_eq!(one_line("a\nb\rc\td\u{1b}[31m\u{7f}é"), "a\\nb\\rc\\td\\u{1b}[31m\\u{7f}é");
        assert_eq!(excerpt("root:$6$abc\n", 40), "root:$6$abc\\n");
        assert_eq!(excerpt(&"x".repeat(100), 10), format!("{}...", "x".repeat(10)));
        assert_eq!(excerpt("a\"b", 10), "a\"b");
    }
}
