use std::fmt;

/// An email address as typed (trimmed) and its normalized form, used for comparisons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    as_typed: String,
    normalized: String,
}

impl Email {
    /// Parses an address; the message is fit to show next to the field.
    pub fn parse(input: &str) -> Result<Email, &'static str> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("Enter an email address.");
        }
        if trimmed.len() > 254 {
            return Err("That email address is too long.");
        }
        // The parser below lets a quoted local part hold control characters; no one
        // types those in an address, and PostgreSQL refuses a NUL in text.
        if trimmed.chars().any(super::text::is_control) {
            return Err("Enter a valid email address, like name@example.com.");
        }
        let parsed = email_address::EmailAddress::parse_with_options(
            trimmed,
            email_address::Options::default()
                .without_display_text()
                .without_domain_literal(),
        )
        .map_err(|_| "Enter a valid email address, like name@example.com.")?;
        if !parsed.domain().contains('.') {
            return Err("Enter a valid email address, like name@example.com.");
        }
        Ok(Email {
            as_typed: trimmed.to_string(),
            normalized: trimmed.to_lowercase(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.as_typed
    }

    /// The lower-cased form under which addresses are unique.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The part after the `@`, lower-cased; the only part of an address that goes to logs.
    pub fn domain(&self) -> &str {
        self.normalized.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_typed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_normalizes() {
        let email = Email::parse("  Alice@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Alice@Example.COM");
        assert_eq!(email.normalized(), "alice@example.com");
        assert_eq!(email.domain(), "example.com");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "  ",
            "alice",
            "alice@",
            "@example.com",
            "a b@example.com",
            "alice@localhost",
            "Alice <a@example.com>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    mod properties {
        use super::super::*;
        use crate::domain::text::is_control;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parsing_never_panics(input in any::<String>()) {
                let _ = Email::parse(&input);
            }

            #[test]
            fn a_parsed_email_has_no_control_character(input in any::<String>()) {
                if let Ok(email) = Email::parse(&input) {
                    prop_assert!(!email.as_str().chars().any(is_control));
                    prop_assert!(!email.normalized().chars().any(is_control));
                }
            }

            #[test]
            fn a_control_character_anywhere_is_refused(
                local in "[a-z]{2,10}",
                control in "\\p{Cc}",
                at in 1usize..10,
            ) {
                // Inside the address: at either end, a line break is whitespace, trimmed.
                let mut local = local;
                let at = at.min(local.len() - 1);
                local.insert_str(at, &control);
                for input in [format!("{local}@example.com"), format!("\"{local}\"@example.com")] {
                    prop_assert!(Email::parse(&input).is_err(), "{:?}", input);
                }
            }

            #[test]
            fn what_parses_parses_again_to_the_same(
                input in "[ ]{0,2}[A-Za-z0-9_%+-]{1,20}@[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?(\\.[A-Za-z]{2,6}){1,2}[ ]{0,2}"
            ) {
                let email = Email::parse(&input).unwrap();
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
                let normalized = Email::parse(email.normalized()).unwrap();
                prop_assert_eq!(normalized.normalized(), email.normalized());
            }

            #[test]
            fn any_parsed_email_parses_again_to_the_same(input in any::<String>()) {
                if let Ok(email) = Email::parse(&input) {
                    prop_assert_eq!(Email::parse(&email.to_string()), Ok(email.clone()));
                    prop_assert_eq!(email.normalized(), email.as_str().to_lowercase());
                }
            }
        }
    }
}
