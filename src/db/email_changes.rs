//! Changes of an account's address waiting for confirmation (migration 0019), and the
//! change itself.

use super::{Tx, on_tx};
use crate::domain::Email;

/// A requested change, as its link finds it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EmailChange {
    pub user_id: i64,
    pub new_email: String,
    pub expires_at: i64,
}

/// Records the account's requested change, replacing any earlier one (whose link then
/// fails).
pub async fn replace(
    tx: &mut Tx,
    user_id: i64,
    new_email: &str,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM email_changes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO email_changes (user_id, new_email, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(new_email)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The change a link's token (its hash) stands for, without using it up.
pub async fn find(tx: &mut Tx, token_hash: &str) -> sqlx::Result<Option<EmailChange>> {
    on_tx!(tx, conn => sqlx::query_as(
        "SELECT user_id, new_email, expires_at FROM email_changes WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await)
}

/// Uses up the link: the change it stands for, deleted in the same statement, so that two
/// confirmations of one link cannot both have it.
pub async fn take(tx: &mut Tx, token_hash: &str) -> sqlx::Result<Option<EmailChange>> {
    on_tx!(tx, conn => sqlx::query_as(
        "DELETE FROM email_changes WHERE token_hash = $1 RETURNING user_id, new_email, expires_at",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await)
}

/// Gives account `user_id` the address `email`, and its memberships' copy of it (their
/// sort and search key). The unique index on `users.email_normalized` refuses an address
/// another account has, even one it took in a transaction running alongside this one.
pub async fn apply(tx: &mut Tx, user_id: i64, email: &Email) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET email = $1, email_normalized = $2 WHERE id = $3",
    )
    .bind(email.as_str())
    .bind(email.normalized())
    .bind(user_id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    // A member the identity provider names keeps its userName; the others go by address.
    on_tx!(tx, conn => sqlx::query(
        "UPDATE memberships SET sort_email = $1, \
         user_name_key = CASE WHEN user_name IS NULL THEN $1 ELSE user_name_key END \
         WHERE user_id = $2",
    )
        .bind(email.normalized())
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
