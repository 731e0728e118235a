use super::{Db, Tx, on_db, on_tx};
use crate::domain::Email;

/// An account, as needed to sign in and to authorize a request.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_instance_admin: bool,
    pub status: String,
    pub sessions_valid_after: i64,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

const COLUMNS: &str =
    "id, email, name, password_hash, is_instance_admin, status, sessions_valid_after";

pub async fn count(db: &Db) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await)
}

/// Counts accounts inside a transaction, to decide first-run set-up atomically.
pub async fn count_in(tx: &mut Tx) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *conn).await)
}

pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn find_by_email(db: &Db, email: &Email) -> sqlx::Result<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email_normalized = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(email.normalized()).fetch_optional(pool).await)
}

/// Inserts an account; a taken email is a unique violation (see `db::is_unique_violation`).
pub async fn insert(
    tx: &mut Tx,
    email: &Email,
    name: &str,
    password_hash: &str,
    is_instance_admin: bool,
    now: i64,
) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO users (email, email_normalized, name, password_hash, is_instance_admin, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(email.as_str())
    .bind(email.normalized())
    .bind(name)
    .bind(password_hash)
    .bind(is_instance_admin)
    .bind(now)
    .fetch_one(&mut *conn)
    .await)
}

pub async fn record_sign_in(tx: &mut Tx, id: i64, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The account's name, read in the transaction that changes it (row-locked on PostgreSQL;
/// SQLite's `BEGIN IMMEDIATE` already excludes other writers).
pub async fn name_for_update(tx: &mut Tx, id: i64) -> sqlx::Result<Option<String>> {
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT name FROM users WHERE id = $1{lock}");
    on_tx!(tx, conn => sqlx::query_scalar(&sql).bind(id).fetch_optional(&mut *conn).await)
}

/// Renames the account, and its memberships' copy of the name (their sort key).
pub async fn update_name(tx: &mut Tx, id: i64, name: &str) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE users SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    super::memberships::rename_user(tx, id, name).await
}

/// Replaces the password hash and ends every session signed in up to and including the
/// second `now` (a session that goes on must be signed in again at `now + 1`), but only
/// while the stored hash is still `current_hash` (the one the caller verified): false when
/// another change came first.
pub async fn replace_password(
    tx: &mut Tx,
    id: i64,
    current_hash: &str,
    new_hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let changed = on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET password_hash = $1, sessions_valid_after = $2 \
         WHERE id = $3 AND password_hash = $4",
    )
    .bind(new_hash)
    .bind(now + 1)
    .bind(id)
    .bind(current_hash)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}
