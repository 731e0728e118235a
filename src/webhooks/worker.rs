//! The webhook worker: announces expired invitations, claims due deliveries, signs and
//! sends them through the outbound client, and records each answer with a retry after
//! an exponential backoff. Several workers (one per Roster process) may share one
//! database; each delivery is claimed by one of them at a time, and an endpoint's next
//! event waits until the one before it is delivered. A delivery whose answer was lost
//! (a process stopped mid-request) is sent again when its claim lapses, with the same
//! `webhook-id`, so a receiver can drop the repeat.

use std::time::Duration;

use axum::http;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::db::webhooks::{self, Claimed, Outcome};
use crate::db::{self, audit};
use crate::domain::webhook;
use crate::email::messages;
use crate::sealed::{Purpose, Sealer};
use crate::state::AppState;

/// How long a claim lasts: longer than a request may take (the outbound client gives
/// up after 10 seconds).
const LEASE_SECS: i64 = 60;
const BATCH: i64 = 16;
/// Deliveries sent at once.
const CONCURRENCY: usize = 8;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECS: i64 = 6 * 3600;
/// An endpoint failing for this long is disabled and its Owners told.
pub const DISABLE_AFTER_SECS: i64 = 3 * 24 * 3600;
/// How much of an answer the endpoint's page shows.
const ANSWER_SHOWN: usize = 300;
/// How long an idle worker waits before looking again.
const POLL: Duration = Duration::from_secs(1);

/// The worker, on the application's state.
#[derive(Clone)]
pub struct Worker {
    state: AppState,
    retry_base: i64,
}

impl Worker {
    pub fn for_state(state: &AppState) -> Worker {
        Worker {
            retry_base: state.config.webhook_retry_base().as_secs() as i64,
            state: state.clone(),
        }
    }

    /// Runs until `shutdown` turns true; a batch in progress is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("webhook worker started");
        while !*shutdown.borrow() {
            if let Err(err) =
                webhooks::announce_expired(&self.state.db, self.state.clock.now(), 500).await
            {
                tracing::error!(error = %err, "webhooks: could not announce expired invitations");
            }
            let attempted = match self.deliver_due().await {
                Ok(n) => n,
                Err(err) => {
                    tracing::error!(error = %err, "webhooks: could not claim deliveries");
                    0
                }
            };
            if attempted > 0 {
                continue;
            }
            // Polled rather than woken: events are written by every process's
            // transactions, and a retry's time passes with no one to wake the worker.
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("webhook worker stopped");
    }

    /// Claims and sends one batch of due deliveries; returns how many it attempted.
    pub async fn deliver_due(&self) -> sqlx::Result<usize> {
        let batch =
            webhooks::claim(&self.state.db, self.state.clock.now(), LEASE_SECS, BATCH).await?;
        let count = batch.len();
        let mut waiting = batch.into_iter();
        let mut tasks = JoinSet::new();
        loop {
            while tasks.len() < CONCURRENCY {
                let Some(claimed) = waiting.next() else { break };
                let worker = self.clone();
                tasks.spawn(async move { worker.deliver_one(claimed).await });
            }
            let Some(result) = tasks.join_next().await else {
                break;
            };
            match result {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    tracing::error!(error = %err, "webhooks: could not record an attempt")
                }
                Err(err) => tracing::error!(error = %err, "webhooks: a delivery task failed"),
            }
        }
        Ok(count)
    }

    /// Signs and sends one delivery, and records what came back.
    async fn deliver_one(&self, claimed: Claimed) -> anyhow::Result<()> {
        let now = self.state.clock.now();
        let Some(sealed) = webhooks::secrets(&self.state.db, claimed.endpoint_id, now).await?
        else {
            return Ok(());
        };
        let sealer = Sealer::new(&self.state, Purpose::WebhookSecret);
        let keys = sealed
            .iter()
            .map(|s| sealer.open(s))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let id = webhook::message_id(claimed.event_id);
        let body = claimed.payload.clone().into_bytes();
        let request = http::Request::post(claimed.url.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", now.to_string())
            .header(
                "webhook-signature",
                webhook::signature(&keys, &id, now, &body),
            )
            .body(body);
        let outcome = match request {
            Err(err) => Outcome {
                status: None,
                response: format!("The request could not be made: {err}."),
                delivered: false,
            },
            Ok(request) => match self.state.outbound.send(request).await {
                Ok(answer) => Outcome {
                    status: Some(i64::from(answer.status().as_u16())),
                    response: webhook::answer_excerpt(answer.body(), ANSWER_SHOWN),
                    delivered: answer.status().is_success(),
                },
                Err(err) => Outcome {
                    status: None,
                    response: err.to_string(),
                    delivered: false,
                },
            },
        };
        let now = self.state.clock.now();
        let retry_at = now + self.backoff_secs(claimed.attempts);
        tracing::info!(
            delivery = claimed.id,
            endpoint = claimed.endpoint_id,
            attempts = claimed.attempts,
            status = outcome.status,
            delivered = outcome.delivered,
            "webhook attempt"
        );
        let failing_since =
            webhooks::record_attempt(&self.state.db, &claimed, &outcome, now, retry_at).await?;
        if let Some(since) = failing_since
            && now - since >= DISABLE_AFTER_SECS
        {
            self.disable_failing(&claimed, since, now).await?;
        }
        Ok(())
    }

    /// Disables an endpoint that has failed since `since`, audits it and emails the
    /// organization's Owners, once (the first worker to disable it does).
    async fn disable_failing(&self, claimed: &Claimed, since: i64, now: i64) -> anyhow::Result<()> {
        let state = &self.state;
        let Some(org) = db::orgs::find(&state.db, claimed.org_id).await? else {
            return Ok(());
        };
        let mut tx = state.db.begin().await?;
        let Some(endpoint) =
            webhooks::find_for_update(&mut tx, org.id, claimed.endpoint_id).await?
        else {
            return Ok(());
        };
        if !webhooks::set_disabled(&mut tx, endpoint.id, Some(("failing", now))).await? {
            return Ok(());
        }
        let nobody = audit::Actor::default();
        let event = audit::Event::new(audit::Action::WebhookDisabled, &nobody)
            .in_org(org.id)
            .target("webhook", Some(endpoint.id), None)
            .before(endpoint.url.as_str())
            .after("failing");
        audit::record(&mut tx, &event, now).await?;
        let endpoint_url = format!(
            "{}/orgs/{}/settings/webhooks/{}",
            state.public_url(),
            org.slug,
            endpoint.id
        );
        let emails: Vec<_> = webhooks::owner_emails(&mut tx, org.id)
            .await?
            .into_iter()
            .map(|to| messages::WebhookDisabled {
                to,
                org_name: org.name.clone(),
                url: endpoint.url.clone(),
                failing_since: crate::clock::exact(since),
                endpoint_url: endpoint_url.clone(),
            })
            .collect();
        state.mailer.queue_all(&mut tx, &emails, now).await?;
        tx.commit().await?;
        state.mailer.wake();
        tracing::warn!(
            endpoint = endpoint.id,
            "webhook endpoint disabled after failing for days"
        );
        Ok(())
    }

    /// Seconds to wait after the `attempts`-th failure: base, 2×base, 4×base … capped.
    fn backoff_secs(&self, attempts: i64) -> i64 {
        let factor = 1_i64 << (attempts - 1).clamp(0, 20);
        (self.retry_base * factor).min(MAX_BACKOFF_SECS)
    }
}
