//! An account's status, as stored and as the rules see it.

use std::fmt;

/// Whether an account may sign in. Deactivating one ends its sessions and tokens and
/// keeps its memberships.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum AccountStatus {
    Active,
    Deactivated,
}

impl AccountStatus {
    /// The value stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Deactivated => "deactivated",
        }
    }

    pub fn is_active(self) -> bool {
        self == AccountStatus::Active
    }
}

/// A stored value that names no account status.
#[derive(Debug, thiserror::Error)]
#[error("not an account status: {0:?}")]
pub struct UnknownAccountStatus(String);

impl TryFrom<String> for AccountStatus {
    type Error = UnknownAccountStatus;

    fn try_from(s: String) -> Result<AccountStatus, UnknownAccountStatus> {
        match s.as_str() {
            "active" => Ok(AccountStatus::Active),
            "deactivated" => Ok(AccountStatus::Deactivated),
            _ => Err(UnknownAccountStatus(s)),
        }
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_stored_form() {
        for status in [AccountStatus::Active, AccountStatus::Deactivated] {
            assert_eq!(
                AccountStatus::try_from(status.as_str().to_string()).ok(),
                Some(status)
            );
        }
        assert!(AccountStatus::try_from("Active".to_string()).is_err());
    }
}
