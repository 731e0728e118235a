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
}
