//! A domain an organization claims (for single sign-on and just-in-time membership):
//! parsed once, in the form DNS and email addresses use (lower case, internationalized
//! names in their ASCII form), and never a public suffix or a public email provider.

use std::fmt;

use super::text;

/// The longest domain name DNS carries (RFC 1035), in its ASCII form.
const MAX_LEN: usize = 253;

/// Email providers whose addresses anyone can get: claiming one would hand an
/// organization every stranger who signs up there.
const PUBLIC_EMAIL_DOMAINS: &[&str] = &[
    "126.com",
    "163.com",
    "aim.com",
    "aol.com",
    "fastmail.com",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hey.com",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.fr",
    "icloud.com",
    "live.com",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "outlook.com",
    "pm.me",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "tutanota.com",
    "web.de",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.fr",
    "yandex.com",
    "yandex.ru",
    "ymail.com",
    "zoho.com",
];

/// A domain name as DNS knows it: `example.com`, `eng.example.co.uk`,
/// `xn--mnchen-3ya.de` for `münchen.de`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DomainName(String);

impl DomainName {
    /// Parses what an Owner typed; the message says what to change.
    pub fn parse(input: &str) -> Result<DomainName, String> {
        let typed = text::single_line(input, "a domain, like example.com", MAX_LEN)?;
        if typed.contains(['/', '@', ':', ' ', '?', '#']) {
            return Err(
                "Enter the domain alone, like example.com (no address, path or port).".into(),
            );
        }
        let typed = typed.strip_suffix('.').unwrap_or(&typed);
        let ascii = match url::Host::parse(typed) {
            Ok(url::Host::Domain(d)) => d,
            Ok(_) => return Err("Enter a domain name, not an IP address.".into()),
            Err(_) => return Err(format!("{typed} is not a valid domain name.")),
        };
        let valid_labels = ascii.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if !valid_labels || ascii.len() > MAX_LEN {
            return Err(format!("{typed} is not a valid domain name."));
        }
        // A name under no known suffix counts as its own top-level domain (the list's
        // default rule), so `example.internal` is as claimable as `example.com`.
        let Some(registrable) = psl::domain_str(&ascii) else {
            return Err(format!(
                "{typed} is a top-level domain or public suffix; enter your own domain under it, like example.{typed}."
            ));
        };
        if PUBLIC_EMAIL_DOMAINS.contains(&registrable) {
            return Err(format!(
                "{typed} is a public email provider: anyone can have an address there, so no organization can claim it."
            ));
        }
        Ok(DomainName(ascii))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of the TXT record that proves control of the domain.
    pub fn challenge_name(&self) -> String {
        format!("_roster-challenge.{}", self.0)
    }

    /// The domain of an email address (`ada@Example.com` → `example.com`), when it is a
    /// valid one.
    pub fn of_email(email: &str) -> Option<DomainName> {
        let (_, domain) = email.rsplit_once('@')?;
        DomainName::parse(domain).ok()
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The value of the TXT record for `challenge`.
pub fn challenge_value(challenge: &str) -> String {
    format!("roster-domain-verification={challenge}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        DomainName::parse(s).unwrap().as_str().to_string()
    }

    fn err(s: &str) -> String {
        DomainName::parse(s).unwrap_err()
    }

    #[test]
    fn a_domain_is_kept_in_its_dns_form() {
        assert_eq!(ok("Example.COM"), "example.com");
        assert_eq!(ok("  eng.example.co.uk. "), "eng.example.co.uk");
        assert_eq!(ok("münchen.de"), "xn--mnchen-3ya.de");
        assert_eq!(ok("acme.test"), "acme.test");
    }

    #[test]
    fn what_is_not_a_domain_says_why() {
        assert!(err("").contains("Enter a domain"));
        assert!(err("ada@example.com").contains("domain alone"));
        assert!(err("https://example.com/").contains("domain alone"));
        assert!(err("example.com:443").contains("domain alone"));
        assert!(err("10.0.0.1").contains("not an IP address"));
        assert!(err("exa_mple.com").contains("not a valid domain"));
        assert!(err("-bad.example.com").contains("not a valid domain"));
        assert!(err("a..b.com").contains("not a valid domain"));
        assert!(err("example\u{0}.com").contains("control characters"));
        assert!(err(&format!("{}.com", "a".repeat(64))).contains("not a valid domain"));
        assert!(err(&"a.".repeat(200)).contains("characters"));
    }

    #[test]
    fn public_suffixes_and_email_providers_cannot_be_claimed() {
        assert!(err("com").contains("public suffix"));
        assert!(err("co.uk").contains("public suffix"));
        assert!(err("github.io").contains("public suffix"));
        assert!(err("gmail.com").contains("public email provider"));
        assert!(err("Outlook.com").contains("public email provider"));
        assert!(err("mail.yahoo.com").contains("public email provider"));
    }

    #[test]
    fn the_domain_of_an_address() {
        assert_eq!(
            DomainName::of_email("Ada@Example.com").map(|d| d.0),
            Some("example.com".into())
        );
        assert_eq!(DomainName::of_email("nobody"), None);
    }
}
