//! Text as people type it, parsed at the edge: a name is one line of printable
//! characters, a search is short, a textarea may break lines. PostgreSQL refuses a NUL
//! in text and SQLite keeps it, so nothing with one may get past here.

/// The longest search or filter term; longer ones are refused rather than sent to the
/// database as a pattern of any size.
pub const SEARCH_MAX: usize = 200;

/// The message for a line that holds a control character.
const NO_CONTROLS: &str = "Remove the line breaks, tabs and other control characters.";

/// True for a character that has no place in a single line of text: the C0 and C1
/// controls (NUL, line breaks, tab, escape, DEL…) and the Unicode line and paragraph
/// separators, which break lines as surely as a newline.
pub fn is_control(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// Parses a required single line of text: trimmed, not empty, at most `max`
/// characters, with no control character. `what` completes "Enter …" ("your name").
pub fn single_line(input: &str, what: &str, max: usize) -> Result<String, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(format!("Enter {what}."));
    }
    check_line(trimmed, max)?;
    Ok(trimmed.to_string())
}

/// Parses an optional single line (a search, a filter): trimmed, `None` when empty,
/// at most `max` characters, with no control character.
pub fn optional_line(input: &str, max: usize) -> Result<Option<String>, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    check_line(trimmed, max)?;
    Ok(Some(trimmed.to_string()))
}

/// A search term as a list page takes it (`q=`), or the message for a 400 page.
pub fn search(input: &str) -> Result<Option<String>, String> {
    optional_line(input, SEARCH_MAX).map_err(|m| format!("The search cannot be used: {m}"))
}

/// Text from elsewhere (an identity provider's claim or message) made fit for one line:
/// control characters dropped, trimmed, cut to `max` characters.
pub fn sanitized(input: &str, max: usize) -> String {
    input
        .chars()
        .filter(|c| !is_control(*c))
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Text typed in a textarea, shown again after a refusal: as `sanitized`, but keeping
/// the line breaks and tabs a textarea makes.
pub fn sanitized_multi_line(input: &str, max: usize) -> String {
    input
        .chars()
        .filter(|c| !is_control(*c) || matches!(c, '\n' | '\r' | '\t'))
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Checks text from a textarea: at most `max` characters, and of the control
/// characters only the line breaks and tabs that typing in a textarea makes.
pub fn check_multi_line(input: &str, max: usize) -> Result<(), String> {
    if exceeds(input, max) {
        return Err(format!("Use at most {max} characters."));
    }
    if input
        .chars()
        .any(|c| is_control(c) && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("Remove the control characters (other than line breaks and tabs).".into());
    }
    Ok(())
}

fn check_line(line: &str, max: usize) -> Result<(), String> {
    // The length first: a huge value is refused for its size, whatever it holds.
    if exceeds(line, max) {
        return Err(format!("Use at most {max} characters."));
    }
    if line.chars().any(is_control) {
        return Err(NO_CONTROLS.into());
    }
    Ok(())
}

/// True when `s` has more than `max` characters, without counting past `max`.
fn exceeds(s: &str, max: usize) -> bool {
    s.len() > max && s.chars().nth(max).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_name_is_trimmed() {
        assert_eq!(
            single_line("  Ada Lovelace ", "your name", 100),
            Ok("Ada Lovelace".into())
        );
    }

    #[test]
    fn an_empty_name_asks_for_one() {
        assert_eq!(
            single_line(" \t ", "your name", 100),
            Err("Enter your name.".into())
        );
    }

    #[test]
    fn control_characters_are_refused_in_a_line() {
        for bad in [
            "Gamma\0",
            "a\nb",
            "a\rb",
            "a\tb",
            "a\u{1b}[31m",
            "a\u{7f}",
            "a\u{85}b",
            "a\u{2028}b",
        ] {
            assert_eq!(
                single_line(bad, "your name", 100),
                Err(NO_CONTROLS.into()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_huge_value_is_refused_for_its_length() {
        let huge = "x".repeat(100_000);
        assert_eq!(
            single_line(&huge, "your name", 100),
            Err("Use at most 100 characters.".into())
        );
        assert!(search(&huge).is_err());
    }

    #[test]
    fn the_length_counts_characters_not_bytes() {
        assert!(single_line(&"é".repeat(100), "your name", 100).is_ok());
        assert!(single_line(&"é".repeat(101), "your name", 100).is_err());
    }

    #[test]
    fn an_empty_search_is_no_search() {
        assert_eq!(search("   "), Ok(None));
        assert_eq!(search(" ada "), Ok(Some("ada".into())));
        assert!(search("ada\0").is_err());
    }

    #[test]
    fn a_textarea_keeps_its_line_breaks_and_tabs_but_not_a_nul() {
        assert!(check_multi_line("a.com\r\nb.com\tc.com\n", 1000).is_ok());
        assert!(check_multi_line("a.com\0", 1000).is_err());
        assert!(check_multi_line(&"x".repeat(1001), 1000).is_err());
    }

    proptest! {
        #[test]
        fn a_parsed_line_has_no_control_character_and_fits(input in any::<String>()) {
            if let Ok(line) = single_line(&input, "a name", 100) {
                prop_assert!(!line.chars().any(is_control));
                prop_assert!(line.chars().count() <= 100);
                prop_assert_eq!(line.trim(), line.as_str());
                // What parses parses again to itself.
                prop_assert_eq!(single_line(&line, "a name", 100), Ok(line.clone()));
            }
        }

        #[test]
        fn a_line_without_controls_parses_when_it_fits(input in "[^\\p{Cc}\u{2028}\u{2029}]{1,100}") {
            let expected = input.trim();
            prop_assume!(!expected.is_empty());
            prop_assert_eq!(single_line(&input, "a name", 100), Ok(expected.to_string()));
        }
    }
}
