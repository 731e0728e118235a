//! Access requests: a member's request that the Owners and Admins invite someone.

use super::{Db, Tx, on_db, on_tx};
use crate::domain::Role;

/// A request about to be stored.
pub struct NewRequest<'a> {
    pub org_id: i64,
    pub requested_by: i64,
    pub requester_email: &'a str,
    /// The normalized addresses.
    pub emails: &'a [String],
    pub role: Role,
    pub reason: &'a str,
}

/// A stored request, as the list and the decisions need it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AccessRequest {
    pub id: i64,
    pub requested_by: Option<i64>,
    pub requester_email: String,
    pub requester_name: Option<String>,
    /// One address per line.
    pub emails: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub reason: String,
    pub state: String,
    pub created_at: i64,
}

impl AccessRequest {
    /// The addresses asked for.
    pub fn addresses(&self) -> Vec<&str> {
        self.emails.lines().filter(|l| !l.is_empty()).collect()
    }
}

pub async fn insert(tx: &mut Tx, r: &NewRequest<'_>, now: i64) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO access_requests (org_id, requested_by, requester_email, emails, role, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(r.org_id)
    .bind(r.requested_by)
    .bind(r.requester_email)
    .bind(r.emails.join("\n"))
    .bind(r.role.as_str())
    .bind(r.reason)
    .bind(now)
    .fetch_one(&mut *conn)
    .await)
}

const COLUMNS: &str = "r.id, r.requested_by, r.requester_email, u.name AS requester_name, r.emails, \
                       r.role, r.reason, r.state, r.created_at";

/// The organization's pending requests, oldest first (at most `limit`).
pub async fn pending(db: &Db, org_id: i64, limit: i64) -> sqlx::Result<Vec<AccessRequest>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM access_requests r LEFT JOIN users u ON u.id = r.requested_by \
         WHERE r.org_id = $1 AND r.state = 'pending' ORDER BY r.created_at, r.id LIMIT $2"
    );
    on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).bind(limit).fetch_all(pool).await)
}

/// The request `id` of the organization, whatever its state.
pub async fn find(db: &Db, org_id: i64, id: i64) -> sqlx::Result<Option<AccessRequest>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM access_requests r LEFT JOIN users u ON u.id = r.requested_by \
         WHERE r.org_id = $1 AND r.id = $2"
    );
    on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

/// Decides the pending request `id` of the organization in the caller's transaction:
/// returns it when it was pending, None when it is not (decided meanwhile, or unknown):
/// of two decisions at once, one finds it pending.
pub async fn decide(
    tx: &mut Tx,
    org_id: i64,
    id: i64,
    state: &str,
    decided_by: Option<i64>,
    note: &str,
    now: i64,
) -> sqlx::Result<Option<AccessRequest>> {
    let updated: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(
        "UPDATE access_requests SET state = $1, decided_by = $2, decided_at = $3, note = $4 \
         WHERE org_id = $5 AND id = $6 AND state = 'pending' RETURNING id",
    )
    .bind(state)
    .bind(decided_by)
    .bind(now)
    .bind(note)
    .bind(org_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await)?;
    if updated.is_none() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM access_requests r LEFT JOIN users u ON u.id = r.requested_by \
         WHERE r.id = $1"
    );
    on_tx!(tx, conn => sqlx::query_as(&sql).bind(id).fetch_optional(&mut *conn).await)
}
