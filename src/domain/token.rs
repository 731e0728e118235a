//! Secret tokens: 256 random bits, shown once in URL-safe base64; only a SHA-256 hash
//! is ever stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Returns a new random token and the hash to store for it.
pub fn generate() -> (String, String) {
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hash = hash(&token);
    (token, hash)
}

/// What every API token starts with, so that secret scanners and people recognize one.
pub const API_PREFIX: &str = "roster_";
/// How many of an API token's first characters lists show.
pub const API_SHOWN: usize = 15;

/// Returns a new API token, the hash to store, and the prefix that lists show.
pub fn generate_api() -> (String, String, String) {
    let token = format!("{API_PREFIX}{}", generate().0);
    let hash = hash(&token);
    let shown = token[..API_SHOWN].to_string();
    (token, hash, shown)
}

/// The stored form of a token: lower-case hex SHA-256.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let (a, hash_a) = generate();
        let (b, _) = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash(&a), hash_a);
        assert_eq!(hash_a.len(), 64);
    }

    #[test]
    fn api_tokens_carry_their_kind_and_a_short_prefix() {
        let (token, stored, shown) = generate_api();
        assert!(token.starts_with("roster_"));
        assert_eq!(token.len(), 50);
        assert_eq!(hash(&token), stored);
        assert!(token.starts_with(&shown));
        assert_eq!(shown.len(), 15);
    }
}
