//! Access requests: where an organization does not let members invite, a Member or
//! Billing manager asks for an invitation instead of being refused; its Owners and
//! Admins approve it (the invitation is sent as if they had invited, crediting the
//! requester) or decline it with an optional note. The requester is emailed either way.

use crate::actor::Actor;
pub use crate::db::access_requests::AccessRequest;
use crate::db::access_requests::NewRequest;
use crate::db::{self, Tx, audit};
use crate::domain::invitation::split_addresses;
use crate::domain::permissions::{self, Action};
use crate::domain::{Email, FieldErrors, Role, text};
use crate::email::messages;
use crate::invitations::{self, Invited, Request};
use crate::state::AppState;

/// Addresses in one request.
pub const MAX_ADDRESSES: usize = 20;
/// Characters in a reason or a note.
pub const MAX_TEXT: usize = 1_000;
/// Pending requests listed at once.
const LIST_LIMIT: i64 = 200;

/// Why the access requests service did not do what was asked; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The permission table does not allow it.
    #[error("Your role does not allow this.")]
    Forbidden,
    /// No such pending request in this organization (decided meanwhile, or unknown).
    #[error("That request is no longer pending: someone has already approved or declined it.")]
    NotFound,
    /// The form has mistakes, by field.
    #[error("The request has mistakes.")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Error {
        Error::Internal(err.into())
    }
}

impl From<invitations::Error> for Error {
    fn from(err: invitations::Error) -> Error {
        match err {
            invitations::Error::Forbidden => Error::Forbidden,
            invitations::Error::NotFound => Error::NotFound,
            other => Error::Internal(anyhow::anyhow!("{other}")),
        }
    }
}

/// A request as typed: addresses (separated as on the invite form), a role, a reason.
#[derive(Clone, Debug, Default)]
pub struct Asked {
    pub emails: String,
    pub role: String,
    pub reason: String,
}

/// The roles `actor` may ask an invitation for in their organization (empty: they may
/// not ask, either because they may invite or because their role may do neither).
pub async fn requestable_roles(state: &AppState, actor: &Actor) -> Result<Vec<Role>, Error> {
    let settings = db::orgs::settings(&state.db, actor.org.id).await?;
    Ok(permissions::requestable_roles(
        actor.role,
        settings.members_may_invite,
    ))
}

/// Stores `asked` as a pending request of `actor` and audits it; returns its id.
pub async fn request(state: &AppState, actor: &Actor, asked: &Asked) -> Result<i64, Error> {
    let me = actor.user().ok_or(Error::Forbidden)?;
    let roles = requestable_roles(state, actor).await?;
    if roles.is_empty() {
        return Err(Error::Forbidden);
    }
    let mut errors = FieldErrors::default();
    let role = asked
        .role
        .parse::<Role>()
        .ok()
        .filter(|r| roles.contains(r));
    if role.is_none() {
        errors.add("role", "Choose one of the offered roles.");
    }
    let mut emails: Vec<String> = Vec::new();
    if let Err(m) = text::check_multi_line(&asked.emails, MAX_ADDRESSES * 320) {
        errors.add("emails", m);
    } else {
        let typed = split_addresses(&asked.emails);
        let bad: Vec<String> = typed
            .iter()
            .filter(|a| Email::parse(a).is_err())
            .map(|a| text::sanitized(a, 80))
            .collect();
        if typed.is_empty() {
            errors.add("emails", "Enter at least one email address.");
        } else if typed.len() > MAX_ADDRESSES {
            errors.add(
                "emails",
                format!("Ask for at most {MAX_ADDRESSES} addresses at once."),
            );
        } else if !bad.is_empty() {
            errors.add(
                "emails",
                format!("These are not email addresses: {}.", bad.join(", ")),
            );
        }
        for address in typed {
            if let Ok(email) = Email::parse(address) {
                let normalized = email.normalized().to_string();
                if !emails.contains(&normalized) {
                    emails.push(normalized);
                }
            }
        }
    }
    let reason = asked.reason.trim();
    if let Err(m) = text::check_multi_line(reason, MAX_TEXT) {
        errors.add("reason", m);
    } else if reason.is_empty() {
        errors.add("reason", "Say why they need access, for whoever decides.");
    }
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return Err(Error::Invalid(errors));
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let new = NewRequest {
        org_id: actor.org.id,
        requested_by: me.id,
        requester_email: &me.email,
        emails: &emails,
        role,
        reason,
    };
    let id = db::access_requests::insert(&mut tx, &new, now).await?;
    let event = audit::Event::new(audit::Action::AccessRequested, &actor.audit)
        .in_org(actor.org.id)
        .target("access_request", Some(id), None)
        .before(role.as_str())
        .after(emails.join(", "));
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Whether `actor` may see and decide the organization's access requests.
pub fn may_decide(actor: Role) -> bool {
    permissions::allows(actor, Action::DecideAccessRequest { role: Role::Viewer })
}

/// The organization's pending requests, oldest first: Owners and Admins only.
pub async fn pending(state: &AppState, actor: &Actor) -> Result<Vec<AccessRequest>, Error> {
    // Requests are decided by people: the identity provider never sees them.
    if !may_decide(actor.role) || actor.user().is_none() {
        return Err(Error::Forbidden);
    }
    Ok(db::access_requests::pending(&state.db, actor.org.id, LIST_LIMIT).await?)
}

/// The pending request `id` as `actor` may decide it.
async fn decidable(state: &AppState, actor: &Actor, id: i64) -> Result<AccessRequest, Error> {
    if !may_decide(actor.role) {
        return Err(Error::Forbidden);
    }
    let request = db::access_requests::find(&state.db, actor.org.id, id)
        .await?
        .filter(|r| r.state == "pending")
        .ok_or(Error::NotFound)?;
    if !permissions::allows(
        actor.role,
        Action::DecideAccessRequest { role: request.role },
    ) {
        return Err(Error::Forbidden);
    }
    Ok(request)
}

/// Approves the pending request `id`: its addresses are invited as if `actor` had
/// invited them (those that can still be; the others are reported in the plan), each
/// invitation crediting the requester. Of two approvals at once, one invites.
pub async fn approve(state: &AppState, actor: &Actor, id: i64) -> Result<Invited, Error> {
    decidable(state, actor, id).await?;
    Ok(invitations::invite_requested(state, actor, id).await?)
}

/// Inside the invitations' transaction (`invitations::invite_requested`): marks the
/// request approved by `actor`, audits it and emails the requester; returns its
/// invitations to plan and its requester, or None when it is no longer pending.
pub(crate) async fn approve_in(
    state: &AppState,
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    now: i64,
) -> anyhow::Result<Option<(Vec<Request>, Option<i64>)>> {
    let decided =
        db::access_requests::decide(tx, actor.org.id, id, "approved", actor.user_id(), "", now)
            .await?;
    let Some(request) = decided else {
        return Ok(None);
    };
    record_decision(state, tx, actor, &request, true, "", now).await?;
    let requests = request
        .addresses()
        .into_iter()
        .map(|a| Request::new(a, request.role))
        .collect();
    Ok(Some((requests, request.requested_by)))
}

/// Declines the pending request `id`, with an optional note for the requester.
pub async fn decline(
    state: &AppState,
    actor: &Actor,
    id: i64,
    note: &str,
) -> Result<AccessRequest, Error> {
    decidable(state, actor, id).await?;
    let note = note.trim();
    if let Err(m) = text::check_multi_line(note, MAX_TEXT) {
        let mut errors = FieldErrors::default();
        errors.add("note", m);
        return Err(Error::Invalid(errors));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let decided = db::access_requests::decide(
        &mut tx,
        actor.org.id,
        id,
        "declined",
        actor.user_id(),
        note,
        now,
    )
    .await?;
    let Some(request) = decided else {
        return Err(Error::NotFound);
    };
    record_decision(state, &mut tx, actor, &request, false, note, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(request)
}

/// The decision's audit event and the requester's email.
async fn record_decision(
    state: &AppState,
    tx: &mut Tx,
    actor: &Actor,
    request: &AccessRequest,
    approved: bool,
    note: &str,
    now: i64,
) -> anyhow::Result<()> {
    let action = if approved {
        audit::Action::AccessRequestApproved
    } else {
        audit::Action::AccessRequestDeclined
    };
    let addresses = request.addresses().join(", ");
    let event = audit::Event::new(action, &actor.audit)
        .in_org(actor.org.id)
        .target(
            "access_request",
            Some(request.id),
            Some(&request.requester_email),
        )
        .before(request.role.as_str())
        .after(addresses.clone());
    audit::record(tx, &event, now).await?;
    let email = messages::AccessRequestDecided {
        to: request.requester_email.clone(),
        org_name: actor.org.name.clone(),
        decided_by: actor.display_name(),
        addresses,
        role: request.role.label(),
        approved,
        note: note.to_string(),
        invitations_url: format!("{}/orgs/{}/invitations", state.public_url(), actor.org.slug),
    };
    state.mailer.queue(tx, &email, now).await?;
    Ok(())
}
