//! The organization settings page (Owners only).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router, routing::get};

use super::pages::PageCtx;
use crate::auth::OrgMember;
use crate::domain::FieldErrors;
use crate::domain::settings::SettingsForm;
use crate::error::{AppError, Result};
use crate::orgs;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/orgs/{slug}/settings",
        get(show_settings).post(update_settings),
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/settings.html")]
struct SettingsPage {
    ctx: PageCtx,
    slug: String,
    form: SettingsForm,
    errors: FieldErrors,
    /// Active members without two-factor authentication.
    without_two_factor: i64,
}

fn require_owner(member: &OrgMember) -> Result<()> {
    if orgs::may_edit_settings(&member.acting()) {
        Ok(())
    } else {
        Err(AppError::Refused(
            "Only Owners can change organization settings.".into(),
        ))
    }
}

async fn show_settings(State(state): State<AppState>, member: OrgMember) -> Result<SettingsPage> {
    require_owner(&member)?;
    Ok(SettingsPage {
        without_two_factor: orgs::members_without_two_factor(&state, member.org.id).await?,
        ctx: PageCtx::for_org(&member, "settings").await?,
        slug: member.org.slug.clone(),
        form: SettingsForm::from_settings(&member.settings),
        errors: FieldErrors::default(),
    })
}

async fn update_settings(
    State(state): State<AppState>,
    member: OrgMember,
    Form(form): Form<SettingsForm>,
) -> Result<Response> {
    require_owner(&member)?;
    let settings = match form.parse() {
        Ok(settings) => settings,
        Err(errors) => return with_errors(&state, &member, form, errors).await,
    };
    let saved = match orgs::update_settings(&state, &member.acting(), &settings).await {
        Ok(saved) => saved,
        Err(refused) => match refused.field_message() {
            Some((field, message)) => {
                let mut errors = FieldErrors::default();
                errors.add(field, message);
                return with_errors(&state, &member, form, errors).await;
            }
            None => return Err(settings_error(refused)),
        },
    };
    let message = if saved {
        "Settings saved."
    } else {
        "Nothing to save: the settings are unchanged."
    };
    member.current.flashes.add("success", message);
    Ok(Redirect::to(&format!("/orgs/{}/settings", member.org.slug)).into_response())
}

/// The pages' answer to a refusal that has no field.
fn settings_error(err: orgs::Error) -> AppError {
    match err {
        orgs::Error::Forbidden => AppError::Forbidden,
        orgs::Error::Internal(e) => AppError::Other(e),
        other => AppError::Other(anyhow::anyhow!("unexpected refusal: {other}")),
    }
}

/// The form again, as typed, with its field messages; nothing was saved.
async fn with_errors(
    state: &AppState,
    member: &OrgMember,
    form: SettingsForm,
    errors: FieldErrors,
) -> Result<Response> {
    let page = SettingsPage {
        ctx: PageCtx::for_org(member, "settings").await?,
        slug: member.org.slug.clone(),
        form,
        errors,
        without_two_factor: orgs::members_without_two_factor(state, member.org.id).await?,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
