//! A typed view of the session: the signed-in user and the CSRF token.

use std::collections::HashMap;
use std::sync::Mutex;

use tower_sessions::Session;
use tower_sessions::session::Id;

use crate::db;
use crate::domain::token;
use crate::error::AppError;
use crate::state::AppState;

const USER_ID: &str = "uid";
const SIGNED_IN_AT: &str = "signed_in_at";
const CSRF: &str = "csrf";
const SEEN_HOUR: &str = "seen_hour";
const SECOND_FACTOR: &str = "second_factor";
const TWO_FACTOR_SETUP: &str = "two_factor_setup";
const SSO: &str = "sso";

/// How long the second step of a sign-in waits for its code.
pub const SECOND_FACTOR_SECS: i64 = 5 * 60;

/// A sign-in whose password was right, waiting for its second factor. The session is
/// not signed in meanwhile.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PendingSignIn {
    pub user_id: i64,
    /// The account's normalized email, for the device cookie.
    pub account: String,
    /// Where to go once signed in (a local path, or empty).
    pub next: String,
    /// When the step ends (unix seconds).
    pub until: i64,
}

type Result<T> = std::result::Result<T, tower_sessions::session::Error>;

/// The signed-in user id and when the session was signed in.
pub async fn signed_in(session: &Session) -> Result<Option<(i64, i64)>> {
    let user_id: Option<i64> = session.get(USER_ID).await?;
    let at: Option<i64> = session.get(SIGNED_IN_AT).await?;
    Ok(user_id.zip(at))
}

/// The browser a session signs in from, as the account's list of sessions shows it.
#[derive(Clone, Debug, Default)]
pub struct Client {
    pub ip: String,
    /// The `User-Agent` header, without control characters and cut to `USER_AGENT_MAX`.
    pub user_agent: String,
}

/// The most of a `User-Agent` header kept.
pub const USER_AGENT_MAX: usize = 400;

impl Client {
    pub fn new(ip: &str, user_agent: Option<&str>) -> Client {
        let user_agent = user_agent
            .unwrap_or_default()
            .chars()
            .filter(|c| !crate::domain::text::is_control(*c))
            .take(USER_AGENT_MAX)
            .collect::<String>()
            .trim()
            .to_string();
        Client {
            ip: ip.to_string(),
            user_agent,
        }
    }
}

/// Starts a signed-in session under a new id (no fixation) with a new CSRF token, and
/// records it in the account's sessions (`db::account_sessions`). The session is saved
/// here, not after the response, to learn its new id: the store chooses it when it creates
/// the record. The row is keyed by that id, so that ending a session from another browser
/// deletes the store's record itself (its next request, on any instance, finds none).
pub async fn sign_in(
    state: &AppState,
    session: &Session,
    user_id: i64,
    now: i64,
    client: &Client,
) -> std::result::Result<(), AppError> {
    let before = session.id();
    session.cycle_id().await?;
    session.remove_value(SECOND_FACTOR).await?;
    session.insert(USER_ID, user_id).await?;
    session.insert(SIGNED_IN_AT, now).await?;
    session.insert(CSRF, token::generate().0).await?;
    session.save().await?;
    let Some(id) = session.id() else {
        return Err(anyhow::anyhow!("a saved session has no id").into());
    };
    let before = before.map(|id| id.to_string());
    db::account_sessions::record(
        &state.db,
        before.as_deref(),
        &id.to_string(),
        user_id,
        &client.user_agent,
        &client.ip,
        now,
    )
    .await?;
    state
        .extension::<LastSeen>()
        .remember(id, state.clock.now());
    Ok(())
}

/// Ends the session: its record and its row in the account's sessions are deleted and
/// the cookie cleared.
pub async fn sign_out(state: &AppState, session: &Session) -> std::result::Result<(), AppError> {
    if let Some(id) = session.id() {
        db::account_sessions::forget(&state.db, &id.to_string()).await?;
    }
    session.flush().await?;
    Ok(())
}

/// When this process last wrote each session's "last seen" (`db::account_sessions::touch`),
/// so that a session's requests write it at most once a minute and, in between, cost no
/// query. Another instance keeps its own; the write itself is conditional, so the row
/// still changes at most once a minute.
#[derive(Debug, Default)]
pub struct LastSeen(Mutex<HashMap<Id, i64>>);

/// Sessions remembered at most; past it, the process starts over (a session forgotten
/// costs one conditional write on its next request).
const SESSIONS_REMEMBERED: usize = 10_000;

impl LastSeen {
    fn remember(&self, session: Id, at: i64) {
        let Ok(mut seen) = self.0.lock() else {
            return;
        };
        if seen.len() >= SESSIONS_REMEMBERED && !seen.contains_key(&session) {
            seen.clear();
        }
        seen.insert(session, at);
    }

    /// Whether the session's use at `now` is to be written (and, if so, it is counted as
    /// written).
    fn due(&self, session: Id, now: i64) -> bool {
        let Ok(mut seen) = self.0.lock() else {
            return false;
        };
        match seen.get(&session) {
            Some(at) if *at > now - 60 => false,
            _ => {
                if seen.len() >= SESSIONS_REMEMBERED {
                    seen.clear();
                }
                seen.insert(session, now);
                true
            }
        }
    }
}

/// Records that the signed-in session was used at `now`: at most once a minute a
/// conditional write, otherwise nothing.
pub async fn seen(
    state: &AppState,
    session: &Session,
    now: i64,
) -> std::result::Result<(), AppError> {
    if let Some(id) = session.id()
        && state.extension::<LastSeen>().due(id, now)
    {
        db::account_sessions::touch(&state.db, &id.to_string(), now).await?;
    }
    Ok(())
}

/// Starts the second step of a sign-in under a new session id, ending any sign-in the
/// session held.
pub async fn begin_second_factor(session: &Session, pending: &PendingSignIn) -> Result<()> {
    session.cycle_id().await?;
    session.remove_value(USER_ID).await?;
    session.remove_value(SIGNED_IN_AT).await?;
    session.insert(SECOND_FACTOR, pending).await?;
    Ok(())
}

/// Keeps a sign-in sent to an identity provider until the provider sends the browser
/// back; a newer one replaces it.
pub async fn begin_sso(session: &Session, pending: &crate::sso::Pending) -> Result<()> {
    session.insert(SSO, pending).await
}

/// The sign-in sent to a provider, taken out of the session: a callback uses it once.
pub async fn take_sso(session: &Session) -> Result<Option<crate::sso::Pending>> {
    session.remove(SSO).await
}

/// The sign-in waiting for its second factor, while its time lasts at `now`.
pub async fn pending_second_factor(session: &Session, now: i64) -> Result<Option<PendingSignIn>> {
    let pending: Option<PendingSignIn> = session.get(SECOND_FACTOR).await?;
    Ok(pending.filter(|p| p.until > now))
}

/// Forgets the sign-in waiting for its second factor.
pub async fn end_second_factor(session: &Session) -> Result<()> {
    session.remove_value(SECOND_FACTOR).await?;
    Ok(())
}

/// The TOTP secret (base32) being set up in this session, created on first use: the
/// server keeps it until the first code confirms it, so the form never carries it.
pub async fn two_factor_setup(session: &Session, fresh: impl FnOnce() -> String) -> Result<String> {
    if let Some(existing) = session.get::<String>(TWO_FACTOR_SETUP).await? {
        return Ok(existing);
    }
    let fresh = fresh();
    session.insert(TWO_FACTOR_SETUP, &fresh).await?;
    Ok(fresh)
}

/// The TOTP secret being set up, if any.
pub async fn pending_two_factor_setup(session: &Session) -> Result<Option<String>> {
    session.get(TWO_FACTOR_SETUP).await
}

/// Forgets the TOTP secret being set up.
pub async fn end_two_factor_setup(session: &Session) -> Result<()> {
    session.remove_value(TWO_FACTOR_SETUP).await?;
    Ok(())
}

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String> {
    if let Some(existing) = session.get::<String>(CSRF).await? {
        return Ok(existing);
    }
    let fresh = token::generate().0;
    session.insert(CSRF, &fresh).await?;
    Ok(fresh)
}

/// The token a state-changing request must carry, if the session has one yet.
pub async fn expected_csrf(session: &Session) -> Result<Option<String>> {
    session.get(CSRF).await
}

/// Marks the session as used at `now`. The session store extends a session's life only
/// when it is written, and requests that change nothing do not write it; this writes it
/// at most once an hour, which keeps an active session alive without a write per page.
pub async fn keep_alive(session: &Session, now: i64) -> Result<()> {
    session.insert(SEEN_HOUR, now / 3600).await
}
