//! The domains organizations claim (migration 0022): added with a challenge, verified by
//! DNS or by an instance admin, verified for one organization at a time.

use super::{Db, Tx, on_db, on_tx};

/// One domain of an organization.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DomainRow {
    pub id: i64,
    pub org_id: i64,
    pub domain: String,
    pub challenge: String,
    pub created_at: i64,
    pub verified_at: Option<i64>,
    /// "dns" or "admin" once verified.
    pub verified_how: Option<String>,
    pub last_checked_at: Option<i64>,
    pub last_problem: Option<String>,
}

const COLUMNS: &str = "id, org_id, domain, challenge, created_at, verified_at, verified_how, \
                       last_checked_at, last_problem";

/// The organization's domains, by name.
pub async fn of_org(db: &Db, org_id: i64) -> sqlx::Result<Vec<DomainRow>> {
    let sql = format!("SELECT {COLUMNS} FROM org_domains WHERE org_id = $1 ORDER BY domain");
    on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).fetch_all(pool).await)
}

/// One domain of the organization, locked for the transaction's change on PostgreSQL.
pub async fn find_for_update(tx: &mut Tx, org_id: i64, id: i64) -> sqlx::Result<Option<DomainRow>> {
    let lock = match tx {
        Tx::Sqlite(..) => "",
        Tx::Postgres(_) => " FOR UPDATE",
    };
    let sql = format!("SELECT {COLUMNS} FROM org_domains WHERE org_id = $1 AND id = $2{lock}");
    on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(org_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await)
}

/// One domain of the organization.
pub async fn find(db: &Db, org_id: i64, id: i64) -> sqlx::Result<Option<DomainRow>> {
    let sql = format!("SELECT {COLUMNS} FROM org_domains WHERE org_id = $1 AND id = $2");
    on_db!(db, pool => sqlx::query_as(&sql)
        .bind(org_id)
        .bind(id)
        .fetch_optional(pool)
        .await)
}

/// Adds `domain` to the organization, not verified; a unique violation when it has it.
pub async fn insert(
    tx: &mut Tx,
    org_id: i64,
    domain: &str,
    challenge: &str,
    now: i64,
) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO org_domains (org_id, domain, challenge, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(org_id)
    .bind(domain)
    .bind(challenge)
    .bind(now)
    .fetch_one(&mut *conn)
    .await)
}

/// The name of the organization `domain` is verified for, when it is another than
/// `org_id`.
pub async fn verified_elsewhere(
    tx: &mut Tx,
    domain: &str,
    org_id: i64,
) -> sqlx::Result<Option<String>> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT o.name FROM org_domains d JOIN organizations o ON o.id = d.org_id \
         WHERE d.domain = $1 AND d.verified_at IS NOT NULL AND d.org_id <> $2",
    )
    .bind(domain)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await)
}

/// Marks the domain verified (`how`: "dns" or "admin"); a unique violation when another
/// organization's copy was verified meanwhile.
pub async fn mark_verified(tx: &mut Tx, id: i64, how: &str, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE org_domains SET verified_at = $1, verified_how = $2, last_checked_at = $1, \
         last_problem = NULL WHERE id = $3",
    )
    .bind(now)
    .bind(how)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|_| ()))
}

/// Keeps what a failed check found, for the page to show.
pub async fn record_problem(tx: &mut Tx, id: i64, problem: &str, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE org_domains SET last_checked_at = $1, last_problem = $2 WHERE id = $3",
    )
    .bind(now)
    .bind(problem)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|_| ()))
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM org_domains WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|_| ()))
}
