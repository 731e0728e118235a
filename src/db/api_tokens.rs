//! API tokens: a member's bearer credentials in one organization, kept as hashes.

use super::{Db, Tx, on_db, on_tx};
use crate::domain::{MemberStatus, Role};

/// A token being created.
pub struct NewToken<'a> {
    pub membership_id: i64,
    pub org_id: i64,
    pub user_id: i64,
    pub name: &'a str,
    pub prefix: &'a str,
    pub token_hash: &'a str,
    pub now: i64,
    pub expires_at: Option<i64>,
}

pub async fn insert(tx: &mut Tx, t: &NewToken<'_>) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO api_tokens (membership_id, org_id, user_id, name, prefix, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(t.membership_id)
    .bind(t.org_id)
    .bind(t.user_id)
    .bind(t.name)
    .bind(t.prefix)
    .bind(t.token_hash)
    .bind(t.now)
    .bind(t.expires_at)
    .fetch_one(&mut *conn)
    .await)
}

/// A token as lists show it, with its organization and its member.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Listed {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub user_id: i64,
    pub user_email: String,
    pub org_id: i64,
    pub org_slug: String,
    pub org_name: String,
}

const LISTED: &str = "SELECT t.id, t.name, t.prefix, t.created_at, t.expires_at, t.last_used_at, \
    t.user_id, u.email AS user_email, t.org_id, o.slug AS org_slug, o.name AS org_name \
    FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN organizations o ON o.id = t.org_id";

/// A user's tokens in every organization, newest first.
pub async fn of_user(db: &Db, user_id: i64) -> sqlx::Result<Vec<Listed>> {
    let sql = format!("{LISTED} WHERE t.user_id = $1 ORDER BY t.created_at DESC, t.id DESC");
    on_db!(db, pool => sqlx::query_as(&sql).bind(user_id).fetch_all(pool).await)
}

/// Every token in an organization, newest first.
pub async fn of_org(db: &Db, org_id: i64) -> sqlx::Result<Vec<Listed>> {
    let sql = format!("{LISTED} WHERE t.org_id = $1 ORDER BY t.created_at DESC, t.id DESC");
    on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).fetch_all(pool).await)
}

/// One token with its organization and member, read inside a change.
pub async fn find_in(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Listed>> {
    let sql = format!("{LISTED} WHERE t.id = $1");
    on_tx!(tx, conn => sqlx::query_as(&sql).bind(id).fetch_optional(&mut *conn).await)
}

/// What a request's bearer token stands for: the token, its member, account and
/// organization as they are now.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Credential {
    pub token_id: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub membership_id: i64,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[sqlx(try_from = "String")]
    pub member_status: MemberStatus,
    pub has_seat: bool,
    pub member_last_active_at: Option<i64>,
    #[sqlx(flatten)]
    pub user: super::users::User,
    pub org_id: i64,
    pub org_name: String,
    pub org_slug: String,
    pub seats: Option<i64>,
    /// Whether the organization requires two-factor authentication of its members.
    pub require_two_factor: bool,
}

/// The token whose secret hashes to `token_hash`, in one query.
pub async fn credential(db: &Db, token_hash: &str) -> sqlx::Result<Option<Credential>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT t.id AS token_id, t.expires_at, t.last_used_at, m.id AS membership_id, m.role, \
         m.status AS member_status, m.has_seat, m.last_active_at AS member_last_active_at, \
         u.id, u.email, u.name, u.password_hash, u.is_instance_admin, u.status, \
         u.sessions_valid_after, u.two_factor_enabled_at, \
         o.id AS org_id, o.name AS org_name, o.slug AS org_slug, o.seats, o.require_two_factor \
         FROM api_tokens t JOIN memberships m ON m.id = t.membership_id \
         JOIN users u ON u.id = t.user_id JOIN organizations o ON o.id = t.org_id \
         WHERE t.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await)
}

/// Records a use, at most once a minute per token.
pub async fn touch(db: &Db, id: i64, now: i64) -> sqlx::Result<()> {
    super::touch(db, "api_tokens", "last_used_at", id, now).await
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM api_tokens WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Ends every token of a membership (its seat was revoked, or it was deactivated).
pub async fn delete_of_membership(tx: &mut Tx, membership_id: i64) -> sqlx::Result<u64> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM api_tokens WHERE membership_id = $1")
        .bind(membership_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))
}

/// Ends every token of an account, in every organization (it was deactivated).
pub async fn delete_of_user(tx: &mut Tx, user_id: i64) -> sqlx::Result<u64> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))
}
