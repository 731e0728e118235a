//! Changing one's address: asked for on the Account page with the current password,
//! made only once the new address confirms it (a link sent there), told to the old one.

use super::{Error, User, WRONG_CURRENT_PASSWORD, actor_of};
use crate::auth::passwords::Passwords;
use crate::auth::throttle;
use crate::clock;
use crate::db::{self, audit};
use crate::domain::{Email, FieldErrors, token};
use crate::email::messages::{ConfirmNewEmail, EmailChangeRequested, EmailChanged};
use crate::state::AppState;

/// How long a confirmation link works.
pub const LINK_LIFETIME_SECS: i64 = 24 * 3600;

/// The message for an address that another account has.
pub const ADDRESS_TAKEN: &str = "Another account uses that address.";

/// Asks for `user`'s address to become `new_email` (as typed), given their current
/// `password`: a link goes to the new address, a notice (no link) to the current one.
/// Nothing else changes until the link is confirmed; a new request supersedes the last.
pub async fn request_email_change(
    state: &AppState,
    user: &User,
    new_email: &str,
    password: &str,
) -> Result<(), Error> {
    let now = state.clock.now();
    let mut errors = FieldErrors::default();
    let parsed = match Email::parse(new_email) {
        Ok(email) if email.normalized() == user.email.to_lowercase() => {
            errors.add("new_email", "That is already your address.");
            None
        }
        Ok(email) => Some(email),
        Err(message) => {
            errors.add("new_email", message);
            None
        }
    };
    if password.is_empty() {
        errors.add("email_password", "Enter your current password.");
    } else {
        match throttle::password_confirmation(&state.db, user.id, now).await? {
            Ok(attempt) => {
                if state
                    .extension::<Passwords>()
                    .verify(password, &user.password_hash)
                    .await
                {
                    attempt.succeeded(&state.db).await?;
                } else {
                    errors.add("email_password", WRONG_CURRENT_PASSWORD);
                }
            }
            Err(throttled) => errors.add(
                "email_password",
                format!(
                    "Too many wrong passwords. Try again in {} minute(s).",
                    throttled.minutes_left(now)
                ),
            ),
        }
    }
    let Some(email) = parsed.filter(|_| errors.is_empty()) else {
        return Err(Error::Invalid(errors));
    };
    let mut tx = state.db.begin().await?;
    if db::users::find_by_email_in(&mut tx, &email)
        .await?
        .is_some()
    {
        errors.add("new_email", ADDRESS_TAKEN);
        return Err(Error::Invalid(errors));
    }
    let (link_token, hash) = token::generate();
    let expires_at = now + LINK_LIFETIME_SECS;
    db::email_changes::replace(&mut tx, user.id, email.as_str(), &hash, now, expires_at).await?;
    let confirm = ConfirmNewEmail {
        to: email.as_str().to_string(),
        name: user.name.clone(),
        old_email: user.email.clone(),
        confirm_url: format!("{}/account/email/confirm/{link_token}", state.public_url()),
        expires_at: clock::exact(expires_at),
    };
    state.mailer.queue(&mut tx, &confirm, now).await?;
    let notice = EmailChangeRequested {
        to: user.email.clone(),
        name: user.name.clone(),
        masked_new: mask(&email),
    };
    state.mailer.queue(&mut tx, &notice, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// What a confirmation link stands for, as its page shows it before the button is pressed.
#[derive(Clone, Debug)]
pub struct EmailChangeLink {
    pub user_id: i64,
    pub new_email: String,
}

/// The change a link stands for, if it still works (read only: mail scanners open links).
pub async fn email_change_link(state: &AppState, link: &str) -> Result<EmailChangeLink, Error> {
    if link.is_empty() || link.len() > 100 {
        return Err(Error::LinkInvalid);
    }
    let mut tx = state.db.begin().await?;
    let change = db::email_changes::find(&mut tx, &token::hash(link)).await?;
    drop(tx);
    match change {
        Some(c) if c.expires_at > state.clock.now() => Ok(EmailChangeLink {
            user_id: c.user_id,
            new_email: c.new_email,
        }),
        _ => Err(Error::LinkInvalid),
    }
}

/// Makes the change a link stands for, once: the account's address (and its memberships'
/// copy) becomes the new one, the old address is told. Refused (`AddressTaken`) when
/// another account has the address by now; two accounts confirming one address at once
/// cannot both have it (the unique index on the normalized address decides). Returns the
/// account and its new address.
pub async fn confirm_email_change(
    state: &AppState,
    link: &str,
    ip: &str,
) -> Result<(i64, String), Error> {
    if link.is_empty() || link.len() > 100 {
        return Err(Error::LinkInvalid);
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(change) = db::email_changes::take(&mut tx, &token::hash(link)).await? else {
        return Err(Error::LinkInvalid);
    };
    let user = db::users::find_for_update(&mut tx, change.user_id).await?;
    let (Some(user), true) = (user, change.expires_at > now) else {
        // The spent link is gone either way.
        tx.commit().await?;
        return Err(Error::LinkInvalid);
    };
    if !user.is_active() {
        tx.commit().await?;
        return Err(Error::LinkInvalid);
    }
    let email = Email::parse(&change.new_email).map_err(|m| anyhow::anyhow!(m))?;
    if let Some(other) = db::users::find_by_email_in(&mut tx, &email).await?
        && other.id != user.id
    {
        tx.commit().await?;
        return Err(Error::AddressTaken);
    }
    match db::email_changes::apply(&mut tx, user.id, &email).await {
        Ok(()) => {}
        // Another account took it in a transaction alongside this one.
        Err(e) if db::is_unique_violation(&e) => return Err(Error::AddressTaken),
        Err(e) => return Err(e.into()),
    }
    let actor = actor_of(&user, ip);
    let event = audit::Event::new(audit::Action::UserEmailChanged, &actor)
        .target("user", Some(user.id), Some(email.as_str()))
        .before(user.email.as_str())
        .after(email.as_str());
    audit::record(&mut tx, &event, now).await?;
    let notice = EmailChanged {
        to: user.email.clone(),
        name: user.name.clone(),
        new_email: email.as_str().to_string(),
    };
    state.mailer.queue(&mut tx, &notice, now).await?;
    match tx.commit().await {
        Ok(()) => {}
        Err(e) if db::is_unique_violation(&e) => return Err(Error::AddressTaken),
        Err(e) => return Err(e.into()),
    }
    state.mailer.wake();
    Ok((user.id, email.as_str().to_string()))
}

/// An address as the old one is told of it: "n***@example.com".
fn mask(email: &Email) -> String {
    let address = email.as_str();
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    let first: String = local.chars().take(1).collect();
    format!("{first}***@{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_address_sees_the_new_one_masked() {
        let email = Email::parse("nora.new@example.com").unwrap();
        assert_eq!(mask(&email), "n***@example.com");
    }
}
