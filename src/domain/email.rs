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
}
