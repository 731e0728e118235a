//! A typed view of the session: the signed-in user, the CSRF token and flash messages.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::domain::token;

const USER_ID: &str = "uid";
const SIGNED_IN_AT: &str = "signed_in_at";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
const SEEN_HOUR: &str = "seen_hour";
/// Flash messages kept for a session that never shows them (a script that only POSTs).
const MAX_FLASHES: usize = 5;

type Result<T> = std::result::Result<T, tower_sessions::session::Error>;

/// A one-time message shown on the next page.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    /// "success" or "error".
    pub kind: String,
    pub text: String,
}

/// The signed-in user id and when the session was signed in.
pub async fn signed_in(session: &Session) -> Result<Option<(i64, i64)>> {
    let user_id: Option<i64> = session.get(USER_ID).await?;
    let at: Option<i64> = session.get(SIGNED_IN_AT).await?;
    Ok(user_id.zip(at))
}

/// Starts a signed-in session under a new id (no fixation) with a new CSRF token.
pub async fn sign_in(session: &Session, user_id: i64, now: i64) -> Result<()> {
    session.cycle_id().await?;
    session.insert(USER_ID, user_id).await?;
    session.insert(SIGNED_IN_AT, now).await?;
    session.insert(CSRF, token::generate().0).await?;
    Ok(())
}

/// Ends the session: its record is deleted and the cookie cleared.
pub async fn sign_out(session: &Session) -> Result<()> {
    session.flush().await
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

/// Adds a one-time message for the next page; only the newest few are kept.
pub async fn flash(session: &Session, kind: &str, text: impl Into<String>) -> Result<()> {
    let mut all: Vec<Flash> = session.get(FLASH).await?.unwrap_or_default();
    all.push(Flash {
        kind: kind.into(),
        text: text.into(),
    });
    let extra = all.len().saturating_sub(MAX_FLASHES);
    all.drain(..extra);
    session.insert(FLASH, all).await
}

/// The flash messages, removed from the session. A session without any is left
/// unchanged, so that showing a page does not write the session back to the database.
pub async fn take_flashes(session: &Session) -> Result<Vec<Flash>> {
    if session.get_value(FLASH).await?.is_none() {
        return Ok(Vec::new());
    }
    Ok(session.remove(FLASH).await?.unwrap_or_default())
}

/// Marks the session as used at `now`. The session store extends a session's life only
/// when it is written, and requests that change nothing do not write it; this writes it
/// at most once an hour, which keeps an active session alive without a write per page.
pub async fn keep_alive(session: &Session, now: i64) -> Result<()> {
    session.insert(SEEN_HOUR, now / 3600).await
}
