//! Invitation rules that need no storage: states, address lists, and what will happen
//! to each requested address.

use super::Role;

/// What a person sees of an invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Expired,
    Accepted,
    Declined,
    Revoked,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Expired,
        Status::Accepted,
        Status::Declined,
        Status::Revoked,
    ];

    /// The status of a stored invitation at `now`: a pending one past its expiry is expired.
    pub fn of(state: &str, expires_at: i64, now: i64) -> Status {
        match state {
            "accepted" => Status::Accepted,
            "declined" => Status::Declined,
            "revoked" => Status::Revoked,
            _ if expires_at <= now => Status::Expired,
            _ => Status::Pending,
        }
    }

    /// The name in URLs (`?status=expired`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Expired => "expired",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
            Status::Revoked => "revoked",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Pending => "Pending",
            Status::Expired => "Expired",
            Status::Accepted => "Accepted",
            Status::Declined => "Declined",
            Status::Revoked => "Revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Splits a typed list of addresses on commas, semicolons, spaces and new lines.
pub fn split_addresses(input: &str) -> Vec<&str> {
    input
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect()
}

/// What inviting one requested address will do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new invitation (or a fresh one in place of an expired one).
    Invite,
    AlreadyMember,
    AlreadyInvited,
    Invalid(&'static str),
    Duplicate,
    DomainNotAllowed,
    /// The role is above what the inviter may grant.
    RoleNotAllowed(Role),
    /// Over the pending-invitation or member limit.
    OverLimit,
}

impl Outcome {
    pub fn is_invite(&self) -> bool {
        matches!(self, Outcome::Invite)
    }

    /// A short explanation, as the CSV preview and field messages show it.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Invite => "will be invited".into(),
            Outcome::AlreadyMember => "already a member".into(),
            Outcome::AlreadyInvited => {
                "already invited (resend the pending invitation instead)".into()
            }
            Outcome::Invalid(why) => format!("invalid address: {why}"),
            Outcome::Duplicate => "duplicate in this list".into(),
            Outcome::DomainNotAllowed => "domain not allowed in this organization".into(),
            Outcome::RoleNotAllowed(role) => format!("you cannot invite as {}", role.label()),
            Outcome::OverLimit => "over the organization's limit".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_state_and_expiry() {
        assert_eq!(Status::of("pending", 100, 99), Status::Pending);
        assert_eq!(Status::of("pending", 100, 100), Status::Expired);
        assert_eq!(Status::of("accepted", 100, 200), Status::Accepted);
        assert_eq!(Status::of("revoked", 100, 0), Status::Revoked);
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn addresses_split_on_any_separator() {
        let typed = "a@example.com, b@example.com\nc@example.com;d@example.com  e@example.com";
        assert_eq!(split_addresses(typed).len(), 5);
        assert!(split_addresses(" , \n").is_empty());
    }
}
