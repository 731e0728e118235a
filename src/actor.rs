//! Who is acting. The session extractor (pages), the API token extractor and the SCIM
//! token extractor build these; the services take them, so no service depends on how a
//! request was authenticated.

use crate::db::{audit, orgs::Org, users::User};
use crate::domain::Role;

/// Someone acting on one organization: who, where, with which role, and how the audit
/// log names them.
#[derive(Clone, Debug)]
pub struct Actor {
    pub org: Org,
    pub who: Who,
    pub role: Role,
    pub audit: audit::Actor,
}

/// Who an `Actor` is: a member with an account, or the organization's identity provider
/// provisioning over SCIM (no account; the audit log says "SCIM").
#[derive(Clone, Debug)]
pub enum Who {
    Member(User),
    Provisioning,
}

impl Actor {
    /// A member of `org` acting with their own account.
    pub fn member(org: Org, user: User, role: Role, audit: audit::Actor) -> Actor {
        Actor {
            org,
            who: Who::Member(user),
            role,
            audit,
        }
    }

    /// The organization's identity provider, over SCIM from the address `ip`. It acts
    /// with an Owner's permissions on members and teams, but never gives a role.
    pub fn provisioning(org: Org, ip: String) -> Actor {
        Actor {
            org,
            who: Who::Provisioning,
            role: Role::Owner,
            audit: audit::Actor {
                user_id: None,
                email: Some(audit::SCIM.into()),
                ip: Some(ip),
            },
        }
    }

    /// The account acting; None when the identity provider provisions.
    pub fn user(&self) -> Option<&User> {
        match &self.who {
            Who::Member(user) => Some(user),
            Who::Provisioning => None,
        }
    }

    /// The acting account's id; None when the identity provider provisions.
    pub fn user_id(&self) -> Option<i64> {
        self.user().map(|u| u.id)
    }

    /// How emails name whoever made a change ("Ada Lovelace", "your identity provider").
    pub fn display_name(&self) -> String {
        match &self.who {
            Who::Member(user) => user.name.clone(),
            Who::Provisioning => "your identity provider".into(),
        }
    }
}

/// A person acting with their own account, outside any one organization: on their API
/// tokens, or as an instance admin on the instance's users.
#[derive(Clone, Debug)]
pub struct Person {
    pub user: User,
    pub audit: audit::Actor,
}
