//! Sign-in throttling, per account and per client address, counted from the audit
//! trail's failed sign-ins so that every Roster process sharing a database agrees.

use crate::db::{self, Db};

/// Failures are counted over this window.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures allowed per account within the window.
pub const PER_ACCOUNT: i64 = 5;
/// Failures allowed per client address within the window (several accounts behind one NAT).
pub const PER_ADDRESS: i64 = 20;

/// True when this account or address has failed too often and must wait.
pub async fn is_throttled(
    db: &Db,
    normalized_email: &str,
    ip: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let (by_account, by_address) =
        db::audit::count_failed_sign_ins(db, normalized_email, ip, now - WINDOW_SECS).await?;
    Ok(by_account >= PER_ACCOUNT || by_address >= PER_ADDRESS)
}
