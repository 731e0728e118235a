//! Secrets Roster must read back (two-factor keys, an identity provider's client
//! secret, webhook signing secrets) are stored sealed with ChaCha20-Poly1305, under a
//! key derived from the installation's secret and the purpose: a copy of the database
//! alone gives none of them away, and a value sealed for one purpose opens for no other.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// What a sealed value is for; each has its own key.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    TwoFactor,
    SsoClientSecret,
    WebhookSecret,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            // The label two-factor keys were first sealed under: changing it would make
            // every stored key unreadable.
            Purpose::TwoFactor => b"roster two-factor secrets v1\0",
            Purpose::SsoClientSecret => b"roster sso client secrets v1\0",
            Purpose::WebhookSecret => b"roster webhook secrets v1\0",
        }
    }
}

/// Seals and opens the values of one purpose.
pub struct Sealer(ChaCha20Poly1305);

impl Sealer {
    pub fn new(state: &AppState, purpose: Purpose) -> Sealer {
        let key = Sha256::new()
            .chain_update(purpose.label())
            .chain_update(state.cookie_key.master())
            .finalize();
        Sealer(ChaCha20Poly1305::new(Key::from_slice(&key)))
    }

    /// `secret` sealed under a fresh nonce, as text for a column.
    pub fn seal(&self, secret: &[u8]) -> anyhow::Result<String> {
        let mut nonce = [0u8; 12];
        rand::rng().fill(&mut nonce);
        let sealed = self
            .0
            .encrypt(Nonce::from_slice(&nonce), secret)
            .map_err(|_| anyhow::anyhow!("sealing a secret failed"))?;
        let mut stored = nonce.to_vec();
        stored.extend(sealed);
        Ok(STANDARD_NO_PAD.encode(stored))
    }

    /// The secret `seal` stored as `stored`.
    pub fn open(&self, stored: &str) -> anyhow::Result<Vec<u8>> {
        let bytes = STANDARD_NO_PAD.decode(stored)?;
        anyhow::ensure!(bytes.len() > 12, "a sealed secret is too short");
        let (nonce, sealed) = bytes.split_at(12);
        self.0
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| anyhow::anyhow!("a sealed secret could not be opened"))
    }
}
