//! The organization settings page (Owners only).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router, routing::get, routing::post};
use serde::Deserialize;

use super::pages::PageCtx;
use crate::auth::OrgMember;
use crate::clock;
use crate::domain::FieldErrors;
use crate::domain::domain_name::challenge_value;
use crate::domain::settings::SettingsForm;
use crate::domains::{self, DomainRow};
use crate::error::{AppError, Result};
use crate::orgs;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{slug}/settings",
            get(show_settings).post(update_settings),
        )
        .route("/orgs/{slug}/settings/domains", post(add_domain))
        .route(
            "/orgs/{slug}/settings/domains/{id}/verify",
            post(verify_domain),
        )
        .route(
            "/orgs/{slug}/settings/domains/{id}/mark-verified",
            post(mark_domain_verified),
        )
        .route(
            "/orgs/{slug}/settings/domains/{id}/remove",
            get(confirm_remove_domain).post(remove_domain),
        )
}

/// A domain as the settings page shows it.
struct DomainView {
    id: i64,
    domain: String,
    /// "Verified 3 Dec 2026 14:05 UTC (DNS record)", when it is.
    verified: Option<String>,
    record_name: String,
    record_value: String,
    /// What the last failed check found, and when.
    problem: Option<(String, String)>,
}

impl DomainView {
    fn new(row: DomainRow) -> DomainView {
        DomainView {
            id: row.id,
            verified: row.verified_at.map(|at| {
                let how = match row.verified_how.as_deref() {
                    Some("admin") => "marked by an instance admin",
                    _ => "DNS record",
                };
                format!("Verified {} ({how})", clock::exact(at))
            }),
            record_name: format!("_roster-challenge.{}", row.domain),
            record_value: challenge_value(&row.challenge),
            problem: row
                .last_problem
                .zip(row.last_checked_at)
                .map(|(p, at)| (p, clock::exact(at))),
            domain: row.domain,
        }
    }
}

/// The domains section: the list, and the add form as typed.
struct Domains {
    rows: Vec<DomainView>,
    typed: String,
    /// The viewer may mark a domain verified without DNS.
    instance_admin: bool,
}

impl Domains {
    async fn of(state: &AppState, member: &OrgMember, typed: String) -> Result<Domains> {
        let rows = domains::list(state, &member.acting())
            .await
            .map_err(domains_error)?;
        Ok(Domains {
            rows: rows.into_iter().map(DomainView::new).collect(),
            typed,
            instance_admin: member.current.user.is_instance_admin,
        })
    }
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
    domains: Domains,
    /// The organization's identity provider, if it has one.
    sso: Option<crate::sso::ProviderView>,
}

/// The settings page's line about single sign-on.
async fn sso_summary(
    state: &AppState,
    member: &OrgMember,
) -> Result<Option<crate::sso::ProviderView>> {
    crate::sso::provider(state, &member.acting())
        .await
        .map_err(|_| AppError::Refused("Only Owners can change organization settings.".into()))
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
        domains: Domains::of(&state, &member, String::new()).await?,
        sso: sso_summary(&state, &member).await?,
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
        domains: Domains::of(state, member, String::new()).await?,
        sso: sso_summary(state, member).await?,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// The pages' answer to a domain refusal that is not shown as a message.
fn domains_error(err: domains::Error) -> AppError {
    match err {
        domains::Error::Forbidden => AppError::Forbidden,
        domains::Error::NotFound => AppError::NotFound,
        domains::Error::Internal(e) => AppError::Other(e),
        other => AppError::Other(anyhow::anyhow!("unexpected refusal: {other}")),
    }
}

fn to_domains(slug: &str) -> Response {
    Redirect::to(&format!("/orgs/{slug}/settings#domains")).into_response()
}

#[derive(Deserialize)]
struct DomainForm {
    #[serde(default)]
    domain: String,
}

async fn add_domain(
    State(state): State<AppState>,
    member: OrgMember,
    Form(form): Form<DomainForm>,
) -> Result<Response> {
    match domains::add(&state, &member.acting(), &form.domain).await {
        Ok(row) => {
            member.current.flashes.add(
                "success",
                format!(
                    "Added {}. Publish the TXT record shown below, then choose Verify.",
                    row.domain
                ),
            );
            Ok(to_domains(&member.org.slug))
        }
        Err(refused) => match refused.message() {
            Some(message) => {
                let mut errors = FieldErrors::default();
                errors.add("domain", message);
                let page = SettingsPage {
                    ctx: PageCtx::for_org(&member, "settings").await?,
                    slug: member.org.slug.clone(),
                    form: SettingsForm::from_settings(&member.settings),
                    errors,
                    without_two_factor: orgs::members_without_two_factor(&state, member.org.id)
                        .await?,
                    domains: Domains::of(&state, &member, form.domain).await?,
                    sso: sso_summary(&state, &member).await?,
                };
                Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
            }
            None => Err(domains_error(refused)),
        },
    }
}

/// Verify (DNS) or mark verified (instance admins): the outcome as a message.
async fn verified(
    member: &OrgMember,
    outcome: std::result::Result<DomainRow, domains::Error>,
) -> Result<Response> {
    match outcome {
        Ok(row) => member.current.flashes.add(
            "success",
            format!("{} is verified for {}.", row.domain, member.org.name),
        ),
        Err(refused) => match refused.message() {
            Some(message) => member.current.flashes.add("error", message),
            None => return Err(domains_error(refused)),
        },
    }
    Ok(to_domains(&member.org.slug))
}

async fn verify_domain(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    verified(&member, domains::verify(&state, &member.acting(), id).await).await
}

async fn mark_domain_verified(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    verified(
        &member,
        domains::mark_verified(&state, &member.acting(), id).await,
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/domain_remove.html")]
struct RemoveDomainPage {
    ctx: PageCtx,
    slug: String,
    domain: DomainView,
}

async fn confirm_remove_domain(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<RemoveDomainPage> {
    let row = domains::find(&state, &member.acting(), id)
        .await
        .map_err(domains_error)?;
    Ok(RemoveDomainPage {
        ctx: PageCtx::for_org(&member, "settings").await?,
        slug: member.org.slug.clone(),
        domain: DomainView::new(row),
    })
}

async fn remove_domain(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    let domain = domains::remove(&state, &member.acting(), id)
        .await
        .map_err(domains_error)?;
    member.current.flashes.add(
        "success",
        format!("Removed {domain} from {}.", member.org.name),
    );
    Ok(to_domains(&member.org.slug))
}
