//! Password reset links: asked for from the sign-in page ("Forgot your password?") or
//! sent by an instance admin, used once within an hour to set a new password.
//!
//! A link is 256 random bits; only its hash is stored, one live link per account
//! (`db::password_resets`): a new link replaces the last, using it deletes it, and any
//! change of the password deletes it too. Asking for a link answers the same for every
//! address, known or not, so the page tells no one which accounts exist.

use crate::actor::Person;
use crate::auth::passwords::Passwords;
use crate::auth::throttle;
use crate::clock;
use crate::db::{self, Tx, audit, users::User};
use crate::domain::{Email, FieldErrors, password, token};
use crate::email::messages::{PasswordChanged, PasswordReset};
use crate::state::AppState;

use super::SignedIn;

/// How long a reset link works.
pub const RESET_LINK_SECS: i64 = 60 * 60;

/// Why a password reset was not done. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// The link is unknown, was used, has expired or was replaced by a newer one, or its
    /// account was deactivated meanwhile.
    #[error("This link has expired or was already used.")]
    LinkUnusable,
    /// What is wrong with each field of the new password.
    #[error("invalid form")]
    Invalid(FieldErrors),
    /// (Admins) no such account any more.
    #[error("That account no longer exists.")]
    NotFound,
    /// (Admins) the one asking is no longer an active instance admin.
    #[error("Only instance admins can manage accounts.")]
    NotAdmin,
    /// (Admins) a deactivated account gets no link.
    #[error(
        "The account of {0} is deactivated: it gets no password reset link. Activate it first."
    )]
    Deactivated(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ResetError {
    fn from(err: sqlx::Error) -> Self {
        ResetError::Internal(err.into())
    }
}

/// Asks for a reset link for `email` from the address `ip`. An active account gets one
/// by email, unless too many were asked for (per account and per address, see
/// `throttle::password_reset`); an unknown or deactivated address gets nothing. The
/// caller says the same in every case: every request reads the account and counts
/// itself, and the email goes through the outbox, so neither answer nor timing tells.
pub async fn request_password_reset(
    state: &AppState,
    email: &Email,
    ip: &str,
) -> Result<(), ResetError> {
    let now = state.clock.now();
    let user = db::users::find_by_email(&state.db, email).await?;
    let counted = throttle::password_reset(&state.db, email.normalized(), ip, now).await?;
    let Some(user) = user.filter(User::is_active) else {
        return Ok(());
    };
    // An account that signs in with its organization's provider has no password to
    // reset; it is told nothing more than anyone else.
    if crate::sso::password_barred(state, &user).await?.is_some() {
        return Ok(());
    }
    match counted {
        // Nothing to succeed at: the request is spent.
        Ok(attempt) => drop(attempt),
        Err(_) => {
            tracing::info!("password reset links throttled");
            return Ok(());
        }
    }
    // Without email the link could reach no one, and would only replace a link an
    // admin has shown to copy.
    if !state.mailer.is_enabled() {
        return Ok(());
    }
    let mut tx = state.db.begin().await?;
    let actor = audit::Actor {
        ip: Some(ip.to_string()),
        ..Default::default()
    };
    let link = issue(state, &mut tx, &user, &actor, now).await?;
    let message = reset_email(&user, link, now);
    state.mailer.queue(&mut tx, &message, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// What an admin's "Send password reset" did.
#[derive(Clone, Debug)]
pub enum AdminReset {
    /// The link was emailed to `email`.
    Emailed { email: String },
    /// There is no email: the admin is shown `link` once, to hand over.
    Shown { email: String, link: String },
}

/// An instance admin gives the account `user_id` a new reset link (its earlier one stops
/// working): emailed, or shown to the admin once when Roster sends no email (audited).
pub async fn reset_link_by_admin(
    state: &AppState,
    actor: &Person,
    user_id: i64,
) -> Result<AdminReset, ResetError> {
    let now = state.clock.now();
    let Some(mut tx) = crate::users::begin_as_admin(state, actor.user.id).await? else {
        return Err(ResetError::NotAdmin);
    };
    let Some(target) = db::users::find_for_update(&mut tx, user_id).await? else {
        return Err(ResetError::NotFound);
    };
    if !target.is_active() {
        return Err(ResetError::Deactivated(target.email));
    }
    let link = issue(state, &mut tx, &target, &actor.audit, now).await?;
    let done =
        if state.mailer.is_enabled() {
            let message = reset_email(&target, link, now);
            state.mailer.queue(&mut tx, &message, now).await?;
            AdminReset::Emailed {
                email: target.email.clone(),
            }
        } else {
            let email = target.email.trim().to_lowercase();
            let shown = audit::Event::new(audit::Action::PasswordResetLinkShown, &actor.audit)
                .target("user", Some(target.id), Some(&email));
            audit::record(&mut tx, &shown, now).await?;
            AdminReset::Shown {
                email: target.email.clone(),
                link,
            }
        };
    tx.commit().await?;
    state.mailer.wake();
    Ok(done)
}

/// Stores a new link for `user` (replacing its last) and audits it; returns the link.
async fn issue(
    state: &AppState,
    tx: &mut Tx,
    user: &User,
    actor: &audit::Actor,
    now: i64,
) -> Result<String, ResetError> {
    let (secret, hash) = token::generate();
    db::password_resets::replace(tx, user.id, &hash, now, now + RESET_LINK_SECS).await?;
    let email = user.email.trim().to_lowercase();
    let event = audit::Event::new(audit::Action::PasswordResetRequested, actor)
        .target("user", Some(user.id), Some(&email))
        .after(clock::iso(now + RESET_LINK_SECS));
    audit::record(tx, &event, now).await?;
    Ok(format!("{}/password/reset/{secret}", state.public_url()))
}

fn reset_email(user: &User, link: String, now: i64) -> PasswordReset {
    PasswordReset {
        to: user.email.clone(),
        name: user.name.clone(),
        link,
        expires: clock::exact(now + RESET_LINK_SECS),
    }
}

/// The account a reset link sets the password of, as its page shows it.
#[derive(Clone, Debug)]
pub struct ResetTarget {
    pub email: String,
}

/// The account of the link `secret`, if the link still works (nothing is changed).
pub async fn check_reset_token(state: &AppState, secret: &str) -> Result<ResetTarget, ResetError> {
    let user = usable_link(state, secret).await?;
    Ok(ResetTarget { email: user.email })
}

/// The active account whose live link is `secret`.
async fn usable_link(state: &AppState, secret: &str) -> Result<User, ResetError> {
    // A secret is 43 characters of base64; anything far longer is not one (and is not
    // hashed).
    if secret.is_empty() || secret.len() > 64 {
        return Err(ResetError::LinkUnusable);
    }
    let now = state.clock.now();
    let user = db::password_resets::find_account(&state.db, &token::hash(secret), now)
        .await?
        .filter(User::is_active)
        .ok_or(ResetError::LinkUnusable)?;
    // A link sent before the organization required single sign-on.
    if crate::sso::password_barred(state, &user).await?.is_some() {
        return Err(ResetError::LinkUnusable);
    }
    Ok(user)
}

/// A new password as typed on the reset page: twice.
#[derive(Clone, Debug, Default)]
pub struct NewPassword {
    pub new: String,
    pub confirm: String,
}

impl NewPassword {
    /// The new password when both fields agree and it follows the rules.
    fn check(&self) -> Result<&str, FieldErrors> {
        let mut errors = FieldErrors::default();
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

/// Sets the password of the link `secret`'s account from the address `ip`, using the
/// link up: every session of the account ends, the person is told by email, and the
/// caller signs its own browser in (`SignedIn::session_epoch`). Of parallel uses of one
/// link exactly one succeeds.
pub async fn reset_password(
    state: &AppState,
    secret: &str,
    new: &NewPassword,
    ip: &str,
) -> Result<SignedIn, ResetError> {
    let user = usable_link(state, secret).await?;
    let new_password = new.check().map_err(ResetError::Invalid)?;
    let new_hash = state.extension::<Passwords>().hash(new_password).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // The link is used up in one statement: a parallel use, or a newer link, made it
    // unusable since it was read above.
    let used_by = db::password_resets::consume(&mut tx, &token::hash(secret), now).await?;
    if used_by != Some(user.id)
        || !db::users::reset_password(&mut tx, user.id, &new_hash, now).await?
    {
        return Err(ResetError::LinkUnusable);
    }
    // Without a second factor the link's browser is signed in at once; with one, the
    // sign-in that follows records itself.
    if user.two_factor_enabled_at.is_none() {
        db::users::record_sign_in(&mut tx, user.id, now).await?;
    }
    let email = user.email.trim().to_lowercase();
    let actor = audit::Actor {
        user_id: Some(user.id),
        email: Some(user.email.clone()),
        ip: Some(ip.to_string()),
    };
    let event = audit::Event::new(audit::Action::PasswordReset, &actor).target(
        "user",
        Some(user.id),
        Some(&email),
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
    // Every session signed in before `now` has ended; this browser's starts just after.
    Ok(SignedIn {
        user,
        session_epoch: now + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(new: &str, confirm: &str) -> NewPassword {
        NewPassword {
            new: new.into(),
            confirm: confirm.into(),
        }
    }

    #[test]
    fn each_new_password_problem_lands_on_its_field() {
        assert_eq!(
            typed("a new passphrase", "a new passphrase").check().ok(),
            Some("a new passphrase")
        );
        let short = typed("short", "short").check().unwrap_err();
        assert!(short.get("new_password").is_some());
        assert!(short.get("new_password_confirm").is_none());
        let mismatch = typed("a new passphrase", "another one")
            .check()
            .unwrap_err();
        assert!(mismatch.get("new_password").is_none());
        assert!(mismatch.get("new_password_confirm").is_some());
    }
}
