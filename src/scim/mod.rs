//! SCIM 2.0 provisioning (RFC 7643/7644): an organization's identity provider creates,
//! updates, deactivates and removes its members (Users) and pushes its groups (teams).
//! A thin adapter over the members and teams services: the same rules, audit events,
//! emails and webhooks as the pages, with "SCIM" as the actor.
//!
//! This module holds the token an Owner creates, the authentication of a request, and
//! the refusals; `users` and `groups` the resources; `patch` the PATCH operations.

mod groups;
mod patch;
mod users;

pub use groups::{GroupList, create_group, delete_group, get_group, list_groups, update_group};
pub use users::{UserList, create_user, delete_user, get_user, list_users, update_user};

use crate::actor::Actor;
use crate::db::{self, audit, orgs::Org, scim::OrgScim};
use crate::domain::permissions::{self, Action};
use crate::domain::{Role, token};
use crate::state::AppState;

/// The schema URNs Roster speaks.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// What every SCIM token starts with, so that secret scanners and people recognize one.
pub const TOKEN_PREFIX: &str = "roster_scim_";

/// Why a SCIM request was not done. Nothing was written. Each maps to one SCIM error
/// (`status`, `scimType`, `detail`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No token, or not the organization's current one.
    #[error("The SCIM token is missing, wrong or revoked.")]
    Unauthorized,
    /// Only Owners manage the SCIM token (pages).
    #[error("Only Owners can manage SCIM provisioning.")]
    Forbidden,
    /// No such resource in this organization.
    #[error("{0}")]
    NotFound(String),
    /// A 400 with its scimType (invalidValue, invalidSyntax, invalidPath, noTarget,
    /// mutability, invalidFilter).
    #[error("{detail}")]
    Invalid {
        scim_type: &'static str,
        detail: String,
    },
    /// Another member or team has this userName, address or displayName.
    #[error("{0}")]
    Uniqueness(String),
    /// The change conflicts with the organization as it is (its last Owner).
    #[error("{0}")]
    Conflict(String),
    /// The organization does not allow it (it is full).
    #[error("{0}")]
    Refused(String),
    /// `If-Match` named another version.
    #[error("The resource has changed since that version was read.")]
    PreconditionFailed,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

impl Error {
    pub fn invalid_value(detail: impl Into<String>) -> Error {
        Error::Invalid {
            scim_type: "invalidValue",
            detail: detail.into(),
        }
    }

    pub fn invalid(scim_type: &'static str, detail: impl Into<String>) -> Error {
        Error::Invalid {
            scim_type,
            detail: detail.into(),
        }
    }

    /// The HTTP status and the scimType of the SCIM error.
    pub fn status(&self) -> (u16, Option<&'static str>) {
        match self {
            Error::Unauthorized => (401, None),
            Error::Forbidden | Error::Refused(_) => (403, None),
            Error::NotFound(_) => (404, None),
            Error::Invalid { scim_type, .. } => (400, Some(scim_type)),
            Error::Uniqueness(_) => (409, Some("uniqueness")),
            Error::Conflict(_) => (409, None),
            Error::PreconditionFailed => (412, None),
            Error::Internal(_) => (500, None),
        }
    }
}

/// The organization's SCIM settings as its Owners see them.
#[derive(Clone, Debug)]
pub struct Settings {
    pub has_token: bool,
    pub token_created_at: Option<i64>,
    pub token_created_by: Option<String>,
    pub token_used_at: Option<i64>,
    pub default_role: Role,
}

/// Whether `actor` manages the organization's SCIM provisioning: its Owners, in person.
pub fn may_manage(actor: &Actor) -> bool {
    actor.user().is_some() && permissions::allows(actor.role, Action::EditSettings)
}

fn require(actor: &Actor) -> Result<(), Error> {
    if may_manage(actor) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// The organization's SCIM settings (Owners).
pub async fn settings(state: &AppState, actor: &Actor) -> Result<Settings, Error> {
    require(actor)?;
    let found: Option<OrgScim> = db::scim::settings(&state.db, actor.org.id).await?;
    Ok(match found {
        Some(s) => Settings {
            has_token: s.has_token,
            token_created_at: s.token_created_at,
            token_created_by: s.token_created_by,
            token_used_at: s.token_used_at,
            default_role: s.default_role,
        },
        None => Settings {
            has_token: false,
            token_created_at: None,
            token_created_by: None,
            token_used_at: None,
            default_role: Role::Member,
        },
    })
}

/// Creates the organization's SCIM token, replacing (and so revoking) any; returns it,
/// to be shown once.
pub async fn create_token(state: &AppState, actor: &Actor) -> Result<String, Error> {
    require(actor)?;
    let (secret, _) = token::generate();
    let secret = format!("{TOKEN_PREFIX}{secret}");
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let replaced = db::scim::settings(&state.db, actor.org.id)
        .await?
        .is_some_and(|s| s.has_token);
    db::scim::set_token(
        &mut tx,
        actor.org.id,
        &token::hash(&secret),
        actor.user_id(),
        now,
    )
    .await?;
    let mut event = audit::Event::new(audit::Action::ScimTokenCreated, &actor.audit)
        .in_org(actor.org.id)
        .target("scim_token", None, None);
    if replaced {
        event = event.before("replaced");
    }
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(secret)
}

/// Revokes the organization's SCIM token: the identity provider's next request is
/// refused. False when there was none.
pub async fn revoke_token(state: &AppState, actor: &Actor) -> Result<bool, Error> {
    require(actor)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if !db::scim::revoke_token(&mut tx, actor.org.id, now).await? {
        return Ok(false);
    }
    let event = audit::Event::new(audit::Action::ScimTokenRevoked, &actor.audit)
        .in_org(actor.org.id)
        .target("scim_token", None, None);
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Sets the role the identity provider's new members get; never Owner.
pub async fn set_default_role(state: &AppState, actor: &Actor, typed: &str) -> Result<Role, Error> {
    require(actor)?;
    let role = typed
        .parse::<Role>()
        .ok()
        .filter(|r| *r != Role::Owner)
        .ok_or_else(|| {
            Error::invalid_value("Choose the role of new members: any role but Owner.")
        })?;
    let now = state.clock.now();
    let before = settings(state, actor).await?.default_role;
    if before == role {
        return Ok(role);
    }
    let mut tx = state.db.begin().await?;
    db::scim::set_default_role(&mut tx, actor.org.id, role, now).await?;
    let event = audit::Event::new(audit::Action::ScimDefaultRoleChanged, &actor.audit)
        .in_org(actor.org.id)
        .target("scim_token", None, None)
        .before(before.as_str())
        .after(role.as_str());
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(role)
}

/// The organization whose current SCIM token is `secret`, acting from `ip`; marks the
/// token used (at most once a minute).
pub async fn authenticate(state: &AppState, secret: &str, ip: String) -> Result<Actor, Error> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Err(Error::Unauthorized);
    }
    let (id, name, slug, used_at) = db::scim::credential(&state.db, &token::hash(secret))
        .await?
        .ok_or(Error::Unauthorized)?;
    let now = state.clock.now();
    if used_at.is_none_or(|at| at <= now - 60) {
        db::scim::touch(&state.db, id, now).await?;
    }
    Ok(Actor::provisioning(Org { id, name, slug }, ip))
}

/// A User's id from a URL or a body: the membership's number; anything else names
/// nothing.
fn parse_id(id: &str) -> Option<i64> {
    id.parse::<i64>().ok().filter(|id| *id > 0)
}

/// What a Group's id starts with: ids are unique across both resource types (RFC 7643
/// §3.1), and a User's is a bare number.
pub use crate::db::scim::GROUP_ID_PREFIX;

/// A Group's id: `team-` and the team's number.
pub fn group_id(id: i64) -> String {
    format!("{GROUP_ID_PREFIX}{id}")
}

fn parse_group_id(id: &str) -> Option<i64> {
    id.strip_prefix(GROUP_ID_PREFIX).and_then(parse_id)
}

/// `meta.version`: a weak ETag of the resource's representation.
pub fn version_of(value: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(value.to_string().as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

/// Refuses when `if_match` (an `If-Match` header) names neither `*` nor `version`.
fn check_version(if_match: Option<&str>, version: &str) -> Result<(), Error> {
    let Some(wanted) = if_match else {
        return Ok(());
    };
    let matches = wanted.split(',').map(str::trim).any(|v| {
        v == "*" || v == version || v.trim_start_matches("W/") == version.trim_start_matches("W/")
    });
    if matches {
        Ok(())
    } else {
        Err(Error::PreconditionFailed)
    }
}

/// A change to a resource: a full replacement (PUT) or a PatchOp (PATCH).
#[derive(Clone, Copy, Debug)]
pub enum Update<'a> {
    Replace(&'a serde_json::Value),
    Patch(&'a serde_json::Value),
}

impl Update<'_> {
    /// The resource as it is to be, read as a PUT reads it: the body of a PUT, or the
    /// resource's writable attributes now (`writable`) changed by the PATCH.
    fn body(
        self,
        writable: impl FnOnce() -> serde_json::Map<String, serde_json::Value>,
        schema: &patch::Schema,
    ) -> Result<serde_json::Value, Error> {
        match self {
            Update::Replace(body) => Ok(body.clone()),
            Update::Patch(body) => {
                let mut doc = writable();
                patch::apply(&mut doc, body, schema)?;
                Ok(serde_json::Value::Object(doc))
            }
        }
    }
}

/// What a list asks for, as parsed from the query or a `/.search` body.
#[derive(Clone, Debug, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    /// A search across both resource types (`POST /.search`).
    pub across_types: bool,
}

/// How many resources a page holds at most, and when `count` is not given.
pub const MAX_COUNT: i64 = 200;

/// The parsed filter, order and page of `params`.
struct Listing {
    filter: Option<scim_v2::filter::Filter>,
    sort_by: Option<String>,
    descending: bool,
    start_index: i64,
    count: i64,
}

fn listing(params: &ListParams) -> Result<Listing, Error> {
    let filter = match params.filter.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(parse_filter(text)?),
    };
    let descending = match params.sort_order.as_deref() {
        None => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(o) => {
            return Err(Error::invalid_value(format!(
                "sortOrder is ascending or descending, not {o:?}."
            )));
        }
    };
    Ok(Listing {
        filter,
        sort_by: params.sort_by.clone().filter(|s| !s.trim().is_empty()),
        descending,
        // RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
        start_index: params.start_index.unwrap_or(1).max(1),
        count: params.count.unwrap_or(MAX_COUNT).clamp(0, MAX_COUNT),
    })
}

/// Parses a filter; Entra ID sends `externalId eq jyoung` with the value unquoted, which
/// is read as the string it means.
fn parse_filter(text: &str) -> Result<scim_v2::filter::Filter, Error> {
    if text.len() > 4096 {
        return Err(Error::invalid("invalidFilter", "The filter is too long."));
    }
    match text.parse() {
        Ok(filter) => Ok(filter),
        Err(err) => {
            let parts: Vec<&str> = text.split_whitespace().collect();
            if let [attr, op, value] = parts.as_slice()
                && op.eq_ignore_ascii_case("eq")
                && !value.starts_with('"')
                && !["true", "false", "null"].contains(&value.to_ascii_lowercase().as_str())
                && value.parse::<f64>().is_err()
            {
                let quoted = serde_json::Value::String((*value).to_string());
                if let Ok(filter) = format!("{attr} eq {quoted}").parse() {
                    return Ok(filter);
                }
            }
            Err(Error::invalid(
                "invalidFilter",
                format!("The filter {text:?} is not a SCIM filter: {err}."),
            ))
        }
    }
}

fn list_error(err: db::scim::ListError) -> Error {
    match err {
        db::scim::ListError::Unsupported(u) => Error::invalid("invalidFilter", u.0),
        db::scim::ListError::Db(e) => e.into(),
    }
}
