//! An account's second factor: its sealed TOTP secret, the last time step accepted, and
//! its recovery codes (hashes only). Each acceptance is one conditional statement, so
//! that a code raced from two requests is taken once.

use super::{Db, Tx, on_db, on_tx};

/// The stored second factor of an account: its sealed secret and the last accepted step.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Stored {
    pub sealed_secret: String,
    pub last_step: i64,
}

/// The account's second factor, when it has one.
pub async fn find(db: &Db, user_id: i64) -> sqlx::Result<Option<Stored>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT two_factor_secret AS sealed_secret, two_factor_last_step AS last_step \
         FROM users WHERE id = $1 AND two_factor_secret IS NOT NULL",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await)
}

/// Turns the second factor on with `sealed_secret`, its first code of `step` taken;
/// false when it was already on (a parallel enrolment came first).
pub async fn enable(
    tx: &mut Tx,
    user_id: i64,
    sealed_secret: &str,
    step: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let changed = on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET two_factor_secret = $1, two_factor_enabled_at = $2, \
         two_factor_last_step = $3 WHERE id = $4 AND two_factor_secret IS NULL",
    )
    .bind(sealed_secret)
    .bind(now)
    .bind(step)
    .bind(user_id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Turns the second factor off and forgets its recovery codes; false when it was off.
pub async fn disable(tx: &mut Tx, user_id: i64) -> sqlx::Result<bool> {
    let changed = on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET two_factor_secret = NULL, two_factor_enabled_at = NULL, \
         two_factor_last_step = 0 WHERE id = $1 AND two_factor_secret IS NOT NULL",
    )
    .bind(user_id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    on_tx!(tx, conn => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Takes the code of time step `step`: true only if no code of that step or a later one
/// was taken before (a replay, or the same code sent twice at once, gets false).
pub async fn accept_step(tx: &mut Tx, user_id: i64, step: i64) -> sqlx::Result<bool> {
    let changed = on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET two_factor_last_step = $1 \
         WHERE id = $2 AND two_factor_secret IS NOT NULL AND two_factor_last_step < $1",
    )
    .bind(step)
    .bind(user_id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Replaces the account's recovery codes with `hashes`.
pub async fn replace_recovery_codes(
    tx: &mut Tx,
    user_id: i64,
    hashes: &[String],
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    for hash in hashes {
        on_tx!(tx, conn => sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
        )
        .bind(user_id)
        .bind(hash)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Uses up the recovery code hashed `hash`: true for exactly one caller.
pub async fn use_recovery_code(tx: &mut Tx, user_id: i64, hash: &str) -> sqlx::Result<bool> {
    let deleted = on_tx!(tx, conn => sqlx::query(
        "DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2",
    )
    .bind(user_id)
    .bind(hash)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(deleted == 1)
}

/// How many recovery codes the account has left.
pub async fn recovery_codes_left(db: &Db, user_id: i64) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(pool)
    .await)
}

/// How many recovery codes the account has left, inside a transaction.
pub async fn recovery_codes_left_in(tx: &mut Tx, user_id: i64) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await)
}

/// How many active members of the organization have no second factor.
pub async fn members_without(db: &Db, org_id: i64) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND m.status = 'active' AND u.two_factor_enabled_at IS NULL",
    )
    .bind(org_id)
    .fetch_one(pool)
    .await)
}
