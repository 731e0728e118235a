//! Flash messages: one-time messages for the next page ("Invitation sent to …"). They
//! travel in a cookie signed with the installation's key, so that saying what happened
//! costs no write of the session to the database (nor does showing it), and no other
//! site or script can put words in Roster's mouth.

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

const COOKIE: &str = "roster_flash";
/// Messages kept for a browser that never shows them (a script that only POSTs).
const MAX_FLASHES: usize = 5;
/// Browsers keep cookies of up to 4,096 bytes: older messages give way before that.
const MAX_ENCODED: usize = 3_000;

/// A one-time message shown on the next page.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    /// "success" or "error".
    pub kind: String,
    pub text: String,
}

/// The flash messages of one request: those it brought, and those it leaves for the
/// next page.
#[derive(Clone)]
pub struct Flashes {
    jar: SignedJar,
}

impl std::fmt::Debug for Flashes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flashes").finish_non_exhaustive()
    }
}

impl Flashes {
    /// Adds a message for the next page; only the newest few are kept.
    pub fn add(&self, kind: &str, text: impl Into<String>) {
        let mut all = self.read();
        all.push(Flash {
            kind: kind.into(),
            text: text.into(),
        });
        all.drain(..all.len().saturating_sub(MAX_FLASHES));
        let mut value = encode(&all);
        while value.len() > MAX_ENCODED && all.len() > 1 {
            all.remove(0);
            value = encode(&all);
        }
        self.jar
            .cookies
            .signed(&self.jar.key)
            .add(self.cookie(value));
    }

    /// The messages for this page, removed from the browser. A request that brought
    /// none leaves the cookies alone; a cookie that fails its signature is dropped.
    pub fn take(&self) -> Vec<Flash> {
        if self.jar.cookies.get(COOKIE).is_none() {
            return Vec::new();
        }
        let all = self.read();
        self.jar.cookies.remove(self.cookie(String::new()));
        all
    }

    /// The messages so far: the request's, with this request's additions.
    fn read(&self) -> Vec<Flash> {
        self.jar
            .cookies
            .signed(&self.jar.key)
            .get(COOKIE)
            .and_then(|c| decode(c.value()))
            .unwrap_or_default()
    }

    fn cookie(&self, value: String) -> Cookie<'static> {
        Cookie::build((COOKIE, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.jar.secure)
            .build()
    }
}

/// Messages as a cookie value: JSON in URL-safe base64, which needs no quoting.
fn encode(all: &[Flash]) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(all).unwrap_or_default())
}

fn decode(value: &str) -> Option<Vec<Flash>> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(value).ok()?).ok()
}

impl FromRequestParts<AppState> for Flashes {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Flashes {
            jar: SignedJar::from_request_parts(parts, state).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_survive_the_cookie_value_and_garbage_does_not_parse() {
        let all = vec![Flash {
            kind: "success".into(),
            text: "Invitation sent to \"Ada\" <ada@example.com>; 3 left.".into(),
        }];
        let value = encode(&all);
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(decode(&value), Some(all));
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("{}")), None);
    }
}
