//! What every handler can reach. This is the ground floor: it names nothing of the
//! routes, the session machinery or the feature services, so that every layer above can
//! depend on it without a circle. What a module above keeps for the life of the process
//! (the invitation queue, the password pool, the session-user memory) lives in
//! [`AppState::extension`], keyed by its own type, which only that module names.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::Extensions;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_cookies::Key;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, Db};
use crate::dns::Dns;
use crate::email::Mailer;
use crate::outbound::Outbound;

/// A per-API-token limit on requests, in this process.
pub type ApiLimiter = DefaultKeyedRateLimiter<i64>;

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
    pub api_limiter: Option<Arc<ApiLimiter>>,
    /// Signs Roster's own cookies (flash messages, `auth::flash`; known browsers,
    /// `auth::device`); the same in every instance.
    pub cookie_key: Arc<Key>,
    /// The resolver domain verification asks.
    pub dns: Dns,
    /// The client for addresses an Owner typed (identity providers, webhooks).
    pub outbound: Outbound,
    /// One value per type, shared by every clone of this state (`extension`).
    extensions: Arc<Mutex<Extensions>>,
}

/// The name of the cookie-signing key among the installation's secrets.
const COOKIE_KEY_NAME: &str = "flash_key";

impl AppState {
    /// The state for `db` (migrated), reading the installation's secrets from it.
    pub async fn new(db: Db, config: Config, clock: Clock) -> anyhow::Result<AppState> {
        let cookie_key = load_cookie_key(&db, clock.now()).await?;
        // Message-IDs need something unique to the installation and shared by its
        // instances: the cookie key is both (the mailer only keeps a hash of it).
        let mailer = Mailer::new(&config, cookie_key.master())?;
        let public_origin = url::Url::parse(&config.public_url())?
            .origin()
            .ascii_serialization();
        let api_limiter = NonZeroU32::new(config.api_rate_limit)
            .map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n))));
        let dns = Dns::new(&config);
        let outbound = Outbound::new(dns.clone(), config.allow_private_addresses)?;
        Ok(AppState {
            db,
            dns,
            outbound,
            config: Arc::new(config),
            mailer,
            clock,
            public_origin: public_origin.into(),
            api_limiter,
            cookie_key,
            extensions: Arc::default(),
        })
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.config.public_url()
    }

    /// This process's one `T` (made with `T::default()` when first asked for), shared
    /// by every clone of the state. A module above keeps its process-wide value here
    /// (`invitations::Queue`, `auth::passwords::Passwords`,
    /// `auth::store::SessionUsers`) so that the state need not name its type.
    pub fn extension<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        self.extensions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_default::<Arc<T>>()
            .clone()
    }
}

/// The installation's key for its signed cookies: created by the first instance to start,
/// shared through the database by every other.
async fn load_cookie_key(db: &Db, now: i64) -> anyhow::Result<Arc<Key>> {
    let fresh = URL_SAFE_NO_PAD.encode(Key::generate().master());
    let stored = db::secrets::get_or_create(db, COOKIE_KEY_NAME, &fresh, now).await?;
    let bytes = URL_SAFE_NO_PAD.decode(stored)?;
    Ok(Arc::new(Key::try_from(bytes.as_slice())?))
}
