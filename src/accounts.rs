//! A person's own account: signing in and out, their name and their password. The
//! pages call these functions, which own their transactions, their audit events and
//! their emails.

mod email_change;
mod sessions;

pub use email_change::{
    EmailChangeLink, confirm_email_change, email_change_link, request_email_change,
};
pub use sessions::{AccountSession, end_other_sessions, end_session, sessions_of};

use crate::auth::passwords::Passwords;
use crate::auth::throttle::{self, Throttled};
use crate::clock;
use crate::db::{self, audit};
/// What the pages show of an account and of its organizations.
pub use crate::db::{orgs::OrgLink, users::User};
use crate::domain::two_factor::SecondFactor;
use crate::domain::{Email, FieldErrors, password, text};
use crate::email::messages::{PasswordChanged, SignInsPaused};
use crate::state::AppState;
use crate::two_factor;

mod password_reset;
pub use password_reset::{
    AdminReset, NewPassword, RESET_LINK_SECS, ResetError, ResetTarget, check_reset_token,
    request_password_reset, reset_link_by_admin, reset_password,
};

/// The longest name an account may have.
pub const NAME_MAX: usize = 100;
/// What a wrong current password is told.
pub const WRONG_CURRENT_PASSWORD: &str = "That is not your current password.";

/// Why a change to one's account, or a sign-in, was not made. Nothing was written
/// (but the audit trail of a failed sign-in).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The same answer for an unknown email, a wrong password and an inactive account.
    #[error("wrong credentials")]
    WrongCredentials,
    /// The account's organization requires single sign-on, with this provider.
    #[error("single sign-on required")]
    SsoRequired(String),
    /// A wrong or already used second factor.
    #[error("wrong second factor")]
    WrongSecondFactor,
    /// Too many attempts; when to try again.
    #[error("throttled")]
    Throttled(Throttled),
    /// What is wrong with each field of the form.
    #[error("invalid form")]
    Invalid(FieldErrors),
    /// No such thing of this account (a session of another account, one already ended).
    #[error("not found")]
    NotFound,
    /// A confirmation link that is unknown, used, superseded or expired.
    #[error("the link is not valid")]
    LinkInvalid,
    /// The address became another account's before the change was confirmed.
    #[error("the address is taken")]
    AddressTaken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

/// Who acts on their own account, as the audit trail records them.
fn actor_of(user: &User, ip: &str) -> audit::Actor {
    audit::Actor {
        user_id: Some(user.id),
        email: Some(user.email.clone()),
        ip: Some(ip.to_string()),
    }
}

/// A person who signed in.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user: User,
    /// When the new session counts from (`db::users::session_epoch`).
    pub session_epoch: i64,
}

/// Where a right password leads.
#[derive(Clone, Debug)]
pub enum SignInStep {
    /// Signed in.
    SignedIn(SignedIn),
    /// The account has a second factor: nobody is signed in until `finish_sign_in`
    /// takes a code for `user_id`.
    SecondFactor { user_id: i64 },
}

/// Signs `email` in with `password` from the address `ip`; `device` is this browser's
/// id when it has signed in to that account before (`auth::device`). The attempt is
/// counted before the password is checked (`auth::throttle`). An account with a second
/// factor is not signed in yet: the caller asks for a code (`finish_sign_in`).
pub async fn sign_in(
    state: &AppState,
    email: &Email,
    password: &str,
    ip: &str,
    device: Option<&str>,
) -> Result<SignInStep, Error> {
    let now = state.clock.now();
    let account = email.normalized();
    let attempt = match throttle::sign_in(&state.db, account, ip, device, now).await? {
        Ok(attempt) => attempt,
        Err(throttled) => {
            if throttled.alert {
                tell_of_paused_sign_ins(state, email, ip, throttled.retry_at).await?;
            }
            return Err(Error::Throttled(throttled));
        }
    };
    let user = db::users::find_by_email(&state.db, email).await?;
    // On a domain whose provider requires single sign-on no password is checked (the
    // answer then tells nothing the domain's sign-in page does not), except an instance
    // admin's.
    if let Some(provider) = db::sso::requires_sso(&state.db, email.domain()).await?
        && !user.as_ref().is_some_and(|u| u.is_instance_admin)
    {
        return Err(Error::SsoRequired(provider));
    }
    let verified = match &user {
        Some(u) => {
            state
                .extension::<Passwords>()
                .verify(password, &u.password_hash)
                .await
                && u.is_active()
        }
        None => {
            state
                .extension::<Passwords>()
                .verify_nothing(password)
                .await;
            false
        }
    };
    let mut tx = state.db.begin().await?;
    let Some(user) = user.filter(|_| verified) else {
        let actor = audit::Actor {
            ip: Some(ip.to_string()),
            ..Default::default()
        };
        let event = audit::Event::new(audit::Action::SignInFailed, &actor).target(
            "user",
            None,
            Some(account),
        );
        audit::record(&mut tx, &event, now).await?;
        tx.commit().await?;
        return Err(Error::WrongCredentials);
    };
    if user.has_two_factor() {
        drop(tx);
        attempt.succeeded(&state.db).await?;
        return Ok(SignInStep::SecondFactor { user_id: user.id });
    }
    let signed_in = finish(&mut tx, user, account, ip, now).await?;
    tx.commit().await?;
    attempt.succeeded(&state.db).await?;
    Ok(SignInStep::SignedIn(signed_in))
}

/// Records a sign-in of `user` (its time, its audit event) inside `tx`.
async fn finish(
    tx: &mut db::Tx,
    user: User,
    account: &str,
    ip: &str,
    now: i64,
) -> Result<SignedIn, Error> {
    db::users::record_sign_in(tx, user.id, now).await?;
    let actor = actor_of(&user, ip);
    let event = audit::Event::new(audit::Action::SignedIn, &actor).target(
        "user",
        Some(user.id),
        Some(account),
    );
    audit::record(tx, &event, now).await?;
    let session_epoch = db::users::session_epoch(&user, now);
    Ok(SignedIn {
        user,
        session_epoch,
    })
}

/// Finishes the sign-in of `user_id`, whose password was right, with their second
/// factor typed from `ip`. Wrong codes are throttled per account and address and per
/// account; a code is accepted once (`two_factor::check_at_sign_in`).
pub async fn finish_sign_in(
    state: &AppState,
    user_id: i64,
    factor: &SecondFactor,
    ip: &str,
) -> Result<SignedIn, Error> {
    let now = state.clock.now();
    let attempt = match throttle::second_factor(&state.db, user_id, ip, now).await? {
        Ok(attempt) => attempt,
        Err(throttled) => return Err(Error::Throttled(throttled)),
    };
    let user = db::users::find(&state.db, user_id)
        .await?
        .filter(|u| u.is_active() && u.has_two_factor())
        .ok_or(Error::WrongCredentials)?;
    let mut tx = state.db.begin().await?;
    let checked = two_factor::check_at_sign_in(state, &mut tx, &user, ip, factor)
        .await
        .map_err(|e| match e {
            two_factor::Error::Internal(e) => Error::Internal(e),
            other => Error::Internal(anyhow::anyhow!("unexpected refusal: {other}")),
        })?;
    if let two_factor::Checked::Refused = checked {
        drop(tx);
        let mut tx = state.db.begin().await?;
        let actor = audit::Actor {
            ip: Some(ip.to_string()),
            ..Default::default()
        };
        let event = audit::Event::new(audit::Action::SignInFailed, &actor)
            .target("user", Some(user.id), Some(&user.email))
            .after("second factor");
        audit::record(&mut tx, &event, now).await?;
        tx.commit().await?;
        return Err(Error::WrongSecondFactor);
    }
    let account = Email::parse(&user.email)
        .map(|e| e.normalized().to_string())
        .unwrap_or_else(|_| user.email.to_lowercase());
    let signed_in = finish(&mut tx, user, &account, ip, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    attempt.succeeded(&state.db).await?;
    Ok(signed_in)
}

/// Records that sign-ins as `email` were paused, and tells the account's owner, if
/// there is an active account with that address (the answer to the browser is the same
/// either way).
async fn tell_of_paused_sign_ins(
    state: &AppState,
    email: &Email,
    ip: &str,
    until: i64,
) -> Result<(), Error> {
    let now = state.clock.now();
    let user = db::users::find_by_email(&state.db, email)
        .await?
        .filter(|u| u.is_active());
    let mut tx = state.db.begin().await?;
    let actor = audit::Actor {
        ip: Some(ip.to_string()),
        ..Default::default()
    };
    let event = audit::Event::new(audit::Action::SignInsPaused, &actor).target(
        "user",
        user.as_ref().map(|u| u.id),
        Some(email.normalized()),
    );
    audit::record(&mut tx, &event, now).await?;
    if let Some(user) = &user {
        let notice = SignInsPaused {
            to: user.email.clone(),
            name: user.name.clone(),
            address: ip.to_string(),
            until: clock::exact(until),
        };
        state.mailer.queue(&mut tx, &notice, now).await?;
    }
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// Records that `user` signed out (the session itself is ended by the caller).
pub async fn sign_out(state: &AppState, user: &User, ip: &str) -> Result<(), Error> {
    let mut tx = state.db.begin().await?;
    let actor = actor_of(user, ip);
    let event =
        audit::Event::new(audit::Action::SignedOut, &actor).target("user", Some(user.id), None);
    audit::record(&mut tx, &event, state.clock.now()).await?;
    tx.commit().await?;
    Ok(())
}

/// The organizations `user` is an active member of, by name.
pub async fn organizations(state: &AppState, user_id: i64) -> Result<Vec<OrgLink>, Error> {
    Ok(db::orgs::list_for_user(&state.db, user_id).await?)
}

/// Parses a name as typed on the account page.
pub fn parse_name(typed: &str) -> Result<String, FieldErrors> {
    text::single_line(typed, "your name", NAME_MAX).map_err(|message| {
        let mut errors = FieldErrors::default();
        errors.add("name", message);
        errors
    })
}

/// Gives `user` the name `name` (parsed); false when it was already theirs (nothing is
/// written then).
pub async fn change_name(
    state: &AppState,
    user: &User,
    ip: &str,
    name: &str,
) -> Result<bool, Error> {
    let mut tx = state.db.begin().await?;
    let before = db::users::name_for_update(&mut tx, user.id)
        .await?
        .unwrap_or_default();
    if before == name {
        return Ok(false);
    }
    db::users::update_name(&mut tx, user.id, name).await?;
    let actor = actor_of(user, ip);
    let event = audit::Event::new(audit::Action::UserNameChanged, &actor)
        .target("user", Some(user.id), Some(&user.email))
        .before(before.as_str())
        .after(name);
    audit::record(&mut tx, &event, state.clock.now()).await?;
    tx.commit().await?;
    Ok(true)
}

/// A new password as typed: the current one, then the new one twice.
#[derive(Clone, Debug, Default)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
    pub confirm: String,
}

impl PasswordChange {
    /// Checks the form, given whether the current password was right; the new password
    /// when all is well.
    fn check(&self, current_matches: bool) -> Result<&str, FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.current.is_empty() {
            errors.add("current_password", "Enter your current password.");
        } else if !current_matches {
            errors.add("current_password", WRONG_CURRENT_PASSWORD);
        }
        password::check_typed_twice(
            &self.new,
            &self.confirm,
            ("new_password", "new_password_confirm"),
            "new passwords",
            &mut errors,
        );
        if errors.is_empty() {
            Ok(&self.new)
        } else {
            Err(errors)
        }
    }
}

/// Replaces `user`'s password, ending every session signed in before; returns the time
/// from which sessions count (the caller's session starts again then). Guessing the
/// current password from a session left open is throttled like sign-in.
pub async fn change_password(
    state: &AppState,
    user: &User,
    ip: &str,
    change: &PasswordChange,
) -> Result<i64, Error> {
    let now = state.clock.now();
    let mut confirmed = None;
    if !change.current.is_empty() {
        match throttle::password_confirmation(&state.db, user.id, now).await? {
            Ok(attempt) => {
                if state
                    .extension::<Passwords>()
                    .verify(&change.current, &user.password_hash)
                    .await
                {
                    confirmed = Some(attempt);
                }
            }
            Err(throttled) => {
                let mut errors = FieldErrors::default();
                errors.add(
                    "current_password",
                    format!(
                        "Too many wrong passwords. Try again in {} minute(s).",
                        throttled.minutes_left(now)
                    ),
                );
                return Err(Error::Invalid(errors));
            }
        }
    }
    let new_password = change.check(confirmed.is_some()).map_err(Error::Invalid)?;
    if let Some(attempt) = confirmed {
        attempt.succeeded(&state.db).await?;
    }
    let new_hash = state.extension::<Passwords>().hash(new_password).await?;
    let mut tx = state.db.begin().await?;
    // The hash verified above must still be the stored one: a change that came first wins.
    if !db::users::replace_password(&mut tx, user.id, &user.password_hash, &new_hash, now).await? {
        let mut errors = FieldErrors::default();
        errors.add("current_password", WRONG_CURRENT_PASSWORD);
        return Err(Error::Invalid(errors));
    }
    let actor = actor_of(user, ip);
    let event = audit::Event::new(audit::Action::UserPasswordChanged, &actor).target(
        "user",
        Some(user.id),
        Some(&user.email),
    );
    audit::record(&mut tx, &event, now).await?;
    let notice = PasswordChanged {
        to: user.email.clone(),
        name: user.name.clone(),
        changed_at: clock::exact(now),
    };
    state.mailer.queue(&mut tx, &notice, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    // Every session signed in before `now` has ended; the caller's starts again just
    // after them (sessions of this same second ended too).
    Ok(now + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(current: &str, new: &str, confirm: &str) -> PasswordChange {
        PasswordChange {
            current: current.into(),
            new: new.into(),
            confirm: confirm.into(),
        }
    }

    #[test]
    fn names_are_trimmed_and_limited() {
        assert_eq!(parse_name("  Ada King  ").unwrap(), "Ada King");
        assert_eq!(
            parse_name(" ").unwrap_err().get("name"),
            Some("Enter your name.")
        );
        assert!(
            parse_name(&"x".repeat(NAME_MAX + 1))
                .unwrap_err()
                .get("name")
                .is_some()
        );
    }

    #[test]
    fn each_password_problem_lands_on_its_field() {
        let good = change("the old passphrase", "a new passphrase", "a new passphrase");
        assert_eq!(good.check(true).ok(), Some("a new passphrase"));

        let wrong = change("not it", "a new passphrase", "a new passphrase");
        let errors = wrong.check(false).unwrap_err();
        assert_eq!(errors.get("current_password"), Some(WRONG_CURRENT_PASSWORD));
        assert!(errors.get("new_password").is_none());

        let short = change("the old passphrase", "short", "short");
        let errors = short.check(true).unwrap_err();
        assert!(errors.get("new_password").is_some());
        assert!(errors.get("current_password").is_none());

        let mismatch = change(
            "the old passphrase",
            "a new passphrase",
            "a new passphrase!",
        );
        let errors = mismatch.check(true).unwrap_err();
        assert!(errors.get("new_password_confirm").is_some());
        assert!(errors.get("new_password").is_none());
    }
}
