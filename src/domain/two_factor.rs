//! Two-factor authentication, pure: TOTP secrets and codes (RFC 6238: SHA-1, six digits,
//! 30-second steps, as every authenticator app reads them), the QR code that carries a
//! secret to an app, and recovery codes.

use qrcode::QrCode;
use qrcode::render::svg;
use rand::Rng;
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per time step.
pub const STEP_SECS: i64 = 30;
/// How many recovery codes an account holds after enrolment or regeneration.
pub const RECOVERY_CODES: usize = 10;
/// The issuer an authenticator app shows next to the account.
const ISSUER: &str = "Roster";

/// A TOTP secret: 160 random bits (RFC 4226's recommended length).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    /// A new secret from the operating system's CSPRNG (through `rand`'s thread generator,
    /// which is a CSPRNG seeded from it).
    pub fn generate() -> TotpSecret {
        let mut bytes = vec![0u8; 20];
        rand::rng().fill(bytes.as_mut_slice());
        TotpSecret(bytes)
    }

    /// The secret from its base32 text (as `base32` gives it); None when it is not one.
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        let bytes = Secret::Encoded(text.to_ascii_uppercase()).to_bytes().ok()?;
        (bytes.len() >= 16).then_some(TotpSecret(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> TotpSecret {
        TotpSecret(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret in base32, without padding, as authenticator apps take it.
    pub fn base32(&self) -> String {
        match Secret::Raw(self.0.clone()).to_encoded() {
            Secret::Encoded(s) => s.trim_end_matches('=').to_string(),
            Secret::Raw(_) => unreachable!("to_encoded gives an encoded secret"),
        }
    }

    /// The base32 text in groups of four, to be typed by hand.
    pub fn grouped(&self) -> String {
        group(&self.base32(), 4, " ")
    }

    fn totp(&self) -> TOTP {
        TOTP::new_unchecked(Algorithm::SHA1, 6, 1, STEP_SECS as u64, self.0.clone())
    }

    /// The code of time step `step`.
    pub fn code_at_step(&self, step: i64) -> String {
        self.totp().generate((step.max(0) * STEP_SECS) as u64)
    }

    /// The time step `code` belongs to, at `now` with one step of skew either way (the
    /// phone's clock may be a little off); None when it matches none.
    pub fn matching_step(&self, code: &TotpCode, now: i64) -> Option<i64> {
        let current = now.div_euclid(STEP_SECS);
        [current, current - 1, current + 1]
            .into_iter()
            .find(|&step| {
                subtle::ConstantTimeEq::ct_eq(self.code_at_step(step).as_bytes(), code.0.as_bytes())
                    .into()
            })
    }

    /// The `otpauth://` URI an authenticator app reads from the QR code.
    pub fn otpauth_uri(&self, account: &str) -> String {
        let label: String =
            url::form_urlencoded::byte_serialize(format!("{ISSUER}:{account}").as_bytes())
                .collect::<String>()
                .replace('+', "%20");
        format!(
            "otpauth://totp/{label}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits=6&period={STEP_SECS}",
            self.base32()
        )
    }

    /// The QR code of `otpauth_uri(account)` as inline SVG, named for assistive
    /// technology (the secret is also shown as text next to it).
    pub fn qr_svg(&self, account: &str) -> String {
        let code = QrCode::new(self.otpauth_uri(account).as_bytes())
            .expect("an otpauth URI fits in a QR code");
        let image = code
            .render::<svg::Color>()
            .min_dimensions(200, 200)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build();
        let start = image.find("<svg").unwrap_or(0);
        image[start..].replacen(
            "<svg ",
            "<svg role=\"img\" aria-label=\"QR code for your authenticator app\" class=\"qr\" ",
            1,
        )
    }
}

/// A six-digit code as typed (spaces and dashes between digits are allowed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpCode(String);

impl TotpCode {
    pub fn parse(typed: &str) -> Result<TotpCode, &'static str> {
        let digits: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.is_empty() {
            return Err("Enter the 6-digit code from your authenticator app.");
        }
        if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("The code is the 6 digits your authenticator app shows.");
        }
        Ok(TotpCode(digits))
    }
}

/// The alphabet of recovery codes: lower-case letters and digits without look-alikes.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Characters per recovery code (about 59 bits: far beyond guessing under throttling,
/// so one fast SHA-256 hash is enough to store it).
const RECOVERY_LEN: usize = 12;

/// A recovery code as typed: letters and digits, case and separators ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    /// A new code from a CSPRNG, as shown: three groups of four.
    pub fn generate() -> String {
        let mut rng = rand::rng();
        let raw: String = (0..RECOVERY_LEN)
            .map(|_| RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())] as char)
            .collect();
        group(&raw, 4, "-")
    }

    pub fn parse(typed: &str) -> Result<RecoveryCode, &'static str> {
        let code: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if code.is_empty() {
            return Err("Enter one of your recovery codes.");
        }
        if code.len() != RECOVERY_LEN || !code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
            return Err("A recovery code is 12 letters and digits, like abcd-efgh-jkmn.");
        }
        Ok(RecoveryCode(code))
    }

    /// What is stored of the code: its SHA-256 hash.
    pub fn hash(&self) -> String {
        super::token::hash(&self.0)
    }
}

/// A second factor as typed on the sign-in step: an app's code or a recovery code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecondFactor {
    Totp(TotpCode),
    Recovery(RecoveryCode),
}

impl SecondFactor {
    pub fn parse(typed: &str) -> Result<SecondFactor, &'static str> {
        if typed.chars().count() > 100 {
            return Err("That is not a code.");
        }
        let compact: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if compact.is_empty() {
            return Err("Enter the 6-digit code from your authenticator app.");
        }
        if compact.chars().all(|c| c.is_ascii_digit()) && compact.len() <= 8 {
            return TotpCode::parse(typed).map(SecondFactor::Totp);
        }
        RecoveryCode::parse(typed).map(SecondFactor::Recovery)
    }
}

fn group(text: &str, size: usize, separator: &str) -> String {
    text.as_bytes()
        .chunks(size)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_test_vector() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        // RFC 6238, appendix B: T = 59 s gives 94287082 in eight digits; six: 287082.
        assert_eq!(secret.code_at_step(59 / STEP_SECS), "287082");
        let code = TotpCode::parse("287 082").unwrap();
        assert_eq!(secret.matching_step(&code, 59), Some(1));
        assert_eq!(
            secret.matching_step(&code, 59 + 30),
            Some(1),
            "one step late"
        );
        assert_eq!(secret.matching_step(&code, 59 + 60), None, "two steps late");
    }

    #[test]
    fn secrets_round_trip_through_base32() {
        let secret = TotpSecret::generate();
        assert_eq!(secret.as_bytes().len(), 20);
        assert_eq!(secret.base32().len(), 32);
        assert_eq!(
            TotpSecret::from_base32(&secret.base32()),
            Some(secret.clone())
        );
        assert_eq!(secret.grouped().split(' ').count(), 8);
        assert_ne!(TotpSecret::generate(), secret);
        assert!(
            secret
                .otpauth_uri("a@example.com")
                .starts_with("otpauth://totp/Roster%3Aa%40example.com?secret=")
        );
        let svg = secret.qr_svg("a@example.com");
        assert!(svg.starts_with("<svg role=\"img\" aria-label="));
    }

    #[test]
    fn codes_are_told_apart() {
        assert!(matches!(
            SecondFactor::parse(" 123 456 "),
            Ok(SecondFactor::Totp(_))
        ));
        assert!(SecondFactor::parse("12345").is_err());
        let code = RecoveryCode::generate();
        assert_eq!(code.len(), 14);
        let parsed = SecondFactor::parse(&code.to_uppercase()).unwrap();
        assert_eq!(
            parsed,
            SecondFactor::Recovery(RecoveryCode::parse(&code).unwrap())
        );
        assert!(SecondFactor::parse("not-a-code").is_err());
        assert!(SecondFactor::parse("").is_err());
        assert_ne!(RecoveryCode::generate(), code);
    }
}
