//! Device cookies: a browser that has signed in to an account carries a cookie, signed
//! with the installation's key, that names the account and an id of its own. Sign-in
//! throttling counts such a browser apart from everyone else (`auth::throttle`), so that
//! guesses from elsewhere never lock the account's own browsers out.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tower_cookies::Cookie;
use tower_cookies::cookie::SameSite;

use super::cookies::SignedJar;
use crate::error::AppError;
use crate::state::AppState;

const COOKIE: &str = "roster_device";
const LIFETIME: time::Duration = time::Duration::days(365);

#[derive(Serialize, Deserialize)]
struct Device {
    /// The account's normalized email.
    account: String,
    id: String,
}

/// This browser's device cookie, read and written.
pub struct DeviceCookie {
    jar: SignedJar,
}

impl DeviceCookie {
    /// This browser's id if it has signed in to `account` (a normalized email) before.
    pub fn id_for(&self, account: &str) -> Option<String> {
        let cookie = self.jar.cookies.signed(&self.jar.key).get(COOKIE)?;
        let bytes = URL_SAFE_NO_PAD.decode(cookie.value()).ok()?;
        let device: Device = serde_json::from_slice(&bytes).ok()?;
        (device.account == account).then_some(device.id)
    }

    /// Remembers that this browser signed in to `account`, keeping its id if it had one.
    pub fn remember(&self, account: &str, id: Option<String>) {
        let device = Device {
            account: account.to_string(),
            id: id.unwrap_or_else(|| URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())),
        };
        let value = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&device).unwrap_or_default());
        let cookie = Cookie::build((COOKIE, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.jar.secure)
            .max_age(LIFETIME)
            .build();
        self.jar.cookies.signed(&self.jar.key).add(cookie);
    }
}

impl FromRequestParts<AppState> for DeviceCookie {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(DeviceCookie {
            jar: SignedJar::from_request_parts(parts, state).await?,
        })
    }
}
