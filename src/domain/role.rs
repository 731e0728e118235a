use std::fmt;
use std::str::FromStr;

/// A member's role in an organization, from most to least powerful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum Role {
    Owner,
    Admin,
    Billing,
    Member,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Billing,
        Role::Member,
        Role::Viewer,
    ];

    /// The value stored in the database and sent by forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Billing => "billing",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Billing => "Billing manager",
            Role::Member => "Member",
            Role::Viewer => "Viewer",
        }
    }

    /// What the role may do, in one line (under each choice of a role).
    pub fn description(self) -> &'static str {
        match self {
            Role::Owner => "Everything, including settings and other Owners.",
            Role::Admin => "Invites and manages people up to Admin; sees the audit log.",
            Role::Billing => "Assigns and revokes seats; sees members.",
            Role::Member => "Sees members; may invite if the organization allows.",
            Role::Viewer => "Sees members and invitations only.",
        }
    }

    /// A role as a person or a spreadsheet may write it: its stored form or its label,
    /// in any case, with words joined by spaces, underscores or hyphens
    /// (`billing_manager`, `Billing-Manager`, `billing`).
    pub fn parse_name(input: &str) -> Option<Role> {
        let words = |s: &str| -> String {
            s.split(|c: char| c.is_whitespace() || c == '_' || c == '-')
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let wanted = words(input);
        Role::ALL
            .into_iter()
            .find(|r| wanted == r.as_str() || wanted == words(r.label()))
    }

    /// The names `parse_name` accepts, for a message: "Owner, Admin, Billing manager
    /// (billing_manager), Member or Viewer".
    pub fn accepted_names() -> String {
        let names: Vec<String> = Role::ALL
            .into_iter()
            .map(|r| {
                let snake = r.label().to_lowercase().replace(' ', "_");
                if snake == r.as_str() {
                    r.label().to_string()
                } else {
                    format!("{} ({snake})", r.label())
                }
            })
            .collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }

    /// Higher is more powerful. Billing sits beside Member: it manages seats, not people.
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 4,
            Role::Admin => 3,
            Role::Billing | Role::Member => 2,
            Role::Viewer => 1,
        }
    }
}

impl FromStr for Role {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Role, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or("Choose one of the offered roles.")
    }
}

/// A stored value that names no role: the database holds something this build does not
/// know.
#[derive(Debug, thiserror::Error)]
#[error("not a role: {0:?}")]
pub struct UnknownRole(String);

impl TryFrom<String> for Role {
    type Error = UnknownRole;

    fn try_from(s: String) -> Result<Role, UnknownRole> {
        s.parse().map_err(|_| UnknownRole(s))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_stored_form() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("superuser".parse::<Role>().is_err());
    }

    #[test]
    fn names_are_read_in_any_case_and_word_separator() {
        for written in [
            "billing",
            "Billing manager",
            "billing_manager",
            "BILLING-MANAGER",
            " billing  manager ",
        ] {
            assert_eq!(Role::parse_name(written), Some(Role::Billing), "{written}");
        }
        assert_eq!(Role::parse_name("Admin"), Some(Role::Admin));
        assert_eq!(Role::parse_name("VIEWER"), Some(Role::Viewer));
        assert_eq!(Role::parse_name("owner"), Some(Role::Owner));
        for refused in ["boss", "", "billingmanager", "billing manager x", "_"] {
            assert_eq!(Role::parse_name(refused), None, "{refused}");
        }
    }

    #[test]
    fn every_label_and_stored_form_parses_back() {
        for role in Role::ALL {
            assert_eq!(Role::parse_name(role.as_str()), Some(role));
            assert_eq!(Role::parse_name(role.label()), Some(role));
            assert_eq!(Role::parse_name(&role.label().to_uppercase()), Some(role));
        }
    }

    #[test]
    fn accepted_names_list_every_role_once() {
        assert_eq!(
            Role::accepted_names(),
            "Owner, Admin, Billing manager (billing_manager), Member or Viewer"
        );
    }
}
