//! Single sign-on: the organization's provider settings (Owners), and the callback a
//! provider sends people back to. The sign-in page's email step starts a sign-in here
//! (`routes::auth`).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router, routing::get};
use serde::Deserialize;
use tower_sessions::Session;

use super::pages::PageCtx;
use crate::auth::flash::Flashes;
use crate::auth::{OrgMember, session};
use crate::domain::{FieldErrors, LocalPath, Role};
use crate::error::{AppError, Result};
use crate::sso::{self, Discovered, ProviderForm, ProviderView};
use crate::state::AppState;
use crate::{clock, domains};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{slug}/settings/sso",
            get(show_provider).post(save_provider),
        )
        .route(
            "/orgs/{slug}/settings/sso/remove",
            get(confirm_remove_provider).post(remove_provider),
        )
        .route("/sso/callback", get(callback))
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/sso_settings.html")]
struct SsoSettingsPage {
    ctx: PageCtx,
    slug: String,
    org_name: String,
    /// The provider saved, if any.
    saved: Option<ProviderView>,
    /// "Saved 3 Dec 2026 14:05 UTC".
    saved_at: Option<String>,
    form: ProviderForm,
    errors: FieldErrors,
    /// What "Test connection" (or saving) found at the issuer.
    discovered: Option<Discovered>,
    redirect_uri: String,
    /// The organization's verified domains: the addresses the provider signs in.
    verified_domains: Vec<String>,
    roles: Vec<(&'static str, &'static str)>,
}

impl SsoSettingsPage {
    async fn new(state: &AppState, member: &OrgMember) -> Result<SsoSettingsPage> {
        let actor = member.acting();
        let saved = sso::provider(state, &actor).await.map_err(sso_error)?;
        let form = saved.as_ref().map_or_else(
            || ProviderForm {
                default_role: Role::Member.as_str().into(),
                ..ProviderForm::default()
            },
            |p| ProviderForm {
                provider_name: p.provider_name.clone(),
                issuer: p.issuer.clone(),
                client_id: p.client_id.clone(),
                client_secret: String::new(),
                jit_enabled: p.jit_enabled.then(|| "on".into()),
                default_role: p.default_role.as_str().into(),
                require_sso: p.require_sso.then(|| "on".into()),
            },
        );
        let verified_domains = domains::list(state, &actor)
            .await
            .map_err(|_| AppError::Forbidden)?
            .into_iter()
            .filter(|d| d.verified_at.is_some())
            .map(|d| d.domain)
            .collect();
        Ok(SsoSettingsPage {
            ctx: PageCtx::for_org(member, "settings").await?,
            slug: member.org.slug.clone(),
            org_name: member.org.name.clone(),
            saved_at: saved.as_ref().map(|p| clock::exact(p.updated_at)),
            saved,
            form,
            errors: FieldErrors::default(),
            discovered: None,
            redirect_uri: sso::redirect_uri(state),
            verified_domains,
            roles: Role::ALL
                .iter()
                .filter(|r| **r != Role::Owner)
                .map(|r| (r.as_str(), r.label()))
                .collect(),
        })
    }
}

fn sso_error(err: sso::Error) -> AppError {
    match err {
        sso::Error::Forbidden => AppError::Refused("Only Owners can set up single sign-on.".into()),
        sso::Error::NotConfigured => AppError::NotFound,
        sso::Error::Invalid(_) => AppError::BadRequest("The form is not valid.".into()),
        sso::Error::Internal(e) => AppError::Other(e),
    }
}

async fn show_provider(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<SsoSettingsPage> {
    SsoSettingsPage::new(&state, &member).await
}

/// The provider form and which button sent it.
#[derive(Deserialize)]
struct SaveForm {
    #[serde(flatten)]
    provider: ProviderForm,
    /// "test" runs discovery only; anything else saves.
    #[serde(default)]
    action: String,
}

async fn save_provider(
    State(state): State<AppState>,
    member: OrgMember,
    Form(form): Form<SaveForm>,
) -> Result<Response> {
    let actor = member.acting();
    let testing = form.action == "test";
    let outcome = if testing {
        sso::test_connection(&state, &actor, &form.provider.issuer).await
    } else {
        sso::save(&state, &actor, &form.provider).await
    };
    let mut page = SsoSettingsPage::new(&state, &member).await?;
    // What was typed stays, but never the secret.
    page.form = ProviderForm {
        client_secret: String::new(),
        ..form.provider
    };
    match outcome {
        Ok(found) if testing => {
            page.discovered = Some(found);
            Ok(page.into_response())
        }
        Ok(_) => {
            member.current.flashes.add(
                "success",
                format!("Single sign-on for {} is saved.", member.org.name),
            );
            Ok(Redirect::to(&format!("/orgs/{}/settings/sso", member.org.slug)).into_response())
        }
        Err(sso::Error::Invalid(errors)) => {
            page.errors = errors;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(sso_error(other)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/sso_remove.html")]
struct RemoveProviderPage {
    ctx: PageCtx,
    slug: String,
    provider_name: String,
}

async fn confirm_remove_provider(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<RemoveProviderPage> {
    let provider = sso::provider(&state, &member.acting())
        .await
        .map_err(sso_error)?
        .ok_or(AppError::NotFound)?;
    Ok(RemoveProviderPage {
        ctx: PageCtx::for_org(&member, "settings").await?,
        slug: member.org.slug.clone(),
        provider_name: provider.provider_name,
    })
}

async fn remove_provider(State(state): State<AppState>, member: OrgMember) -> Result<Response> {
    sso::remove(&state, &member.acting())
        .await
        .map_err(sso_error)?;
    member.current.flashes.add(
        "success",
        format!(
            "Single sign-on is removed. People of {} sign in with their passwords.",
            member.org.name
        ),
    );
    Ok(Redirect::to(&format!("/orgs/{}/settings/sso", member.org.slug)).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/sso_refused.html")]
struct SsoRefusedPage {
    ctx: PageCtx,
    message: String,
}

/// Where a provider sends the browser back: the sign-in it started is taken from the
/// session (once: a second use of the same callback finds nothing), checked and
/// finished.
async fn callback(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    client: session::Client,
    Query(returned): Query<sso::Callback>,
) -> Result<Response> {
    let pending = session::take_sso(&session).await?;
    match sso::finish(&state, pending, &returned, &client.ip).await {
        Ok(finished) => {
            session::sign_in(
                &state,
                &session,
                finished.signed_in.user.id,
                finished.signed_in.session_epoch,
                &client,
            )
            .await?;
            if let Some(org) = finished.joined {
                flashes.add("success", format!("Welcome to {org}."));
            }
            Ok(Redirect::to(LocalPath::or_home(&finished.next).as_str()).into_response())
        }
        Err(sso::SignInError::Internal(e)) => Err(AppError::Other(e)),
        Err(refused) => {
            let status = match refused {
                sso::SignInError::NotStarted | sso::SignInError::StateMismatch => {
                    StatusCode::BAD_REQUEST
                }
                _ => StatusCode::FORBIDDEN,
            };
            let ctx = PageCtx::load(&state, &session, &flashes, None).await?;
            let page = SsoRefusedPage {
                ctx,
                message: refused.to_string(),
            };
            Ok((status, page).into_response())
        }
    }
}
