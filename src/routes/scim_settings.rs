//! SCIM provisioning settings (Owners): the base URL and token to give the identity
//! provider, the role its new members get, and what maps to what.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router, routing::get, routing::post};
use serde::Deserialize;

use super::pages::PageCtx;
use crate::auth::OrgMember;
use crate::clock;
use crate::domain::{FieldErrors, Role};
use crate::error::{AppError, Result};
use crate::scim;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{slug}/settings/scim",
            get(show_scim).post(save_default_role),
        )
        .route("/orgs/{slug}/settings/scim/token", post(create_token))
        .route(
            "/orgs/{slug}/settings/scim/revoke",
            get(confirm_revoke).post(revoke_token),
        )
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/scim_settings.html")]
struct ScimSettingsPage {
    ctx: PageCtx,
    slug: String,
    org_name: String,
    base_url: String,
    settings: scim::Settings,
    /// "3 Dec 2026 14:05 UTC", when there is a token.
    created_at: Option<String>,
    used_at: Option<String>,
    /// The token just created, shown this once.
    new_token: Option<String>,
    default_role: String,
    errors: FieldErrors,
    roles: Vec<(&'static str, &'static str)>,
}

fn scim_error(err: scim::Error) -> AppError {
    match err {
        scim::Error::Forbidden => {
            AppError::Refused("Only Owners can manage SCIM provisioning.".into())
        }
        scim::Error::Internal(e) => AppError::Other(e),
        other => AppError::BadRequest(other.to_string()),
    }
}

impl ScimSettingsPage {
    async fn new(state: &AppState, member: &OrgMember) -> Result<ScimSettingsPage> {
        let settings = scim::settings(state, &member.acting())
            .await
            .map_err(scim_error)?;
        Ok(ScimSettingsPage {
            ctx: PageCtx::for_org(member, "settings").await?,
            slug: member.org.slug.clone(),
            org_name: member.org.name.clone(),
            base_url: super::scim::base_url(state),
            created_at: settings.token_created_at.map(clock::exact),
            used_at: settings.token_used_at.map(clock::exact),
            default_role: settings.default_role.as_str().into(),
            settings,
            new_token: None,
            errors: FieldErrors::default(),
            roles: Role::ALL
                .iter()
                .filter(|r| **r != Role::Owner)
                .map(|r| (r.as_str(), r.label()))
                .collect(),
        })
    }
}

async fn show_scim(State(state): State<AppState>, member: OrgMember) -> Result<ScimSettingsPage> {
    ScimSettingsPage::new(&state, &member).await
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    default_role: String,
}

async fn save_default_role(
    State(state): State<AppState>,
    member: OrgMember,
    Form(form): Form<RoleForm>,
) -> Result<Response> {
    match scim::set_default_role(&state, &member.acting(), &form.default_role).await {
        Ok(role) => {
            member.current.flashes.add(
                "success",
                format!(
                    "Members the identity provider adds join as {}.",
                    role.label()
                ),
            );
            Ok(Redirect::to(&format!("/orgs/{}/settings/scim", member.org.slug)).into_response())
        }
        Err(scim::Error::Invalid { detail, .. }) => {
            let mut page = ScimSettingsPage::new(&state, &member).await?;
            page.errors.add("default_role", detail);
            page.default_role = form.default_role;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(scim_error(other)),
    }
}

async fn create_token(State(state): State<AppState>, member: OrgMember) -> Result<Response> {
    let token = scim::create_token(&state, &member.acting())
        .await
        .map_err(scim_error)?;
    let mut page = ScimSettingsPage::new(&state, &member).await?;
    page.new_token = Some(token);
    // The token is on this answer alone: no cache keeps it.
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/scim_revoke.html")]
struct RevokePage {
    ctx: PageCtx,
    slug: String,
}

async fn confirm_revoke(State(state): State<AppState>, member: OrgMember) -> Result<RevokePage> {
    let settings = scim::settings(&state, &member.acting())
        .await
        .map_err(scim_error)?;
    if !settings.has_token {
        return Err(AppError::NotFound);
    }
    Ok(RevokePage {
        ctx: PageCtx::for_org(&member, "settings").await?,
        slug: member.org.slug.clone(),
    })
}

async fn revoke_token(State(state): State<AppState>, member: OrgMember) -> Result<Response> {
    let revoked = scim::revoke_token(&state, &member.acting())
        .await
        .map_err(scim_error)?;
    let text = if revoked {
        "The SCIM token is revoked: the identity provider can no longer provision."
    } else {
        "There was no SCIM token to revoke."
    };
    member.current.flashes.add("success", text);
    Ok(Redirect::to(&format!("/orgs/{}/settings/scim", member.org.slug)).into_response())
}
