//! The signed-in person's own account: their name, their password and their API tokens.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::pages::PageCtx;
use super::tokens::{TokenView, revoke_and_flash};
use crate::auth::passwords::Passwords;
use crate::auth::{CurrentUser, session, throttle};
use crate::clock;
use crate::db::{self, audit};
use crate::domain::{FieldErrors, password, text};
use crate::email::messages::PasswordChanged;
use crate::error::Result;
use crate::state::AppState;
use crate::tokens::{self, NewTokenForm};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show_account))
        .route("/account/name", post(change_name))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
}

/// The longest name an account may have.
const NAME_MAX: usize = 100;
const WRONG_CURRENT_PASSWORD: &str = "That is not your current password.";

#[derive(Template, WebTemplate)]
#[template(path = "pages/account.html")]
struct AccountPage {
    ctx: PageCtx,
    email: String,
    /// What the name field shows: the stored name, or what was typed when it failed.
    name: String,
    errors: FieldErrors,
    /// Which form the errors belong to: "name", "password", "token", or "" when none failed.
    failed: &'static str,
    tokens: Vec<TokenView>,
    token_form: NewTokenForm,
    /// A token just created, whose secret is shown this once.
    created: Option<tokens::Created>,
    revoke_base: &'static str,
}

impl AccountPage {
    async fn load(state: &AppState, current: &CurrentUser) -> Result<AccountPage> {
        let mut ctx = PageCtx::load(
            state,
            &current.session,
            &current.flashes,
            Some(&current.user),
        )
        .await?;
        ctx.section = "account";
        Ok(AccountPage {
            ctx,
            email: current.user.email.clone(),
            name: current.user.name.clone(),
            errors: FieldErrors::default(),
            failed: "",
            tokens: db::api_tokens::of_user(&state.db, current.user.id)
                .await?
                .into_iter()
                .map(|t| TokenView::new(t, state.clock.now()))
                .collect(),
            token_form: NewTokenForm {
                expires: "90".into(),
                ..Default::default()
            },
            created: None,
            revoke_base: "/account/tokens",
        })
    }

    /// The page again with the messages of the form that failed (422).
    fn refused(mut self, failed: &'static str, errors: FieldErrors) -> Response {
        self.failed = failed;
        self.errors = errors;
        (StatusCode::UNPROCESSABLE_ENTITY, self).into_response()
    }
}

/// The name form as typed.
#[derive(Debug, Default, Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
}

impl NameForm {
    fn parse(&self) -> std::result::Result<String, FieldErrors> {
        text::single_line(&self.name, "your name", NAME_MAX).map_err(|message| {
            let mut errors = FieldErrors::default();
            errors.add("name", message);
            errors
        })
    }
}

/// The password form as typed. It is never shown back.
#[derive(Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

impl PasswordForm {
    /// Checks the form, given whether the current password was right; the new password
    /// when all is well.
    fn parse(&self, current_matches: bool) -> std::result::Result<&str, FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.current_password.is_empty() {
            errors.add("current_password", "Enter your current password.");
        } else if !current_matches {
            errors.add("current_password", WRONG_CURRENT_PASSWORD);
        }
        if let Err(message) = password::check_new(&self.new_password) {
            errors.add("new_password", message);
        } else if self.new_password != self.new_password_confirm {
            errors.add(
                "new_password_confirm",
                "The two new passwords do not match.",
            );
        }
        if errors.is_empty() {
            Ok(&self.new_password)
        } else {
            Err(errors)
        }
    }
}

async fn show_account(State(state): State<AppState>, current: CurrentUser) -> Result<AccountPage> {
    AccountPage::load(&state, &current).await
}

async fn change_name(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<NameForm>,
) -> Result<Response> {
    let name = match form.parse() {
        Ok(name) => name,
        Err(errors) => {
            let mut page = AccountPage::load(&state, &current).await?;
            page.name = form.name;
            return Ok(page.refused("name", errors));
        }
    };
    let user = &current.user;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let before = db::users::name_for_update(&mut tx, user.id)
        .await?
        .unwrap_or_default();
    if before != name {
        db::users::update_name(&mut tx, user.id, &name).await?;
        let actor = current.actor();
        let event = audit::Event::new(audit::Action::UserNameChanged, &actor)
            .target("user", Some(user.id), Some(&user.email))
            .before(before.as_str())
            .after(name.as_str());
        audit::record(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    let message = if before == name {
        "Nothing to save: your name is unchanged."
    } else {
        "Name saved."
    };
    current.flashes.add("success", message);
    Ok(Redirect::to("/account").into_response())
}

async fn change_password(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<PasswordForm>,
) -> Result<Response> {
    let user = &current.user;
    let now = state.clock.now();
    // Guessing the current password from a session left open is throttled like sign-in.
    let mut confirmed = None;
    if !form.current_password.is_empty() {
        match throttle::password_confirmation(&state.db, user.id, now).await? {
            Ok(attempt) => {
                if state
                    .extension::<Passwords>()
                    .verify(&form.current_password, &user.password_hash)
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
                let page = AccountPage::load(&state, &current).await?;
                return Ok(page.refused("password", errors));
            }
        }
    }
    let new_password = match form.parse(confirmed.is_some()) {
        Ok(new_password) => new_password,
        Err(errors) => {
            let page = AccountPage::load(&state, &current).await?;
            return Ok(page.refused("password", errors));
        }
    };
    if let Some(attempt) = confirmed {
        attempt.succeeded(&state.db).await?;
    }
    let new_hash = state.extension::<Passwords>().hash(new_password).await?;
    let mut tx = state.db.begin().await?;
    // The hash verified above must still be the stored one: a change that came first wins.
    if !db::users::replace_password(&mut tx, user.id, &user.password_hash, &new_hash, now).await? {
        drop(tx);
        let mut errors = FieldErrors::default();
        errors.add("current_password", WRONG_CURRENT_PASSWORD);
        let page = AccountPage::load(&state, &current).await?;
        return Ok(page.refused("password", errors));
    }
    let actor = current.actor();
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
    // Every session signed in before `now` has ended; this one starts again under a new id.
    // Sessions of this same second ended too; this one starts again just after them.
    session::sign_in(&current.session, user.id, now + 1).await?;
    current.flashes.add(
        "success",
        "Password changed. Every other session of your account was signed out.",
    );
    Ok(Redirect::to("/account").into_response())
}

async fn create_token(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<NewTokenForm>,
) -> Result<Response> {
    match tokens::create(&state, &current, &form).await? {
        Ok(created) => {
            let mut page = AccountPage::load(&state, &current).await?;
            page.created = Some(created);
            // The secret is in this response only: no cache may keep it.
            Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
        }
        Err(errors) => {
            let mut page = AccountPage::load(&state, &current).await?;
            page.token_form = form;
            Ok(page.refused("token", errors))
        }
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    revoke_and_flash(&state, &current, id, None).await?;
    Ok(Redirect::to("/account").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password_form(current: &str, new: &str, confirm: &str) -> PasswordForm {
        PasswordForm {
            current_password: current.into(),
            new_password: new.into(),
            new_password_confirm: confirm.into(),
        }
    }

    #[test]
    fn names_are_trimmed_and_limited() {
        let ok = NameForm {
            name: "  Ada King  ".into(),
        };
        assert_eq!(ok.parse().unwrap(), "Ada King");
        let blank = NameForm { name: " ".into() };
        assert_eq!(
            blank.parse().unwrap_err().get("name"),
            Some("Enter your name.")
        );
        let long = NameForm {
            name: "x".repeat(NAME_MAX + 1),
        };
        assert!(long.parse().unwrap_err().get("name").is_some());
    }

    #[test]
    fn each_password_problem_lands_on_its_field() {
        let good = password_form("the old passphrase", "a new passphrase", "a new passphrase");
        assert_eq!(good.parse(true).ok(), Some("a new passphrase"));

        let wrong = password_form("not it", "a new passphrase", "a new passphrase");
        let errors = wrong.parse(false).unwrap_err();
        assert_eq!(errors.get("current_password"), Some(WRONG_CURRENT_PASSWORD));
        assert!(errors.get("new_password").is_none());

        let short = password_form("the old passphrase", "short", "short");
        let errors = short.parse(true).unwrap_err();
        assert!(errors.get("new_password").is_some());
        assert!(errors.get("current_password").is_none());

        let mismatch = password_form(
            "the old passphrase",
            "a new passphrase",
            "a new passphrase!",
        );
        let errors = mismatch.parse(true).unwrap_err();
        assert!(errors.get("new_password_confirm").is_some());
        assert!(errors.get("new_password").is_none());
    }
}
