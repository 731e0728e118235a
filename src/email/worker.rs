//! The outbox worker: claims due messages, delivers them, and records each failure with
//! a retry after an exponential backoff. Several workers (one per Roster process) may
//! share one outbox; each message is claimed by exactly one of them at a time.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{Mailer, SMTP_CONNECTIONS, domain_of};
use crate::clock::Clock;
use crate::db::Db;
use crate::db::outbox::{self, Retry};

/// How long a claim lasts; a worker that dies mid-delivery frees its messages after it.
const LEASE_SECS: i64 = 120;
const BATCH: i64 = 32;
/// After this many attempts a message is given up on.
pub const MAX_ATTEMPTS: i64 = 10;
const MAX_BACKOFF_SECS: i64 = 3_600;
/// Upper bound on sleeping; covers messages queued by other processes.
const POLL: Duration = Duration::from_secs(2);

/// Settings the worker needs, taken from the configuration.
#[derive(Clone)]
pub struct Worker {
    pub db: Db,
    pub mailer: Mailer,
    pub clock: Clock,
    pub retry_base: Duration,
}

impl Worker {
    /// A worker on the application's database, mailer and clock.
    pub fn for_state(state: &crate::state::AppState) -> Worker {
        Worker {
            db: state.db.clone(),
            mailer: state.mailer.clone(),
            clock: state.clock.clone(),
            retry_base: state.config.email_retry_base(),
        }
    }

    /// Runs until `shutdown` turns true; a batch in progress is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if !self.mailer.is_enabled() {
            return;
        }
        let wake = self.mailer.wake_signal();
        tracing::info!("outbox worker started");
        while !*shutdown.borrow() {
            let delivered = match self.deliver_due().await {
                Ok(n) => n,
                Err(err) => {
                    tracing::error!(error = %err, "outbox: could not claim messages");
                    0
                }
            };
            if delivered > 0 {
                continue;
            }
            let sleep = self.time_until_next_due().await;
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("outbox worker stopped");
    }

    /// Claims and delivers one batch of due messages; returns how many it attempted.
    /// Each delivery and each failure is recorded as soon as its SMTP transaction ends:
    /// a process that stops meanwhile leaves only the messages then in flight claimed,
    /// and only those are sent again when the claim lapses (with the same Message-ID).
    pub async fn deliver_due(&self) -> sqlx::Result<usize> {
        let batch = outbox::claim(&self.db, self.clock.now(), LEASE_SECS, BATCH).await?;
        let count = batch.len();
        let mut waiting = batch.into_iter();
        let mut tasks = JoinSet::new();
        loop {
            // As many deliveries at once as there are pooled connections, so that each
            // message reuses one.
            while tasks.len() < SMTP_CONNECTIONS as usize {
                let Some(message) = waiting.next() else { break };
                let worker = self.clone();
                tasks.spawn(async move { worker.deliver_one(message).await });
            }
            let Some(result) = tasks.join_next().await else {
                break;
            };
            if let Err(err) = result.unwrap_or_else(|e| Err(sqlx::Error::Protocol(e.to_string()))) {
                tracing::error!(error = %err, "outbox: could not record an attempt");
            }
        }
        Ok(count)
    }

    /// Delivers one message and records the outcome.
    async fn deliver_one(&self, message: outbox::Message) -> sqlx::Result<()> {
        let domain = domain_of(&message.recipient);
        match self.mailer.deliver(&message).await {
            Ok(()) => {
                tracing::info!(id = message.id, domain, "email sent");
                outbox::mark_sent(&self.db, message.id, self.clock.now()).await
            }
            Err(err) => {
                let now = self.clock.now();
                let retry = if err.permanent || message.attempts >= MAX_ATTEMPTS {
                    Retry::GiveUp(now)
                } else {
                    Retry::At(now + self.backoff_secs(message.attempts))
                };
                tracing::warn!(id = message.id, domain, attempts = message.attempts, ?retry, error = %err.message, "email delivery failed");
                outbox::mark_failed(&self.db, message.id, &err.message, retry).await
            }
        }
    }

    /// Seconds to wait after the `attempts`-th failure: base, 2×base, 4×base … capped at an hour.
    fn backoff_secs(&self, attempts: i64) -> i64 {
        let base = self.retry_base.as_secs() as i64;
        let factor = 1_i64 << (attempts - 1).clamp(0, 20);
        (base * factor).min(MAX_BACKOFF_SECS)
    }

    async fn time_until_next_due(&self) -> Duration {
        match outbox::next_due(&self.db).await {
            Ok(Some(at)) => {
                let secs = (at - self.clock.now()).max(0) as u64;
                Duration::from_secs(secs).clamp(Duration::from_millis(50), POLL)
            }
            _ => POLL,
        }
    }
}
