//! Webhook endpoints, the events written for them in the transaction of each change,
//! and their deliveries, claimed by the worker as the email outbox's messages are.

use super::{Db, Tx, on_db, on_tx};
use crate::domain::webhook::{self, Change, Events};

/// An endpoint as its pages show it (never its secret).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Endpoint {
    pub id: i64,
    pub org_id: i64,
    pub url: String,
    pub description: String,
    pub events: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<i64>,
    pub previous_secret_until: Option<i64>,
}

const COLUMNS: &str = "id, org_id, url, description, events, created_at, disabled_at, \
                       disabled_reason, failing_since, previous_secret_until";

/// A new endpoint's row.
pub struct NewEndpoint<'a> {
    pub org_id: i64,
    pub url: &'a str,
    pub description: &'a str,
    pub events: &'a str,
    pub secret_sealed: &'a str,
}

pub async fn insert(tx: &mut Tx, new: &NewEndpoint<'_>, now: i64) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO webhook_endpoints (org_id, url, description, events, secret_sealed, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(new.org_id)
    .bind(new.url)
    .bind(new.description)
    .bind(new.events)
    .bind(new.secret_sealed)
    .bind(now)
    .fetch_one(&mut *conn)
    .await)
}

/// The organization's endpoints, oldest first.
pub async fn of_org(db: &Db, org_id: i64) -> sqlx::Result<Vec<Endpoint>> {
    let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE org_id = $1 ORDER BY id");
    on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).fetch_all(pool).await)
}

/// One endpoint of the organization: another organization's id finds nothing.
pub async fn find(db: &Db, org_id: i64, id: i64) -> sqlx::Result<Option<Endpoint>> {
    let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE org_id = $1 AND id = $2");
    on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

/// `find`, locking the row until the transaction ends (PostgreSQL; SQLite's writer
/// holds the whole database).
pub async fn find_for_update(tx: &mut Tx, org_id: i64, id: i64) -> sqlx::Result<Option<Endpoint>> {
    let lock = match tx {
        Tx::Sqlite(..) => "",
        Tx::Postgres(_) => " FOR UPDATE",
    };
    let sql =
        format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE org_id = $1 AND id = $2{lock}");
    on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(org_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await)
}

/// New settings for the endpoint.
pub async fn update(
    tx: &mut Tx,
    id: i64,
    url: &str,
    description: &str,
    events: &str,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET url = $2, description = $3, events = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(url)
    .bind(description)
    .bind(events)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Disables (with why: "owner" or "failing") or enables the endpoint; false when it
/// was already so.
pub async fn set_disabled(
    tx: &mut Tx,
    id: i64,
    disabled: Option<(&str, i64)>,
) -> sqlx::Result<bool> {
    let (reason, at) = disabled.unzip();
    let sql = if disabled.is_some() {
        "UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3 WHERE id = $1 AND disabled_at IS NULL"
    } else {
        // Enabled again, it starts a fresh count of failing days.
        "UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3, failing_since = NULL \
         WHERE id = $1 AND disabled_at IS NOT NULL"
    };
    on_tx!(tx, conn => sqlx::query(sql)
        .bind(id)
        .bind(at)
        .bind(reason)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// A new secret; the current one goes on signing until `previous_until`.
pub async fn rotate_secret(
    tx: &mut Tx,
    id: i64,
    sealed: &str,
    previous_until: i64,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET previous_secret_sealed = secret_sealed, \
         previous_secret_until = $3, secret_sealed = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(sealed)
    .bind(previous_until)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes the endpoint and its deliveries (a cascade): nothing more is sent to it.
pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The sealed secrets that sign for the endpoint at `now`: the current one, and the
/// previous one during a rotation. None when the endpoint is gone.
pub async fn secrets(db: &Db, id: i64, now: i64) -> sqlx::Result<Option<Vec<String>>> {
    let row: Option<(String, Option<String>, Option<i64>)> = on_db!(db, pool => sqlx::query_as(
        "SELECT secret_sealed, previous_secret_sealed, previous_secret_until FROM webhook_endpoints WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|(current, previous, until)| {
        let mut secrets = vec![current];
        if let (Some(previous), Some(until)) = (previous, until)
            && until > now
        {
            secrets.push(previous);
        }
        secrets
    }))
}

/// Writes one event and a delivery of it to each of `endpoints`.
async fn insert_event(
    tx: &mut Tx,
    org_id: i64,
    event_type: &str,
    payload: &str,
    endpoints: &[i64],
    now: i64,
) -> sqlx::Result<i64> {
    let id: i64 = on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO webhook_events (org_id, event_type, payload, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(org_id)
    .bind(event_type)
    .bind(payload)
    .bind(now)
    .fetch_one(&mut *conn)
    .await)?;
    for endpoint in endpoints {
        on_tx!(tx, conn => sqlx::query(
            "INSERT INTO webhook_deliveries (endpoint_id, event_id, created_at, next_attempt_at) VALUES ($1, $2, $3, $3)",
        )
        .bind(endpoint)
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(id)
}

/// The organization's enabled endpoints (id, events) and its slug; none when it has no
/// endpoint, which is the common case and costs one indexed read.
async fn listeners(tx: &mut Tx, org_id: i64) -> sqlx::Result<Vec<(i64, String, String)>> {
    on_tx!(tx, conn => sqlx::query_as(
        "SELECT e.id, e.events, o.slug FROM webhook_endpoints e JOIN organizations o ON o.id = e.org_id \
         WHERE e.org_id = $1 AND e.disabled_at IS NULL ORDER BY e.id",
    )
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await)
}

/// Writes the webhook events that `changes` (audit events of organization `org_id`)
/// become, each with a delivery to every enabled endpoint that wants it, in the
/// caller's transaction: an event exists exactly when its change does.
pub async fn emit(tx: &mut Tx, org_id: i64, changes: &[Change<'_>], now: i64) -> sqlx::Result<()> {
    let events: Vec<_> = changes.iter().flat_map(webhook::events_for).collect();
    if events.is_empty() {
        return Ok(());
    }
    emit_data(tx, org_id, events, now).await
}

/// `emit` for events already put as (type, data).
async fn emit_data(
    tx: &mut Tx,
    org_id: i64,
    events: Vec<(&str, serde_json::Value)>,
    now: i64,
) -> sqlx::Result<()> {
    let listeners = listeners(tx, org_id).await?;
    let Some((_, _, slug)) = listeners.first() else {
        return Ok(());
    };
    let slug = slug.clone();
    let timestamp = crate::clock::iso(now);
    for (event_type, data) in events {
        let to: Vec<i64> = listeners
            .iter()
            .filter(|(_, events, _)| Events::from_stored(events).includes(event_type))
            .map(|(id, _, _)| *id)
            .collect();
        if to.is_empty() {
            continue;
        }
        let payload = webhook::payload(event_type, &timestamp, (org_id, &slug), data);
        insert_event(tx, org_id, event_type, &payload, &to, now).await?;
    }
    Ok(())
}

/// Writes a test event for one endpoint, whatever it subscribed to.
pub async fn emit_test(
    tx: &mut Tx,
    endpoint: &Endpoint,
    slug: &str,
    data: serde_json::Value,
    now: i64,
) -> sqlx::Result<i64> {
    let payload = webhook::payload(
        webhook::TEST_EVENT,
        &crate::clock::iso(now),
        (endpoint.org_id, slug),
        data,
    );
    insert_event(
        tx,
        endpoint.org_id,
        webhook::TEST_EVENT,
        &payload,
        &[endpoint.id],
        now,
    )
    .await
}

/// Announces the invitations that expired by `now` and were not yet announced for this
/// expiry date: marks them, and writes an `invitation.expired` event for each to its
/// organization's endpoints, in one transaction. The mark is a conditional update, so
/// two workers never announce the same expiry. Returns how many expired.
pub async fn announce_expired(db: &Db, now: i64, limit: i64) -> sqlx::Result<usize> {
    // Read first: the worker asks every second, and a write transaction (SQLite's one
    // writer) for nothing would hold up every other write.
    let due: Option<i64> = on_db!(db, pool => sqlx::query_scalar(
        "SELECT id FROM invitations WHERE state = 'pending' AND expires_at <= $1 \
         AND (expiry_announced_for IS NULL OR expiry_announced_for <> expires_at) LIMIT 1",
    )
    .bind(now)
    .fetch_optional(pool)
    .await)?;
    if due.is_none() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let lock = match &tx {
        Tx::Sqlite(..) => "",
        Tx::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE invitations SET expiry_announced_for = expires_at WHERE id IN (\
         SELECT id FROM invitations WHERE state = 'pending' AND expires_at <= $1 \
         AND (expiry_announced_for IS NULL OR expiry_announced_for <> expires_at) \
         ORDER BY expires_at, id LIMIT $2{lock}) \
         RETURNING id, org_id, email, role, expires_at"
    );
    let mut expired: Vec<(i64, i64, String, String, i64)> = on_tx!(&mut tx, conn => sqlx::query_as(&sql)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await)?;
    expired.sort_by_key(|(id, org, _, _, at)| (*org, *at, *id));
    let count = expired.len();
    for (org_id, of_org) in expired.chunk_by(|a, b| a.1 == b.1).map(|c| (c[0].1, c)) {
        let events = of_org
            .iter()
            .map(|(id, _, email, role, at)| {
                let data = webhook::expired_data(*id, email, role, &crate::clock::iso(*at));
                ("invitation.expired", data)
            })
            .collect();
        emit_data(&mut tx, org_id, events, now).await?;
    }
    tx.commit().await?;
    Ok(count)
}

/// A delivery claimed for an attempt, with what to send.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub endpoint_id: i64,
    pub event_id: i64,
    pub attempts: i64,
    pub url: String,
    pub org_id: i64,
    pub payload: String,
}

/// Claims up to `limit` due deliveries for `lease_secs`, counting an attempt on each.
/// Only the head of each enabled endpoint's queue (its oldest undelivered event) is
/// due, so an endpoint receives its events in order, and none while an earlier one is
/// waiting for a retry. Each due delivery goes to one claimer: PostgreSQL skips rows
/// another worker has locked (and re-checks the claim of a row it waited for); SQLite
/// serializes writers.
pub async fn claim(db: &Db, now: i64, lease_secs: i64, limit: i64) -> sqlx::Result<Vec<Claimed>> {
    let lock = match db {
        Db::Sqlite(..) => "",
        Db::Postgres(_) => " FOR UPDATE OF d SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET claimed_until = $2, attempts = attempts + 1, last_attempt_at = $1 \
         WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
         WHERE d.delivered_at IS NULL AND e.disabled_at IS NULL AND d.next_attempt_at <= $1 \
         AND (d.claimed_until IS NULL OR d.claimed_until <= $1) \
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id \
         AND p.delivered_at IS NULL AND p.id < d.id) \
         ORDER BY d.next_attempt_at, d.id LIMIT $3{lock}) \
         RETURNING id, endpoint_id, event_id, attempts"
    );
    // Read first, as `announce_expired` does: most seconds nothing is due.
    let due: Option<i64> = on_db!(db, pool => sqlx::query_scalar(
        "SELECT id FROM webhook_deliveries WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
         AND (claimed_until IS NULL OR claimed_until <= $1) LIMIT 1",
    )
    .bind(now)
    .fetch_optional(pool)
    .await)?;
    if due.is_none() {
        return Ok(Vec::new());
    }
    let _turn = db.writer_turn().await?;
    let claimed: Vec<(i64, i64, i64, i64)> = on_db!(db, pool => sqlx::query_as(&sql)
        .bind(now)
        .bind(now + lease_secs)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
    drop(_turn);
    let mut out = Vec::with_capacity(claimed.len());
    for (id, endpoint_id, event_id, attempts) in claimed {
        let row: Option<(String, i64, String)> = on_db!(db, pool => sqlx::query_as(
            "SELECT e.url, v.org_id, v.payload FROM webhook_endpoints e, webhook_events v \
             WHERE e.id = $1 AND v.id = $2",
        )
        .bind(endpoint_id)
        .bind(event_id)
        .fetch_optional(pool)
        .await)?;
        // An endpoint deleted since the claim took its deliveries with it.
        if let Some((url, org_id, payload)) = row {
            out.push(Claimed {
                id,
                endpoint_id,
                event_id,
                attempts,
                url,
                org_id,
                payload,
            });
        }
    }
    Ok(out)
}

/// What an attempt got.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The HTTP status, when the endpoint answered.
    pub status: Option<i64>,
    /// The first bytes of the answer, made safe, or why there was none.
    pub response: String,
    pub delivered: bool,
}

/// Records an attempt: delivered, or to be tried again at `retry_at`; and the
/// endpoint's run of failures (ended by a success, started by a first failure).
/// Returns when the endpoint's current run of failures began, if it is failing.
pub async fn record_attempt(
    db: &Db,
    claimed: &Claimed,
    outcome: &Outcome,
    now: i64,
    retry_at: i64,
) -> sqlx::Result<Option<i64>> {
    let mut tx = db.begin().await?;
    let (delivered_at, error) = if outcome.delivered {
        (Some(now), None)
    } else {
        (None, Some(outcome.response.as_str()))
    };
    on_tx!(&mut tx, conn => sqlx::query(
        "UPDATE webhook_deliveries SET delivered_at = $2, last_status = $3, last_response = $4, \
         last_error = $5, claimed_until = NULL, next_attempt_at = CASE WHEN $2 IS NULL THEN $6 ELSE next_attempt_at END \
         WHERE id = $1",
    )
    .bind(claimed.id)
    .bind(delivered_at)
    .bind(outcome.status)
    .bind(&outcome.response)
    .bind(error)
    .bind(retry_at)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    let failing_since: Option<Option<i64>> = if outcome.delivered {
        on_tx!(&mut tx, conn => sqlx::query_scalar(
            "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 RETURNING failing_since",
        )
        .bind(claimed.endpoint_id)
        .fetch_optional(&mut *conn)
        .await)?
    } else {
        on_tx!(&mut tx, conn => sqlx::query_scalar(
            "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1 \
             RETURNING failing_since",
        )
        .bind(claimed.endpoint_id)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await)?
    };
    tx.commit().await?;
    Ok(failing_since.flatten())
}

/// One delivery as the endpoint's page lists it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub event_type: String,
    pub created_at: i64,
    pub attempts: i64,
    pub last_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub next_attempt_at: i64,
    pub last_status: Option<i64>,
    pub last_response: Option<String>,
}

/// The endpoint's most recent deliveries, newest first.
pub async fn recent_deliveries(
    db: &Db,
    endpoint_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT d.id, v.event_type, d.created_at, d.attempts, d.last_attempt_at, d.delivered_at, \
         d.next_attempt_at, d.last_status, d.last_response \
         FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id \
         WHERE d.endpoint_id = $1 ORDER BY d.id DESC LIMIT $2",
    )
    .bind(endpoint_id)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// The emails of the organization's active Owners with active accounts.
pub async fn owner_emails(tx: &mut Tx, org_id: i64) -> sqlx::Result<Vec<String>> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND m.role = 'owner' AND m.status = 'active' AND u.status = 'active' ORDER BY u.id",
    )
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await)
}
