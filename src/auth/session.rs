//! A typed view of the session: the signed-in user and the CSRF token.

use tower_sessions::Session;

use crate::domain::token;

const USER_ID: &str = "uid";
const SIGNED_IN_AT: &str = "signed_in_at";
const CSRF: &str = "csrf";
const SEEN_HOUR: &str = "seen_hour";
const SECOND_FACTOR: &str = "second_factor";
const TWO_FACTOR_SETUP: &str = "two_factor_setup";

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

/// Starts a signed-in session under a new id (no fixation) with a new CSRF token.
pub async fn sign_in(session: &Session, user_id: i64, now: i64) -> Result<()> {
    session.cycle_id().await?;
    session.remove_value(SECOND_FACTOR).await?;
    session.insert(USER_ID, user_id).await?;
    session.insert(SIGNED_IN_AT, now).await?;
    session.insert(CSRF, token::generate().0).await?;
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
