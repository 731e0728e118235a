//! A local SMTP server that accepts every message and counts it: the delivery end of the
//! outbox measurement. The SMTP conversation is `mailin`'s, the sockets are tokio's.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mailin::{Action, Handler, Response, SessionBuilder, response};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Counts the messages whose DATA ended well.
#[derive(Clone)]
struct Counter(Arc<AtomicU64>);

impl Handler for Counter {
    fn data_end(&mut self) -> Response {
        self.0.fetch_add(1, Ordering::Relaxed);
        response::OK
    }
}

/// A running sink on a loopback port; stops when dropped.
pub struct SmtpSink {
    pub port: u16,
    received: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    server: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> anyhow::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let server = tokio::spawn(serve(listener, received.clone(), connections.clone()));
        Ok(SmtpSink {
            port,
            received,
            connections,
            server,
        })
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Messages received so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// SMTP connections opened so far (few, when the sender reuses them).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, received: Arc<AtomicU64>, connections: Arc<AtomicU64>) {
    // Connection tasks live in this set, so aborting the server closes them too.
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        connections.fetch_add(1, Ordering::Relaxed);
        tasks.spawn(converse(stream, peer.ip(), Counter(received.clone())));
    }
}

async fn converse(stream: TcpStream, ip: IpAddr, handler: Counter) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut session = SessionBuilder::new("roster-bench-sink").build(ip, handler);
    let Ok(greeting) = session.greeting().buffer() else {
        return;
    };
    if write.write_all(&greeting).await.is_err() {
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
        let close = matches!(reply.action, Action::Close);
        if !matches!(reply.action, Action::NoReply) {
            let Ok(bytes) = reply.buffer() else { return };
            if write.write_all(&bytes).await.is_err() || close {
                return;
            }
        }
    }
}
