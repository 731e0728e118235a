//! API tokens: a member creates them for one organization and sees the secret once;
//! they, and the organization's Owners and Admins, revoke them. Creating one takes the
//! organization's member lock, so that it cannot slip past a seat being revoked.

use crate::auth::CurrentUser;
use crate::db::{self, LockScope, api_tokens, audit, memberships::By};
use crate::domain::permissions::{self, Action};
use crate::domain::{FieldErrors, text, token};
use crate::state::AppState;

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
    current: &CurrentUser,
    form: &NewTokenForm,
) -> anyhow::Result<Result<Created, FieldErrors>> {
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
            return Ok(Err(errors));
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
        return Ok(Err(errors));
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
        return Ok(Err(errors));
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
    let who = current.actor();
    let event = audit::Event::new(audit::Action::ApiTokenCreated, &who)
        .in_org(org.id)
        .target("api_token", Some(id), Some(&current.user.email))
        .after(name.clone());
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Ok(Created {
        secret,
        name,
        org_name: org.name,
    }))
}

/// Revokes the token `id` if it is the user's own, or if they are an active Owner or
/// Admin of its organization (and, when `org_id` is given, it belongs to that one). None
/// when there is no such token they may see.
pub async fn revoke(
    state: &AppState,
    current: &CurrentUser,
    id: i64,
    org_id: Option<i64>,
) -> anyhow::Result<Option<api_tokens::Listed>> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let found = api_tokens::find_in(&mut tx, id)
        .await?
        .filter(|t| org_id.is_none_or(|o| o == t.org_id));
    let Some(found) = found else {
        return Ok(None);
    };
    if found.user_id != current.user.id {
        let me =
            db::memberships::target_in(&mut tx, found.org_id, By::User(current.user.id)).await?;
        let may = me.is_some_and(|m| {
            m.status.is_active() && permissions::allows(m.role, Action::ManageTokens)
        });
        if !may {
            return Ok(None);
        }
    }
    api_tokens::delete(&mut tx, id).await?;
    let who = current.actor();
    let event = audit::Event::new(audit::Action::ApiTokenRevoked, &who)
        .in_org(found.org_id)
        .target("api_token", Some(id), Some(&found.user_email))
        .before(found.name.clone());
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Some(found))
}

/// The API tokens of `user_id`, for their account page.
pub async fn of_user(state: &AppState, user_id: i64) -> sqlx::Result<Vec<api_tokens::Listed>> {
    api_tokens::of_user(&state.db, user_id).await
}

/// Every member's API tokens in the organization `org_id`, for its Owners and Admins.
pub async fn of_org(state: &AppState, org_id: i64) -> sqlx::Result<Vec<api_tokens::Listed>> {
    api_tokens::of_org(&state.db, org_id).await
}
