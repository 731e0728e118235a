//! A membership's status, as stored and as the rules see it.

use std::fmt;

/// Whether a member may open the organization. Pending invitations are not members and
/// have no status here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberStatus {
    Active,
    Inactive,
}

impl MemberStatus {
    /// The value stored in the database and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Inactive => "inactive",
        }
    }

    pub fn is_active(self) -> bool {
        self == MemberStatus::Active
    }
}

/// A stored value that names no status: the database holds something this build does
/// not know.
#[derive(Debug, thiserror::Error)]
#[error("not a member status: {0:?}")]
pub struct UnknownStatus(String);

impl TryFrom<String> for MemberStatus {
    type Error = UnknownStatus;

    fn try_from(s: String) -> Result<MemberStatus, UnknownStatus> {
        match s.as_str() {
            "active" => Ok(MemberStatus::Active),
            "inactive" => Ok(MemberStatus::Inactive),
            _ => Err(UnknownStatus(s)),
        }
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_stored_form() {
        for status in [MemberStatus::Active, MemberStatus::Inactive] {
            assert_eq!(
                MemberStatus::try_from(status.as_str().to_string()).ok(),
                Some(status)
            );
        }
        assert!(MemberStatus::try_from("invited".to_string()).is_err());
    }
}
