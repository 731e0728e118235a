use super::{Db, Tx, on_db, on_tx};
use crate::domain::Role;

/// The signed-in user's own membership, as needed to authorize a request.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Membership {
    pub id: i64,
    pub role: String,
    pub status: String,
}

/// One row of the Members page.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MemberRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub status: String,
    pub joined_at: i64,
}

pub async fn insert(
    tx: &mut Tx,
    org_id: i64,
    user_id: i64,
    role: Role,
    invited_by: Option<i64>,
    now: i64,
) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO memberships (org_id, user_id, role, joined_at, invited_by) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(org_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .bind(invited_by)
    .fetch_one(&mut *conn)
    .await)
}

pub async fn find(db: &Db, org_id: i64, user_id: i64) -> sqlx::Result<Option<Membership>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, role, status FROM memberships WHERE org_id = $1 AND user_id = $2",
    )
    .bind(org_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await)
}

/// Members, and pending (unexpired) invitations: the rows of the Members page.
pub async fn count_rows(db: &Db, org_id: i64, now: i64) -> sqlx::Result<(i64, i64)> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM memberships WHERE org_id = $1), \
         (SELECT COUNT(*) FROM invitations WHERE org_id = $1 AND state = 'pending' AND expires_at > $2)",
    )
    .bind(org_id)
    .bind(now)
    .fetch_one(pool)
    .await)
}

/// A page of the Members page: members in the order they joined, then pending
/// invitations in the order they were sent (status 'invited').
pub async fn list(
    db: &Db,
    org_id: i64,
    now: i64,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<MemberRow>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, email, name, role, status, joined_at FROM ( \
           SELECT m.id, u.email, u.name, m.role, m.status, m.joined_at, 0 AS kind \
           FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 \
           UNION ALL \
           SELECT i.id, i.email, '' AS name, i.role, 'invited' AS status, i.created_at AS joined_at, 1 AS kind \
           FROM invitations i WHERE i.org_id = $1 AND i.state = 'pending' AND i.expires_at > $2 \
         ) AS r ORDER BY kind, joined_at, id LIMIT $3 OFFSET $4",
    )
    .bind(org_id)
    .bind(now)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await)
}

/// Members (any status) in a transaction, for limits.
pub async fn count_in(tx: &mut Tx, org_id: i64) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE org_id = $1")
        .bind(org_id)
        .fetch_one(&mut *conn)
        .await)
}

/// Which of `emails` (normalized) already belong to members of the organization.
pub async fn member_emails(
    tx: &mut Tx,
    org_id: i64,
    emails: &[String],
) -> sqlx::Result<Vec<String>> {
    let mut found = Vec::new();
    for chunk in emails.chunks(super::IN_CHUNK) {
        let sql = format!(
            "SELECT u.email_normalized FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 AND u.email_normalized IN ({})",
            super::placeholders(2, chunk.len())
        );
        let rows: Vec<String> = on_tx!(tx, conn => {
            let mut query = sqlx::query_scalar(&sql).bind(org_id);
            for email in chunk {
                query = query.bind(email);
            }
            query.fetch_all(&mut *conn).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}
