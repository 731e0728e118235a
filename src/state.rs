use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::email::Mailer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub mailer: Mailer,
    pub clock: Clock,
    /// `scheme://host[:port]` of the public URL, for the Origin check.
    pub public_origin: Arc<str>,
    /// Requests per API token and minute, in this process; None: unlimited.
    pub api_limiter: Option<Arc<crate::routes::api::Limiter>>,
    /// Invitations waiting to be written together (`invitations::invite`).
    pub invitations: Arc<crate::invitations::Queue>,
    /// Signs Roster's own cookies (flash messages, `auth::flash`; known browsers,
    /// `auth::device`); the same in every instance.
    pub cookie_key: Arc<tower_cookies::Key>,
    /// Hashes and checks passwords off the async workers (`auth::passwords`).
    pub passwords: crate::auth::passwords::Passwords,
    /// The account of each session seen signed in (`auth::store::SessionUsers`).
    pub session_users: Arc<crate::auth::store::SessionUsers>,
}

impl AppState {
    /// The state for `db` (migrated), reading the installation's secrets from it.
    pub async fn new(db: Db, config: Config, clock: Clock) -> anyhow::Result<AppState> {
        let cookie_key = crate::auth::flash::load_key(&db, clock.now()).await?;
        // Message-IDs need something unique to the installation and shared by its
        // instances: the cookie key is both (the mailer only keeps a hash of it).
        let mailer = Mailer::new(&config, cookie_key.master())?;
        let public_origin = url::Url::parse(&config.public_url())?
            .origin()
            .ascii_serialization();
        let api_limiter = crate::routes::api::limiter(config.api_rate_limit);
        Ok(AppState {
            db,
            config: Arc::new(config),
            mailer,
            clock,
            public_origin: public_origin.into(),
            api_limiter,
            invitations: Arc::default(),
            cookie_key,
            passwords: Default::default(),
            session_users: Arc::default(),
        })
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.config.public_url()
    }
}
