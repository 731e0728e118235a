//! The outbox: emails written in the same transaction as the change that causes them,
//! delivered later by the worker.

use std::collections::HashSet;

use sqlx::QueryBuilder;

use super::{Db, Tx, ids_in_order, on_db, on_tx, rows_per_statement};

/// An email ready to be stored.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
}

/// A stored email claimed for delivery.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i64,
}

/// Delivery state of one stored email.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Status {
    pub attempts: i64,
    pub sent_at: Option<i64>,
    pub gave_up_at: Option<i64>,
    pub last_error: Option<String>,
}

pub async fn enqueue(tx: &mut Tx, message: &NewMessage, now: i64) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO outbox (created_at, recipient, subject, text_body, html_body, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $1) RETURNING id",
    )
    .bind(now)
    .bind(&message.recipient)
    .bind(&message.subject)
    .bind(&message.text_body)
    .bind(&message.html_body)
    .fetch_one(&mut *conn)
    .await)
}

/// Writes `messages`, many per statement; returns their ids in the order given.
pub async fn enqueue_all(tx: &mut Tx, messages: &[NewMessage], now: i64) -> sqlx::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(messages.len());
    let mut rest = messages;
    while !rest.is_empty() {
        // The outbox has no unique column, so each statement's recipients are kept
        // distinct (a repeated one starts the next statement): the returned ids are
        // then matched to their messages by recipient.
        let mut recipients = HashSet::new();
        let n = rest
            .iter()
            .take(rows_per_statement(6))
            .take_while(|m| recipients.insert(m.recipient.as_str()))
            .count();
        let (chunk, tail) = rest.split_at(n);
        let returned: Vec<(i64, String)> = on_tx!(tx, conn => {
            let mut query = QueryBuilder::new(
                "INSERT INTO outbox (created_at, recipient, subject, text_body, html_body, next_attempt_at) ",
            );
            query.push_values(chunk, |mut row, m| {
                row.push_bind(now)
                    .push_bind(&m.recipient)
                    .push_bind(&m.subject)
                    .push_bind(&m.text_body)
                    .push_bind(&m.html_body)
                    .push_bind(now);
            });
            query.push(" RETURNING id, recipient");
            query.build_query_as().fetch_all(&mut *conn).await
        })?;
        ids.extend(ids_in_order(
            chunk.iter().map(|m| m.recipient.as_str()),
            returned,
        )?);
        rest = tail;
    }
    Ok(ids)
}

/// Claims up to `limit` due messages for `lease_secs`, counting an attempt on each.
/// Each due message goes to exactly one claimer: PostgreSQL skips rows another worker
/// has locked; SQLite serializes writers.
pub async fn claim(db: &Db, now: i64, lease_secs: i64, limit: i64) -> sqlx::Result<Vec<Message>> {
    const DUE: &str = "SELECT id FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1 \
                       AND (claimed_until IS NULL OR claimed_until <= $1) ORDER BY next_attempt_at, id LIMIT $3";
    let lock = match db {
        Db::Sqlite(..) => "",
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE outbox SET claimed_until = $2, attempts = attempts + 1 WHERE id IN ({DUE}{lock}) \
         RETURNING id, recipient, subject, text_body, html_body, attempts"
    );
    let _turn = db.writer_turn().await?;
    on_db!(db, pool => sqlx::query_as(&sql)
        .bind(now)
        .bind(now + lease_secs)
        .bind(limit)
        .fetch_all(pool)
        .await)
}

/// Records the message `id` as delivered at `now`.
pub async fn mark_sent(db: &Db, id: i64, now: i64) -> sqlx::Result<()> {
    let _turn = db.writer_turn().await?;
    on_db!(db, pool => sqlx::query(
        "UPDATE outbox SET sent_at = $1, claimed_until = NULL, last_error = NULL WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    At(i64),
    /// Stop trying (a permanent error, or too many attempts), as of this time.
    GiveUp(i64),
}

/// Records a failed attempt and whether and when to try again.
pub async fn mark_failed(db: &Db, id: i64, error: &str, retry: Retry) -> sqlx::Result<()> {
    let (retry_at, gave_up_at) = match retry {
        Retry::At(at) => (Some(at), None),
        Retry::GiveUp(at) => (None, Some(at)),
    };
    let _turn = db.writer_turn().await?;
    on_db!(db, pool => sqlx::query(
        "UPDATE outbox SET last_error = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
         gave_up_at = $3, claimed_until = NULL WHERE id = $4",
    )
    .bind(error)
    .bind(retry_at)
    .bind(gave_up_at)
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn status(db: &Db, id: i64) -> sqlx::Result<Option<Status>> {
    on_db!(db, pool => sqlx::query_as("SELECT attempts, sent_at, gave_up_at, last_error FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await)
}

/// The earliest time a not-yet-sent message becomes due, if any.
pub async fn next_due(db: &Db) -> sqlx::Result<Option<i64>> {
    on_db!(db, pool => sqlx::query_scalar(
        "SELECT MIN(CASE WHEN claimed_until IS NOT NULL AND claimed_until > next_attempt_at \
         THEN claimed_until ELSE next_attempt_at END) FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL",
    )
    .fetch_one(pool)
    .await)
}
