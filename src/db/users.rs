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
/// Only sessions signed in from its creation on are its own: SQLite may give a new
/// account the id of a deleted one, whose old sessions must not carry over.
pub async fn insert(
    tx: &mut Tx,
    email: &Email,
    name: &str,
    password_hash: &str,
    is_instance_admin: bool,
    now: i64,
) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO users (email, email_normalized, name, password_hash, is_instance_admin, created_at, \
         sessions_valid_after) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
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

/// The time to record for a session of `user` signed in at `now`. Ending sessions moves
/// `sessions_valid_after` past the current second, so that a session started in that
/// same second ends too; a sign-in later in that second counts from then on.
pub fn session_epoch(user: &User, now: i64) -> i64 {
    now.max(user.sessions_valid_after)
}
