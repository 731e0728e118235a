//! A person's second factor on their own account: turning it on with a first code,
//! replacing the recovery codes, turning it off; and checking a code at sign-in
//! (`accounts::finish_sign_in`). These functions own their transactions, audit events
//! and emails.

use crate::auth::passwords::Passwords;
use crate::auth::throttle;
use crate::clock;
use crate::db::{self, Tx, audit, users::User};
use crate::domain::FieldErrors;
use crate::domain::two_factor::{RECOVERY_CODES, RecoveryCode, SecondFactor, TotpCode, TotpSecret};
use crate::email::messages::TwoFactorChanged;
use crate::sealed::{Purpose, Sealer};
use crate::state::AppState;

/// What a wrong or reused code is told.
pub const WRONG_CODE: &str =
    "That code is not right, or it was already used. Wait for the next code and try again.";
/// What a wrong password is told.
const WRONG_PASSWORD: &str = "That is not your password.";

/// Why a change to one's second factor was not made. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What is wrong with each field of the form.
    #[error("invalid form")]
    Invalid(FieldErrors),
    /// Two-factor authentication is already on (e.g. turned on in another tab).
    #[error("already on")]
    AlreadyOn,
    /// Two-factor authentication is off.
    #[error("not on")]
    NotOn,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

fn field(name: &'static str, message: impl Into<String>) -> Error {
    let mut errors = FieldErrors::default();
    errors.add(name, message);
    Error::Invalid(errors)
}

fn actor_of(user: &User, ip: &str) -> audit::Actor {
    audit::Actor {
        user_id: Some(user.id),
        email: Some(user.email.clone()),
        ip: Some(ip.to_string()),
    }
}

/// Writes the event `action` about `user`'s own second factor and queues the email that
/// tells them `what` happened.
async fn record_and_tell(
    state: &AppState,
    tx: &mut Tx,
    actor: &audit::Actor,
    action: audit::Action,
    user: &User,
    subject: &str,
    what: String,
) -> Result<(), Error> {
    let now = state.clock.now();
    let event = audit::Event::new(action, actor).target("user", Some(user.id), Some(&user.email));
    audit::record(tx, &event, now).await?;
    let notice = TwoFactorChanged {
        to: user.email.clone(),
        name: user.name.clone(),
        subject: subject.to_string(),
        what,
        at: clock::exact(now),
    };
    state.mailer.queue(tx, &notice, now).await?;
    Ok(())
}

/// New recovery codes, as shown, and their hashes, to store.
fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let shown: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| RecoveryCode::generate())
        .collect();
    let hashes = shown
        .iter()
        .map(|code| {
            RecoveryCode::parse(code)
                .expect("a generated code parses")
                .hash()
        })
        .collect();
    (shown, hashes)
}

/// The state of an account's second factor, for its account page.
#[derive(Clone, Copy, Debug)]
pub struct Status {
    pub enabled: bool,
    pub recovery_codes_left: i64,
}

pub async fn status(state: &AppState, user: &User) -> Result<Status, Error> {
    let recovery_codes_left = if user.has_two_factor() {
        db::two_factor::recovery_codes_left(&state.db, user.id).await?
    } else {
        0
    };
    Ok(Status {
        enabled: user.has_two_factor(),
        recovery_codes_left,
    })
}

/// Turns on `user`'s second factor with `secret` (kept by the server while they set up
/// their app), given the first code their app shows; returns the recovery codes, to be
/// shown once.
pub async fn enable(
    state: &AppState,
    user: &User,
    ip: &str,
    secret: &TotpSecret,
    typed_code: &str,
) -> Result<Vec<String>, Error> {
    let code = TotpCode::parse(typed_code).map_err(|m| field("code", m))?;
    let now = state.clock.now();
    let step = secret
        .matching_step(&code, now)
        .ok_or_else(|| field("code", WRONG_CODE))?;
    let sealed = Sealer::new(state, Purpose::TwoFactor).seal(secret.as_bytes())?;
    let (shown, hashes) = new_recovery_codes();
    let mut tx = state.db.begin().await?;
    if !db::two_factor::enable(&mut tx, user.id, &sealed, step, now).await? {
        return Err(Error::AlreadyOn);
    }
    db::two_factor::replace_recovery_codes(&mut tx, user.id, &hashes).await?;
    record_and_tell(
        state,
        &mut tx,
        &actor_of(user, ip),
        audit::Action::TwoFactorEnabled,
        user,
        "Two-factor authentication is on for your Roster account",
        "Two-factor authentication was turned on: signing in now asks for a code from your authenticator app.".into(),
    )
    .await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(shown)
}

/// Checks `password` as `user`'s, throttled like any password confirmation.
async fn confirm_password(state: &AppState, user: &User, password: &str) -> Result<(), Error> {
    if password.is_empty() {
        return Err(field("password", "Enter your password."));
    }
    let now = state.clock.now();
    match throttle::password_confirmation(&state.db, user.id, now).await? {
        Ok(attempt) => {
            if state
                .extension::<Passwords>()
                .verify(password, &user.password_hash)
                .await
            {
                attempt.succeeded(&state.db).await?;
                Ok(())
            } else {
                Err(field("password", WRONG_PASSWORD))
            }
        }
        Err(throttled) => Err(field(
            "password",
            format!(
                "Too many wrong passwords. Try again in {} minute(s).",
                throttled.minutes_left(now)
            ),
        )),
    }
}

/// Replaces `user`'s recovery codes, given their password; returns the new ones, to be
/// shown once. The old ones stop working.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    user: &User,
    ip: &str,
    password: &str,
) -> Result<Vec<String>, Error> {
    if !user.has_two_factor() {
        return Err(Error::NotOn);
    }
    confirm_password(state, user, password).await?;
    let (shown, hashes) = new_recovery_codes();
    let mut tx = state.db.begin().await?;
    if db::users::find_for_update(&mut tx, user.id)
        .await?
        .is_none_or(|u| !u.has_two_factor())
    {
        return Err(Error::NotOn);
    }
    db::two_factor::replace_recovery_codes(&mut tx, user.id, &hashes).await?;
    record_and_tell(
        state,
        &mut tx,
        &actor_of(user, ip),
        audit::Action::TwoFactorRecoveryCodesRegenerated,
        user,
        "New recovery codes for your Roster account",
        "New recovery codes were made for your account; the old ones no longer work.".into(),
    )
    .await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(shown)
}

/// Turns off `user`'s second factor, given their password and a current code.
pub async fn disable(
    state: &AppState,
    user: &User,
    ip: &str,
    password: &str,
    typed_code: &str,
) -> Result<(), Error> {
    if !user.has_two_factor() {
        return Err(Error::NotOn);
    }
    let code = TotpCode::parse(typed_code);
    confirm_password(state, user, password).await?;
    let code = code.map_err(|m| field("code", m))?;
    let now = state.clock.now();
    let stored = db::two_factor::find(&state.db, user.id)
        .await?
        .ok_or(Error::NotOn)?;
    let secret =
        TotpSecret::from_bytes(Sealer::new(state, Purpose::TwoFactor).open(&stored.sealed_secret)?);
    let step = secret
        .matching_step(&code, now)
        .ok_or_else(|| field("code", WRONG_CODE))?;
    let mut tx = state.db.begin().await?;
    if !db::two_factor::accept_step(&mut tx, user.id, step).await? {
        return Err(field("code", WRONG_CODE));
    }
    if !db::two_factor::disable(&mut tx, user.id).await? {
        return Err(Error::NotOn);
    }
    record_and_tell(
        state,
        &mut tx,
        &actor_of(user, ip),
        audit::Action::TwoFactorDisabled,
        user,
        "Two-factor authentication is off for your Roster account",
        "Two-factor authentication was turned off: signing in now asks only for your password."
            .into(),
    )
    .await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// How a second factor checked at sign-in turned out.
#[derive(Debug)]
pub(crate) enum Checked {
    /// Right, and now used up (its time step, or the recovery code).
    Accepted,
    /// Wrong, reused, or the account has no second factor.
    Refused,
}

/// Checks `factor` as `user`'s second factor inside `tx`, using it up when right: a
/// code's time step may never be accepted again, a recovery code is deleted (and its
/// owner told, with how many are left).
pub(crate) async fn check_at_sign_in(
    state: &AppState,
    tx: &mut Tx,
    user: &User,
    ip: &str,
    factor: &SecondFactor,
) -> Result<Checked, Error> {
    let now = state.clock.now();
    match factor {
        SecondFactor::Totp(code) => {
            let Some(stored) = db::two_factor::find(&state.db, user.id).await? else {
                return Ok(Checked::Refused);
            };
            let secret = TotpSecret::from_bytes(
                Sealer::new(state, Purpose::TwoFactor).open(&stored.sealed_secret)?,
            );
            let Some(step) = secret.matching_step(code, now) else {
                return Ok(Checked::Refused);
            };
            Ok(if db::two_factor::accept_step(tx, user.id, step).await? {
                Checked::Accepted
            } else {
                Checked::Refused
            })
        }
        SecondFactor::Recovery(code) => {
            if !db::two_factor::use_recovery_code(tx, user.id, &code.hash()).await? {
                return Ok(Checked::Refused);
            }
            let left = db::two_factor::recovery_codes_left_in(tx, user.id).await?;
            let what = match left {
                0 => "A recovery code was used to sign in to your account. You have no recovery codes left: make new ones on your account page.".to_string(),
                1 => "A recovery code was used to sign in to your account. You have 1 recovery code left.".to_string(),
                n => format!("A recovery code was used to sign in to your account. You have {n} recovery codes left."),
            };
            record_and_tell(
                state,
                tx,
                &actor_of(user, ip),
                audit::Action::TwoFactorRecoveryCodeUsed,
                user,
                "A recovery code was used for your Roster account",
                what,
            )
            .await?;
            Ok(Checked::Accepted)
        }
    }
}

/// Takes away `user`'s second factor and recovery codes inside `tx`; false when they had
/// none (an instance admin's reset, `users::reset_two_factor`).
pub(crate) async fn remove(tx: &mut Tx, user_id: i64) -> sqlx::Result<bool> {
    db::two_factor::disable(tx, user_id).await
}
