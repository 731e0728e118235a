//! A typed view of the session: the signed-in user and the CSRF token.

use tower_sessions::Session;

use crate::domain::token;

const USER_ID: &str = "uid";
const SIGNED_IN_AT: &str = "signed_in_at";
const CSRF: &str = "csrf";
const SEEN_HOUR: &str = "seen_hour";

type Result<T> = std::result::Result<T, tower_sessions::session::Error>;

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

/// Marks the session as used at `now`. The session store extends a session's life only
/// when it is written, and requests that change nothing do not write it; this writes it
/// at most once an hour, which keeps an active session alive without a write per page.
pub async fn keep_alive(session: &Session, now: i64) -> Result<()> {
    session.insert(SEEN_HOUR, now / 3600).await
}
