use sqlx::QueryBuilder;

use super::{
    Bind, Db, IN_CHUNK, Reader, Tx, ids_in_order, on_db, on_reader, on_tx, placeholders,
    rows_per_statement,
};
use crate::domain::invitation::Status;
use crate::domain::{Email, Role};

/// A new invitation's fields.
#[derive(Clone, Copy)]
pub struct NewInvitation<'a> {
    pub org_id: i64,
    pub email: &'a Email,
    pub role: Role,
    pub invited_by: i64,
    pub token_hash: &'a str,
    pub now: i64,
    pub expires_at: i64,
    /// The email about it, queued first so that the row is written once.
    pub outbox_id: Option<i64>,
    /// The last day of access the membership will have (`AccessUntil::stored`).
    pub access_until: Option<i64>,
    /// Who asked for it (an approved access request), when not the inviter.
    pub requested_by: Option<i64>,
}

/// Writes new invitations, many per statement; returns their ids in the order given.
pub async fn insert_all(tx: &mut Tx, invitations: &[NewInvitation<'_>]) -> sqlx::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(invitations.len());
    for chunk in invitations.chunks(rows_per_statement(12)) {
        let returned: Vec<(i64, String)> = on_tx!(tx, conn => {
            let mut query = QueryBuilder::new(
                "INSERT INTO invitations (org_id, email, email_normalized, role, invited_by, created_at, \
                 expires_at, last_sent_at, token_hash, outbox_id, access_until, requested_by) ",
            );
            query.push_values(chunk, |mut row, n| {
                row.push_bind(n.org_id)
                    .push_bind(n.email.as_str())
                    .push_bind(n.email.normalized())
                    .push_bind(n.role.as_str())
                    .push_bind(n.invited_by)
                    .push_bind(n.now)
                    .push_bind(n.expires_at)
                    .push_bind(n.now)
                    .push_bind(n.token_hash)
                    .push_bind(n.outbox_id)
                    .push_bind(n.access_until)
                    .push_bind(n.requested_by);
            });
            // Matched back by token_hash (unique), as RETURNING promises no order.
            query.push(" RETURNING id, token_hash");
            query.build_query_as().fetch_all(&mut *conn).await
        })?;
        ids.extend(ids_in_order(chunk.iter().map(|n| n.token_hash), returned)?);
    }
    Ok(ids)
}

/// Gives an open invitation a new token and expiry (a resend, or a new invitation in
/// place of an expired one); the old link stops working.
pub async fn renew(tx: &mut Tx, id: i64, n: &NewInvitation<'_>) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE invitations SET role = $1, invited_by = $2, token_hash = $3, expires_at = $4, last_sent_at = $5, \
         send_count = send_count + 1, outbox_id = $6 WHERE id = $7 AND state = 'pending'",
    )
    .bind(n.role.as_str())
    .bind(n.invited_by)
    .bind(n.token_hash)
    .bind(n.expires_at)
    .bind(n.now)
    .bind(n.outbox_id)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Renews many open invitations, as `renew` does one, many per statement: each
/// `(id, fields)` pair names the invitation and what it gets.
pub async fn renew_all(tx: &mut Tx, renewals: &[(i64, NewInvitation<'_>)]) -> sqlx::Result<()> {
    for chunk in renewals.chunks(rows_per_statement(9)) {
        on_tx!(tx, conn => {
            let mut query = QueryBuilder::new(
                "WITH renewed (id, role, invited_by, token_hash, expires_at, last_sent_at, outbox_id, \
                 access_until, requested_by) AS (",
            );
            query.push_values(chunk, |mut row, (id, n)| {
                row.push_bind(*id)
                    .push_bind(n.role.as_str())
                    .push_bind(n.invited_by)
                    .push_bind(n.token_hash)
                    .push_bind(n.expires_at)
                    .push_bind(n.now)
                    .push_bind(n.outbox_id)
                    .push_bind(n.access_until)
                    .push_bind(n.requested_by);
            });
            query.push(
                ") UPDATE invitations SET role = renewed.role, invited_by = renewed.invited_by, \
                 token_hash = renewed.token_hash, expires_at = renewed.expires_at, \
                 last_sent_at = renewed.last_sent_at, send_count = send_count + 1, \
                 outbox_id = renewed.outbox_id, access_until = renewed.access_until, \
                 requested_by = renewed.requested_by \
                 FROM renewed WHERE invitations.id = renewed.id AND invitations.state = 'pending'",
            );
            query.build().execute(&mut *conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

pub async fn set_outbox(tx: &mut Tx, id: i64, outbox_id: Option<i64>) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE invitations SET outbox_id = $1 WHERE id = $2")
        .bind(outbox_id)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Ends a pending invitation (accepted, declined or revoked) by account `by` (none for
/// someone without one); false if it was not pending.
pub async fn finish(
    tx: &mut Tx,
    id: i64,
    state: Status,
    by: Option<i64>,
    now: i64,
) -> sqlx::Result<bool> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE invitations SET state = $1, ended_at = $2, ended_by = $3 WHERE id = $4 AND state = 'pending'",
    )
    .bind(state.as_str())
    .bind(now)
    .bind(by)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// An open invitation for one of the requested addresses.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Open {
    pub id: i64,
    pub email_normalized: String,
    pub expires_at: i64,
}

/// What inviting needs to know about an organization, read inside the transaction that
/// invites (after its lock): its counts for the limits and which requested addresses
/// are taken.
#[derive(Clone, Debug, Default)]
pub struct Standing {
    /// Members, any status.
    pub member_count: i64,
    /// Invitations pending and not expired.
    pub pending: i64,
    /// Which requested addresses already belong to members.
    pub members: Vec<String>,
    /// The open (pending, possibly expired) invitations to requested addresses.
    pub open: Vec<Open>,
}

#[derive(sqlx::FromRow)]
struct StandingRow {
    member_count: i64,
    pending: i64,
    members: String,
    open: String,
}

/// The organization's standing for inviting `emails` (normalized): one statement per
/// `IN_CHUNK` addresses, so that a typed invitation costs one round trip. The counts
/// come from the organization's kept counts (migrations 0009 and 0010).
pub async fn standing<'r>(
    reader: impl Into<Reader<'r>>,
    org_id: i64,
    emails: &[String],
    now: i64,
) -> sqlx::Result<Standing> {
    let mut reader = reader.into();
    // Without statistics SQLite would walk every member of the organization once several
    // addresses are asked for, and every pending invitation: the members are found from
    // the addresses' accounts, the invitations through their addresses' index.
    let (array, tuple, by_email) = if reader.is_sqlite() {
        (
            "json_group_array",
            "json_array",
            "INDEXED BY invitations_org_pending_email",
        )
    } else {
        ("json_agg", "json_build_array", "")
    };
    let chunks: Vec<&[String]> = if emails.is_empty() {
        vec![&[]]
    } else {
        emails.chunks(IN_CHUNK).collect()
    };
    let mut standing = Standing::default();
    for chunk in chunks {
        let list = if chunk.is_empty() {
            "NULL".to_string()
        } else {
            placeholders(3, chunk.len())
        };
        let sql = format!(
            "SELECT CAST(o.member_count AS BIGINT) AS member_count, \
             CAST({pending} AS BIGINT) AS pending, \
             (SELECT COALESCE(CAST({array}(u.email_normalized) AS TEXT), '[]') \
              FROM memberships m JOIN users u ON u.id = m.user_id \
              WHERE m.org_id = $1 AND m.user_id IN \
              (SELECT id FROM users WHERE email_normalized IN ({list}))) AS members, \
             (SELECT COALESCE(CAST({array}({tuple}(i.id, i.email_normalized, i.expires_at)) AS TEXT), '[]') \
              FROM invitations i {by_email} \
              WHERE i.org_id = $1 AND i.state = 'pending' AND i.email_normalized IN ({list})) AS open \
             FROM organizations o WHERE o.id = $1",
            pending = pending_not_expired("$1", "$2"),
        );
        let row: StandingRow = on_reader!(&mut reader, ex => {
            let mut query = sqlx::query_as(&sql).bind(org_id).bind(now);
            for email in chunk {
                query = query.bind(email);
            }
            query.fetch_one(ex).await
        })?;
        let decode = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
        let members: Vec<String> = serde_json::from_str(&row.members).map_err(decode)?;
        let open: Vec<(i64, String, i64)> = serde_json::from_str(&row.open).map_err(decode)?;
        standing.member_count = row.member_count;
        standing.pending = row.pending;
        standing.members.extend(members);
        standing.open.extend(
            open.into_iter()
                .map(|(id, email_normalized, expires_at)| Open {
                    id,
                    email_normalized,
                    expires_at,
                }),
        );
    }
    Ok(standing)
}

/// The invitations of organization `org_id` that are pending and not expired at `now`
/// (SQL expressions, e.g. placeholders), as a scalar SQL expression: the organization's
/// pending count, kept by triggers (migration 0010), less its expired pending invitations,
/// found through the partial index `invitations_pending_expiry` so that only those are
/// counted.
pub fn pending_not_expired(org_id: &str, now: &str) -> String {
    format!(
        "((SELECT pending_count FROM organizations WHERE id = {org_id}) - (SELECT COUNT(*) \
         FROM invitations WHERE org_id = {org_id} AND state = 'pending' AND expires_at <= {now}))"
    )
}

/// Invitations that are pending and not expired at `now`.
pub async fn count_pending(tx: &mut Tx, org_id: i64, now: i64) -> sqlx::Result<i64> {
    let sql = format!("SELECT CAST({} AS BIGINT)", pending_not_expired("$1", "$2"));
    on_tx!(tx, conn => sqlx::query_scalar(&sql)
        .bind(org_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await)
}

/// An invitation with what its landing page shows.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Details {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub org_slug: String,
    pub email: String,
    pub email_normalized: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub state: String,
    pub expires_at: i64,
    pub invited_by: Option<i64>,
    pub inviter_name: Option<String>,
    pub inviter_email: Option<String>,
    /// The last day of access the membership will have, if it ends.
    pub access_until: Option<i64>,
}

pub async fn find_by_token_hash(db: &Db, token_hash: &str) -> sqlx::Result<Option<Details>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT i.id, i.org_id, o.name AS org_name, o.slug AS org_slug, i.email, i.email_normalized, i.role, \
         i.state, i.expires_at, i.invited_by, u.name AS inviter_name, u.email AS inviter_email, \
         i.access_until FROM invitations i JOIN organizations o ON o.id = i.org_id LEFT JOIN users u ON u.id = i.invited_by \
         WHERE i.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await)
}

/// One row of the Invitations page, with the delivery state of its latest email.
#[derive(Clone, Debug, sqlx::FromRow, serde::Deserialize)]
pub struct Row {
    pub id: i64,
    pub invited_by: Option<i64>,
    pub email: String,
    pub role: String,
    pub state: String,
    pub created_at: i64,
    pub last_sent_at: i64,
    pub expires_at: i64,
    pub inviter_name: Option<String>,
    pub outbox_id: Option<i64>,
    pub attempts: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub claimed_until: Option<i64>,
    pub sent_at: Option<i64>,
    pub gave_up_at: Option<i64>,
    pub last_error: Option<String>,
    /// When it was accepted, declined or revoked.
    pub ended_at: Option<i64>,
    /// The address of the account that ended it, when known.
    pub ended_by_email: Option<String>,
    /// Who asked for it, when an Owner or Admin approved their access request.
    pub requester_name: Option<String>,
}

fn status_condition(status: Status) -> &'static str {
    match status {
        Status::Pending => "i.state = 'pending' AND i.expires_at > $2",
        Status::Expired => "i.state = 'pending' AND i.expires_at <= $2",
        Status::Accepted => "i.state = 'accepted' AND $2 = $2",
        Status::Declined => "i.state = 'declined' AND $2 = $2",
        Status::Revoked => "i.state = 'revoked' AND $2 = $2",
    }
}

/// A page of an organization's invitations in one status, newest first.
pub async fn list(
    db: &Db,
    org_id: i64,
    status: Status,
    now: i64,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Row>> {
    // On SQLite, `+` keeps the expiry of the pending ones a filter, so that the newest
    // are walked in the index's order instead of every pending one found and sorted.
    let condition = match (db, status) {
        (Db::Sqlite(..), Status::Pending) => "i.state = 'pending' AND +i.expires_at > $2",
        _ => status_condition(status),
    };
    let sql = format!(
        "{ROW_SELECT} WHERE i.org_id = $1 AND {condition} ORDER BY i.created_at DESC, i.id DESC \
         LIMIT {limit} OFFSET {offset}"
    );
    // Limits are written in, as in `memberships::list`: the first page stays prepared.
    let values = [org_id, now].map(Bind::Int);
    super::fetch_list(db, &sql, &values, offset == 0).await
}

const ROW_SELECT: &str = "SELECT i.id, i.invited_by, i.email, i.role, i.state, i.created_at, i.last_sent_at, \
    i.expires_at, u.name AS inviter_name, i.outbox_id, o.attempts, o.next_attempt_at, o.claimed_until, \
    o.sent_at, o.gave_up_at, o.last_error, i.ended_at, e.email AS ended_by_email, \
    r.name AS requester_name \
    FROM invitations i LEFT JOIN users u ON u.id = i.invited_by LEFT JOIN outbox o ON o.id = i.outbox_id \
    LEFT JOIN users e ON e.id = i.ended_by LEFT JOIN users r ON r.id = i.requested_by";

/// One invitation of the organization as the Invitations page shows it.
pub async fn row(db: &Db, org_id: i64, id: i64) -> sqlx::Result<Option<Row>> {
    let sql = format!("{ROW_SELECT} WHERE i.org_id = $1 AND i.id = $2");
    on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

pub async fn count(db: &Db, org_id: i64, status: Status, now: i64) -> sqlx::Result<i64> {
    let sql = match status {
        Status::Pending => format!("SELECT CAST({} AS BIGINT)", pending_not_expired("$1", "$2")),
        _ => format!(
            "SELECT COUNT(*) FROM invitations i WHERE i.org_id = $1 AND {}",
            status_condition(status)
        ),
    };
    on_db!(db, pool => sqlx::query_scalar(&sql).bind(org_id).bind(now).fetch_one(pool).await)
}

/// An invitation as needed to resend or revoke it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Managed {
    pub id: i64,
    pub email: String,
    pub email_normalized: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub state: String,
    pub expires_at: i64,
    pub invited_by: Option<i64>,
}

/// The invitations of `org_id` among `ids`; ids of other organizations are not found.
pub async fn find_many<'r>(
    reader: impl Into<Reader<'r>>,
    org_id: i64,
    ids: &[i64],
) -> sqlx::Result<Vec<Managed>> {
    let mut reader = reader.into();
    let mut found = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT id, email, email_normalized, role, state, expires_at, invited_by FROM invitations \
             WHERE org_id = $1 AND id IN ({}) ORDER BY id",
            placeholders(2, chunk.len())
        );
        let rows: Vec<Managed> = on_reader!(&mut reader, ex => {
            let mut query = sqlx::query_as(&sql).bind(org_id);
            for id in chunk {
                query = query.bind(id);
            }
            query.fetch_all(ex).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// How the emails of one batch stand: those of organization `org_id`'s invitations whose
/// latest email's outbox id is in `first..=last` (a resent one leaves its first batch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchCounts {
    pub total: i64,
    pub delivered: i64,
    pub failed: i64,
    /// Failed at least once and waiting for another attempt.
    pub retrying: i64,
}

pub async fn batch_counts(
    db: &Db,
    org_id: i64,
    first: i64,
    last: i64,
    now: i64,
) -> sqlx::Result<BatchCounts> {
    // From the outbox's primary key to each invitation (index `invitations_outbox`): a
    // batch's rows only, however many invitations the organization has.
    on_db!(db, pool => sqlx::query_as(
        "SELECT COUNT(*) AS total, COUNT(o.sent_at) AS delivered, \
         CAST(COALESCE(SUM(CASE WHEN o.sent_at IS NULL AND o.gave_up_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed, \
         CAST(COALESCE(SUM(CASE WHEN o.sent_at IS NULL AND o.gave_up_at IS NULL AND o.last_error IS NOT NULL \
           AND (o.claimed_until IS NULL OR o.claimed_until <= $4) THEN 1 ELSE 0 END), 0) AS BIGINT) AS retrying \
         FROM outbox o JOIN invitations i ON i.outbox_id = o.id \
         WHERE o.id BETWEEN $2 AND $3 AND i.org_id = $1",
    )
    .bind(org_id)
    .bind(first)
    .bind(last)
    .bind(now)
    .fetch_one(pool)
    .await)
}
