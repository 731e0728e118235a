//! An organization's settings and their rules (DESIGN.md, "Organization settings").

use serde::{Deserialize, Serialize};

use super::{FieldErrors, text};

pub const HOUR: i64 = 3_600;
pub const DAY: i64 = 24 * HOUR;
pub const MIN_LIFETIME: i64 = HOUR;
pub const MAX_LIFETIME: i64 = 30 * DAY;
pub const MAX_LIMIT: i64 = 1_000_000;
const MAX_DOMAINS: usize = 100;

/// Valid settings, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OrgSettings {
    pub name: String,
    pub invitation_lifetime_secs: i64,
    pub max_pending_invitations: i64,
    pub max_members: i64,
    pub members_may_invite: bool,
    /// Lower-case domains separated by spaces; empty allows any domain.
    pub allowed_email_domains: String,
    /// How many members may hold a seat; None when seats are off.
    pub seats: Option<i64>,
    /// Whether members must have two-factor authentication to use the organization.
    pub require_two_factor: bool,
}

impl OrgSettings {
    pub fn allowed_domains(&self) -> Vec<&str> {
        self.allowed_email_domains.split_whitespace().collect()
    }

    /// Whether an invitation may go to an address in `domain` (lower-case).
    pub fn allows_domain(&self, domain: &str) -> bool {
        let allowed = self.allowed_domains();
        allowed.is_empty() || allowed.contains(&domain)
    }
}

/// The settings form as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub lifetime_value: String,
    #[serde(default)]
    pub lifetime_unit: String,
    #[serde(default)]
    pub max_pending_invitations: String,
    #[serde(default)]
    pub max_members: String,
    /// Present (any value) when the checkbox is ticked.
    pub members_may_invite: Option<String>,
    #[serde(default)]
    pub allowed_email_domains: String,
    /// Present (any value) when seats are turned on.
    pub seats_enabled: Option<String>,
    #[serde(default)]
    pub seats: String,
    /// Present (any value) when two-factor authentication is required.
    pub require_two_factor: Option<String>,
}

impl SettingsForm {
    /// The form showing stored settings: the lifetime in days when it is whole days.
    pub fn from_settings(s: &OrgSettings) -> SettingsForm {
        let (value, unit) = if s.invitation_lifetime_secs % DAY == 0 {
            (s.invitation_lifetime_secs / DAY, "days")
        } else {
            (s.invitation_lifetime_secs / HOUR, "hours")
        };
        SettingsForm {
            name: s.name.clone(),
            lifetime_value: value.to_string(),
            lifetime_unit: unit.into(),
            max_pending_invitations: s.max_pending_invitations.to_string(),
            max_members: s.max_members.to_string(),
            members_may_invite: s.members_may_invite.then(|| "on".into()),
            allowed_email_domains: s.allowed_domains().join("\n"),
            seats_enabled: s.seats.map(|_| "on".into()),
            seats: s.seats.map_or(String::new(), |n| n.to_string()),
            require_two_factor: s.require_two_factor.then(|| "on".into()),
        }
    }

    pub fn parse(&self) -> Result<OrgSettings, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = text::single_line(&self.name, "a name", 100)
            .map_err(|m| errors.add("name", m))
            .ok();
        let lifetime = self
            .lifetime()
            .map_err(|m| errors.add("lifetime_value", m))
            .ok();
        let max_pending = limit(&self.max_pending_invitations)
            .map_err(|m| errors.add("max_pending_invitations", m))
            .ok();
        let max_members = limit(&self.max_members)
            .map_err(|m| errors.add("max_members", m))
            .ok();
        let domains = domains(&self.allowed_email_domains)
            .map_err(|m| errors.add("allowed_email_domains", m))
            .ok();
        let seats = match self.seats_enabled {
            Some(_) => limit(&self.seats)
                .map(Some)
                .map_err(|m| errors.add("seats", m))
                .ok(),
            None => Some(None),
        };
        match (name, lifetime, max_pending, max_members, domains, seats) {
            (
                Some(name),
                Some(lifetime),
                Some(max_pending),
                Some(max_members),
                Some(domains),
                Some(seats),
            ) => Ok(OrgSettings {
                name,
                invitation_lifetime_secs: lifetime,
                max_pending_invitations: max_pending,
                max_members,
                members_may_invite: self.members_may_invite.is_some(),
                allowed_email_domains: domains.join(" "),
                seats,
                require_two_factor: self.require_two_factor.is_some(),
            }),
            _ => Err(errors),
        }
    }

    fn lifetime(&self) -> Result<i64, String> {
        let unit = match self.lifetime_unit.as_str() {
            "hours" => HOUR,
            "days" => DAY,
            _ => return Err("Choose hours or days.".into()),
        };
        let value: i64 = self
            .lifetime_value
            .trim()
            .parse()
            .map_err(|_| "Enter a whole number.".to_string())?;
        let secs = value.saturating_mul(unit);
        if !(MIN_LIFETIME..=MAX_LIFETIME).contains(&secs) {
            return Err("Use between 1 hour and 30 days.".into());
        }
        Ok(secs)
    }
}

fn limit(input: &str) -> Result<i64, String> {
    let cleaned: String = input
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '_' && *c != ' ')
        .collect();
    let value: i64 = cleaned
        .parse()
        .map_err(|_| "Enter a whole number.".to_string())?;
    if !(1..=MAX_LIMIT).contains(&value) {
        return Err("Use a number from 1 to 1,000,000.".into());
    }
    Ok(value)
}

/// Parses domains separated by commas, spaces or new lines; `@` prefixes are dropped.
fn domains(input: &str) -> Result<Vec<String>, String> {
    text::check_multi_line(input, MAX_DOMAINS * 256)?;
    let mut out: Vec<String> = Vec::new();
    for raw in input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let domain = raw.trim_start_matches('@').to_lowercase();
        let valid = matches!(url::Host::parse(&domain), Ok(url::Host::Domain(ref d)) if d == &domain)
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.');
        if !valid {
            return Err(format!("“{raw}” is not a domain, like example.com."));
        }
        if !out.contains(&domain) {
            out.push(domain);
        }
    }
    if out.len() > MAX_DOMAINS {
        return Err(format!("List at most {MAX_DOMAINS} domains."));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SettingsForm {
        SettingsForm {
            name: "Engines".into(),
            lifetime_value: "3".into(),
            lifetime_unit: "days".into(),
            max_pending_invitations: "50".into(),
            max_members: "1,000".into(),
            members_may_invite: Some("on".into()),
            allowed_email_domains: "Example.com, @corp.example.org\nexample.com".into(),
            seats_enabled: None,
            seats: String::new(),
            require_two_factor: None,
        }
    }

    #[test]
    fn seats_are_off_or_a_number_from_one() {
        assert_eq!(form().parse().unwrap().seats, None);
        let mut on = form();
        on.seats_enabled = Some("on".into());
        on.seats = "1,500".into();
        assert_eq!(on.parse().unwrap().seats, Some(1_500));
        on.seats = "0".into();
        assert_eq!(
            on.parse().unwrap_err().get("seats"),
            Some("Use a number from 1 to 1,000,000.")
        );
        let mut off = form();
        off.seats = "nonsense".into();
        assert_eq!(off.parse().unwrap().seats, None, "ignored while off");
    }

    #[test]
    fn a_valid_form_parses_and_round_trips() {
        let settings = form().parse().unwrap();
        assert_eq!(settings.invitation_lifetime_secs, 3 * DAY);
        assert_eq!(settings.max_members, 1_000);
        assert!(settings.members_may_invite);
        assert_eq!(
            settings.allowed_domains(),
            vec!["example.com", "corp.example.org"]
        );
        assert_eq!(
            SettingsForm::from_settings(&settings).parse().unwrap(),
            settings
        );
    }

    #[test]
    fn lifetime_stays_between_an_hour_and_thirty_days() {
        for (value, unit, ok) in [
            ("1", "hours", true),
            ("30", "days", true),
            ("31", "days", false),
            ("0", "hours", false),
            ("x", "days", false),
            ("2", "weeks", false),
        ] {
            let f = SettingsForm {
                lifetime_value: value.into(),
                lifetime_unit: unit.into(),
                ..form()
            };
            assert_eq!(f.parse().is_ok(), ok, "{value} {unit}");
        }
    }

    #[test]
    fn limits_stay_between_one_and_a_million() {
        for (value, ok) in [
            ("1", true),
            ("1000000", true),
            ("0", false),
            ("1000001", false),
            ("-5", false),
            ("many", false),
        ] {
            let f = SettingsForm {
                max_pending_invitations: value.into(),
                ..form()
            };
            assert_eq!(f.parse().is_ok(), ok, "{value}");
        }
    }

    #[test]
    fn bad_domains_are_named() {
        let f = SettingsForm {
            allowed_email_domains: "example.com bad_domain!".into(),
            ..form()
        };
        assert_eq!(
            f.parse().unwrap_err().get("allowed_email_domains"),
            Some("“bad_domain!” is not a domain, like example.com.")
        );
        let f = SettingsForm {
            allowed_email_domains: "localhost".into(),
            ..form()
        };
        assert!(f.parse().is_err());
    }

    #[test]
    fn no_domains_allows_any() {
        let f = SettingsForm {
            allowed_email_domains: "  ".into(),
            ..form()
        };
        let s = f.parse().unwrap();
        assert!(s.allows_domain("anything.example"));
        assert!(!form().parse().unwrap().allows_domain("other.example"));
    }
}
