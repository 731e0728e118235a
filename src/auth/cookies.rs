//! The request's cookie jar with the installation's signing key: what Roster's own
//! signed cookies (flash messages, known browsers) are read from and written to.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tower_cookies::{Cookies, Key};

use crate::error::AppError;
use crate::state::AppState;

/// The request's cookies, the key that signs Roster's own, and whether they are Secure.
#[derive(Clone)]
pub struct SignedJar {
    pub cookies: Cookies,
    pub key: Arc<Key>,
    pub secure: bool,
}

impl FromRequestParts<AppState> for SignedJar {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let cookies = Cookies::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| AppError::Other(anyhow::anyhow!(msg)))?;
        Ok(SignedJar {
            cookies,
            key: state.cookie_key.clone(),
            secure: state.config.secure_cookies,
        })
    }
}
