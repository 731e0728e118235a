//! The signed-in sessions of one's own account: listing them and ending them.

use super::{Error, User, actor_of};
use crate::db::{self, account_sessions::Which, audit};
use crate::domain::user_agent;
use crate::state::AppState;

/// One session of the account, as the Account page lists it.
#[derive(Clone, Debug)]
pub struct AccountSession {
    /// The session store's id of the session: what ending it names.
    pub id: String,
    /// Browser and system, e.g. "Firefox 128 on Linux".
    pub browser: String,
    pub ip: String,
    pub signed_in_at: i64,
    pub last_seen_at: i64,
    /// Whether this is the session that asks.
    pub current: bool,
}

/// The account's sessions that still stand, this one (`current`, the asking session's
/// id) first.
pub async fn sessions_of(
    state: &AppState,
    user: &User,
    current: Option<&str>,
) -> Result<Vec<AccountSession>, Error> {
    let mut sessions: Vec<AccountSession> = db::account_sessions::of_user(&state.db, user.id)
        .await?
        .into_iter()
        .map(|row| AccountSession {
            current: Some(row.session_id.as_str()) == current,
            browser: user_agent::describe(&row.user_agent),
            id: row.session_id,
            ip: row.ip,
            signed_in_at: row.signed_in_at,
            last_seen_at: row.last_seen_at,
        })
        .collect();
    sessions.sort_by_key(|s| !s.current);
    Ok(sessions)
}

/// Ends the session `id` of `user` (not the asking one, `current`: signing out does
/// that): its record is deleted, so its next request, on any instance, is signed out.
/// Another account's session, or one already ended, is `NotFound` and nothing happens.
pub async fn end_session(
    state: &AppState,
    user: &User,
    ip: &str,
    current: Option<&str>,
    id: &str,
) -> Result<(), Error> {
    if Some(id) == current || id.is_empty() || id.len() > 100 {
        return Err(Error::NotFound);
    }
    let mut tx = state.db.begin().await?;
    let ended = db::account_sessions::end(&mut tx, user.id, Which::One(id)).await?;
    if ended == 0 {
        return Err(Error::NotFound);
    }
    let actor = actor_of(user, ip);
    let event = audit::Event::new(audit::Action::SessionEnded, &actor).target(
        "user",
        Some(user.id),
        Some(&user.email),
    );
    audit::record(&mut tx, &event, state.clock.now()).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of `user` but the asking one (`current`); how many ended.
pub async fn end_other_sessions(
    state: &AppState,
    user: &User,
    ip: &str,
    current: &str,
) -> Result<u64, Error> {
    let mut tx = state.db.begin().await?;
    let ended = db::account_sessions::end(&mut tx, user.id, Which::AllBut(current)).await?;
    let actor = actor_of(user, ip);
    let event = audit::Event::new(audit::Action::OtherSessionsEnded, &actor)
        .target("user", Some(user.id), Some(&user.email))
        .after(ended.to_string());
    audit::record(&mut tx, &event, state.clock.now()).await?;
    tx.commit().await?;
    Ok(ended)
}
