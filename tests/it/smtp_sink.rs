//! A real SMTP server on loopback that keeps what it receives: the SMTP conversation is
//! `mailin`'s, the socket is tokio's. It can be stopped (closing every connection) and
//! started again on the same port. It can also be slow to acknowledge messages, which
//! it keeps as soon as their data ends, before it answers (as a server that crashes
//! between storing a message and saying so). It refuses addresses on `REFUSED_DOMAIN`.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin::{Action, Handler, Response, SessionBuilder, response};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One message as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub to: Vec<String>,
    /// The Message-ID header, without its angle brackets.
    pub message_id: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// How long the sink waits before acknowledging a message it has kept.
pub type AckDelay = Arc<dyn Fn(&Received) -> Duration + Send + Sync>;

#[derive(Clone)]
struct Collector {
    inbox: Arc<Mutex<Vec<Received>>>,
    delay: AckDelay,
    /// The wait before acknowledging the message just kept, for `converse`.
    ack_delay: Arc<Mutex<Duration>>,
    to: Vec<String>,
    data: Vec<u8>,
}

/// Addresses on this domain are refused for good (550), as a server refuses a mailbox
/// that does not exist.
pub const REFUSED_DOMAIN: &str = "refused.example";

impl Handler for Collector {
    fn rcpt(&mut self, to: &str) -> Response {
        if to
            .trim_end_matches('>')
            .ends_with(&format!("@{REFUSED_DOMAIN}"))
        {
            return response::NO_MAILBOX;
        }
        response::OK
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let parsed = mail_parser::MessageParser::default().parse(&self.data[..]);
        let Some(message) = parsed else {
            return response::INTERNAL_ERROR;
        };
        let received = Received {
            to: self.to.clone(),
            message_id: message.message_id().unwrap_or_default().to_string(),
            subject: message.subject().unwrap_or_default().to_string(),
            text: message
                .body_text(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            html: message
                .body_html(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
        };
        *self.ack_delay.lock().unwrap() = (self.delay)(&received);
        self.inbox.lock().unwrap().push(received);
        response::OK
    }
}

pub struct SmtpSink {
    pub port: u16,
    inbox: Arc<Mutex<Vec<Received>>>,
    delay: AckDelay,
    server: Option<JoinHandle<()>>,
}

impl SmtpSink {
    /// A sink that acknowledges each message at once.
    pub async fn start() -> SmtpSink {
        Self::start_with_delay(|_| Duration::ZERO).await
    }

    /// A sink that waits `delay(message)` before acknowledging each message (kept
    /// already), so that deliveries stay in flight that long.
    pub async fn start_with_delay(
        delay: impl Fn(&Received) -> Duration + Send + Sync + 'static,
    ) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let delay: AckDelay = Arc::new(delay);
        let server = Some(tokio::spawn(serve(listener, inbox.clone(), delay.clone())));
        SmtpSink {
            port,
            inbox,
            delay,
            server,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops listening and drops every open connection.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], self.port)))
            .await
            .unwrap();
        self.server = Some(tokio::spawn(serve(
            listener,
            self.inbox.clone(),
            self.delay.clone(),
        )));
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().clone()
    }

    /// Waits (up to 15 s) until `n` messages have arrived, and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..300 {
            let all = self.received();
            if all.len() >= n {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} emails, got {:?}", self.received());
    }

    /// Waits for the first message to `address`.
    pub async fn wait_for_mail_to(&self, address: &str) -> Received {
        self.wait_for_match(address, |m| {
            m.to.iter().any(|t| t.eq_ignore_ascii_case(address))
        })
        .await
    }

    /// Waits for the first message with this subject.
    pub async fn wait_for_subject(&self, subject: &str) -> Received {
        self.wait_for_match(subject, |m| m.subject == subject).await
    }

    async fn wait_for_match(&self, what: &str, matches: impl Fn(&Received) -> bool) -> Received {
        for _ in 0..300 {
            if let Some(m) = self.received().into_iter().find(&matches) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no email matching {what}; received {:?}", self.received());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

async fn serve(listener: TcpListener, inbox: Arc<Mutex<Vec<Received>>>, delay: AckDelay) {
    // Connection tasks live in this set, so aborting the server closes them too.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let ack_delay = Arc::new(Mutex::new(Duration::ZERO));
        let handler = Collector {
            inbox: inbox.clone(),
            delay: delay.clone(),
            ack_delay: ack_delay.clone(),
            to: Vec::new(),
            data: Vec::new(),
        };
        connections.spawn(converse(stream, peer.ip(), handler, ack_delay));
    }
}

async fn converse(
    stream: tokio::net::TcpStream,
    ip: IpAddr,
    handler: Collector,
    ack_delay: Arc<Mutex<Duration>>,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut session = SessionBuilder::new("roster-test-sink").build(ip, handler);
    if write
        .write_all(&session.greeting().buffer().unwrap())
        .await
        .is_err()
    {
        return;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let reply = session.process(&line);
        // A lone dot ends a message's data (a dot that starts a line of it is doubled).
        if line == b".\r\n" {
            let delay = std::mem::take(&mut *ack_delay.lock().unwrap());
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        match reply.action {
            Action::NoReply => {}
            Action::Reply | Action::UpgradeTls => {
                if write.write_all(&reply.buffer().unwrap()).await.is_err() {
                    return;
                }
            }
            Action::Close => {
                let _ = write.write_all(&reply.buffer().unwrap()).await;
                return;
            }
        }
    }
}
