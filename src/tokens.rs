//! API tokens: a member creates them for one organization and sees the secret once;
//! they, and the organization's Owners and Admins, revoke them. Creating one takes the
//! organization's member lock, so that it cannot slip past a seat being revoked.

use crate::actor::{Actor, Person};
/// A token as its lists show it (never its secret).
pub use crate::db::api_tokens::Listed;
use crate::db::{self, LockScope, api_tokens, audit, memberships::By, orgs::Org};
use crate::domain::permissions::{self, Action};
use crate::domain::{FieldErrors, text, token};
use crate::state::AppState;

/// Why the tokens service did not do what was asked; nothing was written. `Display` is
/// what the person (or the script holding the token) is told.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A new token's fields, each with its message.
    #[error("Check the token's fields.")]
    Fields(FieldErrors),
    /// No such token that this person may see.
    #[error("That API token does not exist, or you cannot see it.")]
    NotFound,
    /// A request's token is unknown or revoked.
    #[error("This API token is not valid: unknown or revoked.")]
    Unknown,
    #[error("This API token has expired.")]
    Expired,
    /// The token's membership or account is no longer active.
    #[error("This API token's member is no longer active.")]
    MemberInactive,
    #[error("The organization limits seats and this token's member has none.")]
    NoSeat,
    /// The token belongs to another organization than the one asked about.
    #[error("This API token belongs to another organization.")]
    OtherOrganization,
    /// The organization requires two-factor authentication and the token's account has none.
    #[error(
        "This organization requires two-factor authentication: turn it on for your account to use its API tokens."
    )]
    TwoFactorRequired,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Error::Fields(errors)
    }
}

/// The longest name a token may have.
pub const NAME_MAX: usize = 100;
/// The lifetimes offered: (form value, label). A value is a number of days, or "never".
pub const LIFETIMES: [(&str, &str); 5] = [
    ("7", "In 7 days"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
    ("never", "Never"),
];

/// A token request as typed on the Account page.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    pub token_name: String,
    /// The organization's slug.
    #[serde(default)]
    pub org: String,
    /// Days until it expires, or "never".
    #[serde(default)]
    pub expires: String,
}

impl NewTokenForm {
    /// The name and the lifetime in days, or the field messages.
    fn parse(&self) -> Result<(String, Option<i64>), FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = text::single_line(&self.token_name, "a name for the token", NAME_MAX)
            .map_err(|m| errors.add("token_name", m))
            .ok();
        let offered = LIFETIMES.iter().any(|(value, _)| *value == self.expires);
        let days = offered.then(|| self.expires.parse::<i64>().ok());
        if days.is_none() {
            errors.add("expires", "Choose when the token expires.");
        }
        match (name, days) {
            (Some(name), Some(days)) if errors.is_empty() => Ok((name, days)),
            _ => Err(errors),
        }
    }
}

/// A token just created: the secret, shown once.
#[derive(Clone, Debug)]
pub struct Created {
    pub secret: String,
    pub name: String,
    pub org_name: String,
}

/// Creates a token for the signed-in user in the organization the form names, if they
/// are an active member of it (with a seat, when it limits seats).
pub async fn create(
    state: &AppState,
    current: &Person,
    form: &NewTokenForm,
) -> Result<Created, Error> {
    let parsed = form.parse();
    // No slug holds a control character; PostgreSQL would refuse a NUL in the query.
    let org = if form.org.chars().any(text::is_control) {
        None
    } else {
        db::orgs::find_by_slug(&state.db, &form.org).await?
    };
    let (name, days) = match (parsed, &org) {
        (Ok(ok), Some(_)) => ok,
        (parsed, _) => {
            let mut errors = parsed.err().unwrap_or_default();
            if org.is_none() {
                errors.add("org", "Choose one of your organizations.");
            }
            return Err(errors.into());
        }
    };
    let org = org.expect("checked above");
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.lock(LockScope::OrgMembers, org.id).await?;
    let me = db::memberships::target_in(&mut tx, org.id, By::User(current.user.id))
        .await?
        .filter(|m| m.status.is_active());
    let Some(me) = me else {
        let mut errors = FieldErrors::default();
        errors.add("org", "Choose one of your organizations.");
        return Err(errors.into());
    };
    let seats = db::orgs::settings_for_update(&mut tx, org.id).await?.seats;
    if seats.is_some() && !me.has_seat {
        let mut errors = FieldErrors::default();
        errors.add(
            "org",
            format!(
                "{} limits seats, and you have none. Ask an Owner, Admin or Billing manager for a seat.",
                org.name
            ),
        );
        return Err(errors.into());
    }
    let (secret, token_hash, prefix) = token::generate_api();
    let id = api_tokens::insert(
        &mut tx,
        &api_tokens::NewToken {
            membership_id: me.id,
            org_id: org.id,
            user_id: current.user.id,
            name: &name,
            prefix: &prefix,
            token_hash: &token_hash,
            now,
            expires_at: days.map(|d| now + d * 86_400),
        },
    )
    .await?;
    let who = current.audit.clone();
    let event = audit::Event::new(audit::Action::ApiTokenCreated, &who)
        .in_org(org.id)
        .target("api_token", Some(id), Some(&current.user.email))
        .after(name.clone());
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Created {
        secret,
        name,
        org_name: org.name,
    })
}

/// Revokes the token `id` if it is the user's own, or if they are an active Owner or
/// Admin of its organization (and, when `org_id` is given, it belongs to that one).
pub async fn revoke(
    state: &AppState,
    current: &Person,
    id: i64,
    org_id: Option<i64>,
) -> Result<api_tokens::Listed, Error> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let found = api_tokens::find_in(&mut tx, id)
        .await?
        .filter(|t| org_id.is_none_or(|o| o == t.org_id));
    let Some(found) = found else {
        return Err(Error::NotFound);
    };
    if found.user_id != current.user.id {
        let me =
            db::memberships::target_in(&mut tx, found.org_id, By::User(current.user.id)).await?;
        let may = me.is_some_and(|m| {
            m.status.is_active() && permissions::allows(m.role, Action::ManageTokens)
        });
        if !may {
            return Err(Error::NotFound);
        }
    }
    api_tokens::delete(&mut tx, id).await?;
    let who = current.audit.clone();
    let event = audit::Event::new(audit::Action::ApiTokenRevoked, &who)
        .in_org(found.org_id)
        .target("api_token", Some(id), Some(&found.user_email))
        .before(found.name.clone());
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(found)
}

/// The API tokens of `user_id`, for their account page.
pub async fn of_user(state: &AppState, user_id: i64) -> sqlx::Result<Vec<api_tokens::Listed>> {
    api_tokens::of_user(&state.db, user_id).await
}

/// Every member's API tokens in the organization `org_id`, for its Owners and Admins.
pub async fn of_org(state: &AppState, org_id: i64) -> sqlx::Result<Vec<api_tokens::Listed>> {
    api_tokens::of_org(&state.db, org_id).await
}

/// The member a request's token stands for.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub actor: Actor,
    pub token_id: i64,
}

/// The member whose token is `secret`, acting on the organization `slug` from the
/// address `ip`: refused when the token is unknown, revoked or expired, when its member
/// or account is no longer active, when it has no seat in an organization that limits
/// them, or when it belongs to another organization. Marks the token (and the member)
/// used, at most once a minute.
pub async fn authenticate(
    state: &AppState,
    secret: &str,
    slug: &str,
    ip: String,
) -> Result<Authenticated, Error> {
    let credential = api_tokens::credential(&state.db, &token::hash(secret))
        .await?
        .ok_or(Error::Unknown)?;
    let now = state.clock.now();
    if credential.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::Expired);
    }
    if !credential.user.is_active() || !credential.member_status.is_active() {
        return Err(Error::MemberInactive);
    }
    if credential.seats.is_some() && !credential.has_seat {
        return Err(Error::NoSeat);
    }
    if credential.org_slug != slug {
        return Err(Error::OtherOrganization);
    }
    if credential.require_two_factor && !credential.user.has_two_factor() {
        return Err(Error::TwoFactorRequired);
    }
    if credential.last_used_at.is_none_or(|at| at <= now - 60) {
        api_tokens::touch(&state.db, credential.token_id, now).await?;
    }
    if credential
        .member_last_active_at
        .is_none_or(|at| at <= now - 60)
    {
        db::memberships::touch(&state.db, credential.membership_id, now).await?;
    }
    let user = credential.user;
    let audit = audit::Actor {
        user_id: Some(user.id),
        email: Some(user.email.clone()),
        ip: Some(ip),
    };
    Ok(Authenticated {
        actor: Actor::member(
            Org {
                id: credential.org_id,
                name: credential.org_name,
                slug: credential.org_slug,
            },
            user,
            credential.role,
            audit,
        ),
        token_id: credential.token_id,
    })
}
