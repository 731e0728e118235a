//! Password reset links: one live link per account, kept as the hash of its secret.

use super::users::User;
use super::{Db, Tx, on_db, on_tx};

/// Gives the account `user_id` a new link (its hash) that works until `expires_at`; the
/// account's earlier link, if any, stops working.
pub async fn replace(
    tx: &mut Tx,
    user_id: i64,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO password_resets (user_id, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
         token_hash = excluded.token_hash, created_at = excluded.created_at, \
         expires_at = excluded.expires_at",
    )
    .bind(user_id)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The account whose live link has the hash `token_hash`, if the link still works at `now`.
pub async fn find_account(db: &Db, token_hash: &str, now: i64) -> sqlx::Result<Option<User>> {
    let sql = format!(
        "SELECT {} FROM password_resets r JOIN users u ON u.id = r.user_id \
         WHERE r.token_hash = $1 AND r.expires_at > $2",
        super::users::U_COLUMNS
    );
    on_db!(db, pool => sqlx::query_as(&sql)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(pool)
        .await)
}

/// Uses up the link with the hash `token_hash` if it still works at `now`: one
/// conditional statement, so that of parallel uses exactly one gets the account's id.
pub async fn consume(tx: &mut Tx, token_hash: &str, now: i64) -> sqlx::Result<Option<i64>> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "DELETE FROM password_resets WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await)
}

/// Ends the account's link, if it has one (its password changed).
pub async fn delete_of_user(tx: &mut Tx, user_id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
