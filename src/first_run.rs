//! First-run set-up: the first account (instance admin) and its organization, from the
//! set-up page or `roster create-admin`.

use serde::Deserialize;

use crate::auth::passwords::Passwords;
use crate::db::{self, audit};
use crate::domain::{Email, FieldErrors, Role, password, text};
use crate::email::messages::Welcome;
use crate::state::AppState;

/// The set-up form as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct FirstAccountForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
    #[serde(default)]
    pub organization: String,
}

/// A valid first account.
#[derive(Clone, Debug)]
pub struct FirstAccount {
    pub email: Email,
    pub name: String,
    pub password: String,
    pub organization: String,
}

impl FirstAccountForm {
    pub fn parse(&self) -> Result<FirstAccount, FieldErrors> {
        let mut errors = FieldErrors::default();
        let email = Email::parse(&self.email)
            .map_err(|m| errors.add("email", m))
            .ok();
        let name = text::single_line(&self.name, "your name", 100)
            .map_err(|m| errors.add("name", m))
            .ok();
        password::check_typed_twice(
            &self.password,
            &self.password_confirm,
            ("password", "password_confirm"),
            "passwords",
            &mut errors,
        );
        let organization =
            text::single_line(&self.organization, "a name for the organization", 100)
                .map_err(|m| errors.add("organization", m))
                .ok();
        match (email, name, organization) {
            (Some(email), Some(name), Some(organization)) if errors.is_empty() => {
                Ok(FirstAccount {
                    email,
                    name,
                    password: self.password.clone(),
                    organization,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Why set-up did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("Roster is already set up: an account exists")]
    AlreadySetUp,
    #[error("the set-up link is not valid")]
    InvalidToken,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for SetupError {
    fn from(err: sqlx::Error) -> Self {
        SetupError::Other(err.into())
    }
}

/// What set-up created.
#[derive(Clone, Debug)]
pub struct Created {
    pub user_id: i64,
    pub org_slug: String,
}

/// Creates the first account and organization in one transaction, with its audit event
/// and welcome email. `setup_token_hash` is the page's one-time token (the command line
/// has none). Refused once any account exists.
pub async fn create(
    state: &AppState,
    account: &FirstAccount,
    setup_token_hash: Option<&str>,
    ip: Option<String>,
) -> Result<Created, SetupError> {
    let password_hash = state
        .extension::<Passwords>()
        .hash(&account.password)
        .await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    match setup_token_hash {
        Some(hash) if !db::setup_tokens::consume(&mut tx, hash).await? => {
            return Err(SetupError::InvalidToken);
        }
        Some(_) => {}
        None => db::setup_tokens::delete_all(&mut tx).await?,
    }
    if db::users::count_in(&mut tx).await? > 0 {
        return Err(SetupError::AlreadySetUp);
    }
    let user_id = db::users::insert(
        &mut tx,
        &account.email,
        &account.name,
        &password_hash,
        true,
        now,
    )
    .await?;
    // The set-up page signs its person in at once; the command line signs nobody in.
    if setup_token_hash.is_some() {
        db::users::record_sign_in(&mut tx, user_id, now).await?;
    }
    let org = db::orgs::insert(&mut tx, &account.organization, now).await?;
    db::memberships::insert(&mut tx, org.id, user_id, Role::Owner, None, now).await?;
    let actor = audit::Actor {
        user_id: Some(user_id),
        email: Some(account.email.to_string()),
        ip,
    };
    let event = audit::Event::new(audit::Action::InstanceSetUp, &actor)
        .in_org(org.id)
        .target("organization", Some(org.id), None)
        .after(format!(
            "admin {}, organization {}",
            account.email, org.name
        ));
    audit::record(&mut tx, &event, now).await?;
    let welcome = Welcome {
        to: account.email.to_string(),
        name: account.name.clone(),
        org_name: org.name.clone(),
        sign_in_url: format!("{}/sign-in", state.public_url()),
    };
    state.mailer.queue(&mut tx, &welcome, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(Created {
        user_id,
        org_slug: org.slug,
    })
}

/// When no account exists, issues a one-time set-up token and returns the set-up URL.
pub async fn issue_setup_link(state: &AppState) -> anyhow::Result<Option<String>> {
    if db::users::count(&state.db).await? > 0 {
        return Ok(None);
    }
    let (token, hash) = crate::domain::token::generate();
    db::setup_tokens::insert(&state.db, &hash, state.clock.now()).await?;
    Ok(Some(format!("{}/setup?token={token}", state.public_url())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> FirstAccountForm {
        FirstAccountForm {
            email: " Ada@Example.com ".into(),
            name: " Ada Lovelace ".into(),
            password: "a long passphrase".into(),
            password_confirm: "a long passphrase".into(),
            organization: "Analytical Engines".into(),
        }
    }

    #[test]
    fn a_complete_form_parses() {
        let account = form().parse().unwrap();
        assert_eq!(account.email.normalized(), "ada@example.com");
        assert_eq!(account.name, "Ada Lovelace");
    }

    #[test]
    fn each_bad_field_gets_its_own_message() {
        let bad = FirstAccountForm {
            email: "nope".into(),
            name: " ".into(),
            password_confirm: "other".into(),
            organization: "".into(),
            ..form()
        };
        let errors = bad.parse().unwrap_err();
        assert!(errors.get("email").is_some());
        assert!(errors.get("name").is_some());
        assert!(errors.get("password_confirm").is_some());
        assert!(errors.get("organization").is_some());
        assert!(errors.get("password").is_none());
    }
}

/// Whether a set-up link may be used now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Open,
    /// An account exists: set-up is gone.
    AlreadySetUp,
    /// No such link was issued (or none was given).
    NotIssued,
}

/// Whether the set-up link with `token` may be used now.
pub async fn link_state(state: &AppState, token: &str) -> anyhow::Result<LinkState> {
    if db::users::count(&state.db).await? > 0 {
        return Ok(LinkState::AlreadySetUp);
    }
    if token.is_empty()
        || !db::setup_tokens::exists(&state.db, &crate::domain::token::hash(token)).await?
    {
        return Ok(LinkState::NotIssued);
    }
    Ok(LinkState::Open)
}
