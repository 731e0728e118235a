//! The organization settings page (Owners only).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router, routing::get};

use super::pages::PageCtx;
use crate::auth::OrgMember;
use crate::db::{self, audit};
use crate::domain::FieldErrors;
use crate::domain::permissions::{self, Action};
use crate::domain::settings::{OrgSettings, SettingsForm};
use crate::error::{AppError, Result};
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
}

fn require_owner(member: &OrgMember) -> Result<()> {
    if permissions::allows(member.role, Action::EditSettings) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn show_settings(member: OrgMember) -> Result<SettingsPage> {
    require_owner(&member)?;
    Ok(SettingsPage {
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
        Err(errors) => return with_errors(&member, form, errors).await,
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.lock(db::LockScope::OrgMembers, member.org.id).await?;
    let before = db::orgs::settings_for_update(&mut tx, member.org.id).await?;
    if let Some(seats) = settings.seats {
        let assigned = db::memberships::count_seats_in(&mut tx, member.org.id).await?;
        if assigned > seats {
            drop(tx);
            let mut errors = FieldErrors::default();
            errors.add(
                "seats",
                format!("{assigned} seats are assigned now. Revoke some first, or choose at least {assigned}."),
            );
            return with_errors(&member, form, errors).await;
        }
    }
    if before != settings {
        db::orgs::update_settings(&mut tx, member.org.id, &settings).await?;
        let (old, new) = changed_fields(&before, &settings);
        let actor = member.current.actor();
        let event = audit::Event::new(audit::Action::OrgSettingsChanged, &actor)
            .in_org(member.org.id)
            .target("organization", Some(member.org.id), None)
            .before(old)
            .after(new);
        audit::record(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    let message = if before == settings {
        "Nothing to save: the settings are unchanged."
    } else {
        "Settings saved."
    };
    member.current.flashes.add("success", message);
    Ok(Redirect::to(&format!("/orgs/{}/settings", member.org.slug)).into_response())
}

/// The form again, as typed, with its field messages; nothing was saved.
async fn with_errors(
    member: &OrgMember,
    form: SettingsForm,
    errors: FieldErrors,
) -> Result<Response> {
    let page = SettingsPage {
        ctx: PageCtx::for_org(member, "settings").await?,
        slug: member.org.slug.clone(),
        form,
        errors,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// The fields that differ, before and after, as JSON objects for the audit trail.
fn changed_fields(before: &OrgSettings, after: &OrgSettings) -> (String, String) {
    let (serde_json::Value::Object(old), serde_json::Value::Object(new)) = (
        serde_json::to_value(before).unwrap_or_default(),
        serde_json::to_value(after).unwrap_or_default(),
    ) else {
        return (String::new(), String::new());
    };
    let keys: Vec<&String> = old.keys().filter(|k| old.get(*k) != new.get(*k)).collect();
    let pick = |map: &serde_json::Map<String, serde_json::Value>| {
        serde_json::Value::Object(
            keys.iter()
                .map(|k| ((*k).clone(), map[*k].clone()))
                .collect(),
        )
        .to_string()
    };
    (pick(&old), pick(&new))
}
