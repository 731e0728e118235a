//! Email: messages rendered from templates (text and HTML), written to the outbox in the
//! caller's transaction, and delivered over SMTP by the worker. Only the recipient's
//! domain goes to logs.

pub mod messages;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::config::Config;
use crate::db::{self, Tx};

/// SMTP connections kept open and reused. The worker sends at most this many messages
/// at once: past it, the pool would open a connection per message and close it after.
/// Each message waits on a few round trips (and on the server's delayed ACK of the
/// message's end, as lettre does not turn off Nagle's algorithm), so the delivery rate
/// grows with the number of messages in flight.
pub const SMTP_CONNECTIONS: u32 = 32;

/// An email that can be rendered: a subject, a text body and an HTML body.
pub trait Email {
    fn recipient(&self) -> &str;
    fn subject(&self) -> String;
    fn render(&self) -> askama::Result<(String, String)>;
}

/// Why one delivery attempt failed.
#[derive(Debug)]
pub struct DeliveryError {
    pub message: String,
    /// True when retrying cannot help (an invalid address, a 5xx answer).
    pub permanent: bool,
}

/// Sends email over SMTP, or nothing at all when SMTP is not configured.
#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    /// The part of each Message-ID unique to the installation (`installation_tag`).
    installation: Arc<str>,
    wake: Arc<Notify>,
}

impl Mailer {
    /// A mailer for `config`; `installation_key` is a secret the installation's
    /// instances share (it is only hashed, into each message's Message-ID).
    pub fn new(config: &Config, installation_key: &[u8]) -> anyhow::Result<Mailer> {
        let transport = match &config.smtp_url {
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
                    .timeout(Some(Duration::from_secs(15)))
                    .pool_config(
                        PoolConfig::new()
                            .max_size(SMTP_CONNECTIONS)
                            .idle_timeout(Duration::from_secs(30)),
                    )
                    .build(),
            ),
            None => None,
        };
        Ok(Mailer {
            transport,
            from: config.smtp_from.clone(),
            installation: installation_tag(installation_key).into(),
            wake: Arc::new(Notify::new()),
        })
    }

    /// Whether email is sent at all.
    pub fn is_enabled(&self) -> bool {
        self.transport.is_some()
    }

    /// Writes `email` to the outbox in `tx`. Returns the outbox id, or None when SMTP is
    /// off and nothing will be sent. Call `wake` after the transaction commits.
    pub async fn queue(
        &self,
        tx: &mut Tx,
        email: &impl Email,
        now: i64,
    ) -> anyhow::Result<Option<i64>> {
        if !self.is_enabled() {
            return Ok(None);
        }
        Ok(Some(db::outbox::enqueue(tx, &stored(email)?, now).await?))
    }

    /// Writes `emails` to the outbox in `tx`, many per statement, as `queue` does one.
    /// Returns their outbox ids in the order given (all None when SMTP is off).
    pub async fn queue_all(
        &self,
        tx: &mut Tx,
        emails: &[impl Email],
        now: i64,
    ) -> anyhow::Result<Vec<Option<i64>>> {
        if !self.is_enabled() {
            return Ok(vec![None; emails.len()]);
        }
        let messages = emails
            .iter()
            .map(stored)
            .collect::<askama::Result<Vec<_>>>()?;
        let ids = db::outbox::enqueue_all(tx, &messages, now).await?;
        Ok(ids.into_iter().map(Some).collect())
    }

    /// Tells the local worker that new messages wait.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn wake_signal(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// The Message-ID of the outbox message `id`: the same on every attempt, from every
    /// instance, so that a receiver can recognise a copy sent again after a crash (the
    /// worker records a delivery only once the SMTP server has accepted it).
    pub fn message_id(&self, id: i64) -> String {
        format!(
            "<outbox-{id}.{}@{}>",
            self.installation,
            self.from.email.domain()
        )
    }

    /// Delivers one stored message over SMTP (connections are pooled and reused).
    pub async fn deliver(&self, message: &db::outbox::Message) -> Result<(), DeliveryError> {
        let Some(transport) = &self.transport else {
            return Err(DeliveryError {
                message: "SMTP is not configured".into(),
                permanent: false,
            });
        };
        let to: Mailbox = message.recipient.parse().map_err(|e| DeliveryError {
            message: format!("invalid recipient address: {e}"),
            permanent: true,
        })?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            .message_id(Some(self.message_id(message.id)))
            .multipart(MultiPart::alternative_plain_html(
                message.text_body.clone(),
                message.html_body.clone(),
            ))
            .map_err(|e| DeliveryError {
                message: e.to_string(),
                permanent: true,
            })?;
        transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| DeliveryError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            })
    }
}

/// A short, stable tag for the installation whose secret is `key`: a hash, so that
/// Message-IDs tell installations apart without revealing the key.
fn installation_tag(key: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"roster Message-ID\0")
        .chain_update(key)
        .finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// `email` rendered, as the outbox stores it.
fn stored(email: &impl Email) -> askama::Result<db::outbox::NewMessage> {
    let (text_body, html_body) = email.render()?;
    Ok(db::outbox::NewMessage {
        recipient: email.recipient().to_string(),
        subject: email.subject(),
        text_body,
        html_body,
    })
}

/// The part of an address after the `@`, for logs.
pub fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}
