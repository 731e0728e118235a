//! Building the application from its configuration and running it until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::store::Store;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, Db};
use crate::email::worker::Worker;
use crate::first_run;
use crate::routes;
use crate::state::AppState;

/// How long in-flight work may take to finish after a stop signal.
const DRAIN: Duration = Duration::from_secs(30);

pub struct Application {
    listener: TcpListener,
    state: AppState,
    store: Store,
    setup_url: Option<String>,
}

impl Application {
    /// Connects to the database, applies migrations, binds the listener (port 0 picks a
    /// free port) and, on first run, issues the set-up link.
    pub async fn build(mut config: Config, clock: Clock) -> anyhow::Result<Application> {
        let db = Db::connect(&config.database_url)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the database (--database-url): {e}"))?;
        db.migrate().await?;
        let store = Store::for_db(&db).await?;
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {} (--bind): {e}", config.bind))?;
        // With port 0 the system picks one; links must name the real one.
        config.bind = listener.local_addr()?;
        let state = AppState::new(db, config, clock).await?;
        let setup_url = first_run::issue_setup_link(&state).await?;
        if let Some(url) = &setup_url {
            tracing::info!(
                "Roster is not set up yet. Open this one-time link to create the first account: {url}"
            );
        }
        Ok(Application {
            listener,
            state,
            store,
            setup_url,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The one-time set-up URL, when Roster had no account at start.
    pub fn setup_url(&self) -> Option<&str> {
        self.setup_url.as_deref()
    }

    /// Serves until `shutdown` completes, then lets requests in flight and the outbox
    /// worker's current batch finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            state,
            store,
            ..
        } = self;
        tracing::info!(
            "Roster listening on {} (public URL {})",
            listener.local_addr()?,
            state.public_url()
        );
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = tokio::spawn(Worker::for_state(&state).run(stop_rx.clone()));
        let expiry = tokio::spawn(
            crate::members::ExpiryWorker {
                state: state.clone(),
            }
            .run(stop_rx.clone()),
        );
        let webhooks =
            tokio::spawn(crate::webhooks::worker::Worker::for_state(&state).run(stop_rx));
        let cleanup = tokio::spawn(
            store
                .clone()
                .delete_expired_every(Duration::from_secs(3600)),
        );
        let retention = state
            .config
            .audit_retention_days
            .map(|days| tokio::spawn(apply_retention(state.clone(), days)));
        let merge = tokio::spawn(merge_search_index(state.clone()));
        let throttle_counts = tokio::spawn(crate::auth::throttle::forget_old_counts(
            state.db.clone(),
            state.clock.clone(),
        ));
        let app = routes::app(state.clone(), store);
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        tracing::info!("stopping: waiting for the outbox worker");
        let _ = stop_tx.send(true);
        if tokio::time::timeout(DRAIN, worker).await.is_err() {
            tracing::warn!("the outbox worker did not stop in time");
        }
        if tokio::time::timeout(DRAIN, expiry).await.is_err() {
            tracing::warn!("the membership expiry worker did not stop in time");
        }
        if tokio::time::timeout(DRAIN, webhooks).await.is_err() {
            tracing::warn!("the webhook worker did not stop in time");
        }
        cleanup.abort();
        merge.abort();
        throttle_counts.abort();
        if let Some(retention) = retention {
            retention.abort();
        }
        state.db.close().await;
        Ok(())
    }
}

/// Deletes audit events older than `days`, at start and then once an hour: the only way
/// events ever leave the audit log.
async fn apply_retention(state: AppState, days: u32) {
    let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        let before = state.clock.now() - i64::from(days) * 86_400;
        match db::audit::delete_older_than(&state.db, before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, days, "audit retention"),
            Err(e) => tracing::error!(error = %e, "audit retention failed"),
        }
    }
}

/// Merges the members' search index (`db::memberships::merge_search_step`), at start
/// and then once an hour, a step at a time: writers queue for the writer's turn, and
/// take it between steps.
async fn merge_search_index(state: AppState) {
    let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        let started = std::time::Instant::now();
        let mut steps = 0u32;
        loop {
            match db::memberships::merge_search_step(&state.db).await {
                Ok(true) => steps += 1,
                Ok(false) => break,
                Err(e) => {
                    tracing::error!(error = %e, "merging the search index failed");
                    break;
                }
            }
        }
        if steps > 0 {
            tracing::info!(steps, elapsed = ?started.elapsed(), "search index merged");
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("stop signal received");
}
