//! Who is acting. The session extractor (pages) and the API token extractor build these;
//! the services take them, so no service depends on how a request was authenticated.

use crate::db::{audit, orgs::Org, users::User};
use crate::domain::Role;

/// A member acting on one organization: who, where, with which role, and how the audit
/// log names them.
#[derive(Clone, Debug)]
pub struct Actor {
    pub org: Org,
    pub user: User,
    pub role: Role,
    pub audit: audit::Actor,
}

/// A person acting with their own account, outside any one organization: on their API
/// tokens, or as an instance admin on the instance's users.
#[derive(Clone, Debug)]
pub struct Person {
    pub user: User,
    pub audit: audit::Actor,
}
