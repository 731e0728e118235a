//! The audit log: an organization's events for its Owners and Admins, the instance's own
//! events for instance admins, each filterable and exported as a streamed CSV file.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use time::{Date, macros::format_description};

use super::csv_download::{self, cell};
use super::pages::PageCtx;
use crate::audit_log::{self, Filter, Listed, Scope};
use crate::auth::{InstanceAdmin, OrgMember};
use crate::clock;
use crate::domain::audit::{Entry, INSTANCE_KINDS, ORG_KINDS};
use crate::domain::permissions::{self, Action};
use crate::domain::{FieldErrors, text};
use crate::error::{AppError, Result};
use crate::state::AppState;

/// Events a page shows.
const PAGE_SIZE: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orgs/{slug}/audit", get(list_org_events))
        .route("/orgs/{slug}/audit.csv", get(export_org_events))
        .route("/admin/audit", get(list_instance_events))
        .route("/admin/audit.csv", get(export_instance_events))
}

/// The filter form as typed (kept on the page as it was).
#[derive(Clone, Debug, Default, Deserialize)]
struct FilterForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    /// The last event of the previous page, as "at.id".
    #[serde(default)]
    after: String,
}

impl FilterForm {
    /// The filter, or field messages for what could not be read.
    fn parse(&self, kinds: &[(&str, &str)]) -> std::result::Result<Filter, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut line = |field: &'static str, value: &str| {
            text::optional_line(value, text::SEARCH_MAX)
                .map_err(|m| errors.add(field, m))
                .ok()
                .flatten()
        };
        let actor = line("actor", &self.actor);
        let target = line("target", &self.target);
        let action = line("action", &self.action);
        if action
            .as_deref()
            .is_some_and(|a| !kinds.iter().any(|(k, _)| *k == a))
        {
            errors.add("action", "Choose one of the offered kinds.");
        }
        let mut date = |field: &'static str, value: &str| -> Option<i64> {
            let value = value.trim();
            if value.is_empty() {
                return None;
            }
            match Date::parse(value, format_description!("[year]-[month]-[day]")) {
                Ok(date) => Some(date.midnight().assume_utc().unix_timestamp()),
                Err(_) => {
                    errors.add(field, "Enter a date like 2026-11-23.");
                    None
                }
            }
        };
        let from = date("from", &self.from);
        // "Until" names the last day included.
        let until = date("until", &self.until).map(|day| day + 86_400);
        if let (Some(from), Some(until)) = (from, until)
            && until <= from
        {
            errors.add("until", "The end date must not be before the start date.");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Filter {
            action,
            actor,
            target,
            from,
            until,
        })
    }

    fn after(&self) -> Option<(i64, i64)> {
        let (at, id) = self.after.split_once('.')?;
        Some((at.parse().ok()?, id.parse().ok()?))
    }

    /// The filter as a query string (without the page cursor), for links.
    fn query(&self) -> String {
        [
            ("action", &self.action),
            ("actor", &self.actor),
            ("target", &self.target),
            ("from", &self.from),
            ("until", &self.until),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| {
            let v: String = url::form_urlencoded::byte_serialize(v.trim().as_bytes()).collect();
            format!("{k}={v}&")
        })
        .collect()
    }
}

/// One event as a row of the page.
struct EventView {
    when: String,
    when_exact: String,
    when_iso: String,
    text: String,
    ip: String,
    /// What changed, in words, one line per field.
    changes: Vec<String>,
}

/// Who did it, as people read it: their name when known, else their email.
fn actor_label(e: &Listed) -> String {
    e.actor_name
        .clone()
        .or_else(|| e.actor_email.clone())
        .unwrap_or_else(|| "Someone".into())
}

/// The event as the words of the page see it.
fn entry<'a>(e: &'a Listed, actor: &'a str) -> Entry<'a> {
    Entry {
        action: &e.action,
        actor,
        actor_email: e.actor_email.as_deref(),
        target: e.target_email.as_deref(),
        before: e.before_value.as_deref(),
        after: e.after_value.as_deref(),
    }
}

fn sentence(e: &Listed) -> String {
    entry(e, &actor_label(e)).sentence()
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/audit.html")]
struct AuditPage {
    ctx: PageCtx,
    title: String,
    /// Where the page lives ("/orgs/x/audit" or "/admin/audit").
    base: String,
    kinds: &'static [(&'static str, &'static str)],
    form: FilterForm,
    errors: FieldErrors,
    events: Vec<EventView>,
    /// The link to the next (older) page, if there is one.
    older: Option<String>,
    paged: bool,
    query: String,
}

async fn render_list(
    state: &AppState,
    ctx: PageCtx,
    scope: Scope,
    base: String,
    title: String,
    form: FilterForm,
) -> Result<Response> {
    let kinds = match scope {
        Scope::Org(_) => ORG_KINDS,
        Scope::Instance => INSTANCE_KINDS,
    };
    let query = form.query();
    let (filter, errors) = match form.parse(kinds) {
        Ok(filter) => (Some(filter), FieldErrors::default()),
        Err(errors) => (None, errors),
    };
    let mut events = Vec::new();
    let mut older = None;
    if let Some(filter) = &filter {
        // One more than shown tells whether an older page exists, without counting.
        let mut rows = audit_log::page(state, scope, filter, form.after(), PAGE_SIZE + 1).await?;
        if rows.len() as i64 > PAGE_SIZE {
            rows.truncate(PAGE_SIZE as usize);
            older = rows
                .last()
                .map(|e| format!("{base}?{query}after={}.{}", e.at, e.id));
        }
        let now = state.clock.now();
        events = rows
            .iter()
            .map(|e| {
                let actor = actor_label(e);
                let entry = entry(e, &actor);
                EventView {
                    when: clock::relative(now, e.at),
                    when_exact: clock::exact(e.at),
                    when_iso: clock::iso(e.at),
                    text: entry.sentence(),
                    ip: e.ip.clone().unwrap_or_default(),
                    changes: entry.changes(),
                }
            })
            .collect();
    }
    let status = super::pages::form_status(&errors);
    let paged = !form.after.is_empty();
    let page = AuditPage {
        ctx,
        title,
        base,
        kinds,
        form,
        errors,
        events,
        older,
        paged,
        query,
    };
    Ok((status, page).into_response())
}

/// The member, if their role lets them see the audit log.
fn auditor(member: &OrgMember) -> Result<()> {
    if permissions::allows(member.role, Action::SeeAuditLog) {
        Ok(())
    } else {
        Err(AppError::Refused(
            "Only Owners and Admins can see the organization’s audit log.".into(),
        ))
    }
}

async fn list_org_events(
    State(state): State<AppState>,
    member: OrgMember,
    Query(form): Query<FilterForm>,
) -> Result<Response> {
    auditor(&member)?;
    let ctx = PageCtx::for_org(&member, "audit").await?;
    let base = format!("/orgs/{}/audit", member.org.slug);
    let title = format!("Audit log of {}", member.org.name);
    render_list(&state, ctx, Scope::Org(member.org.id), base, title, form).await
}

async fn list_instance_events(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    Query(form): Query<FilterForm>,
) -> Result<Response> {
    let mut ctx = PageCtx::load(&state, &admin.session, &admin.flashes, Some(&admin.user)).await?;
    ctx.section = "audit";
    let title = "Audit log of this instance".to_string();
    render_list(
        &state,
        ctx,
        Scope::Instance,
        "/admin/audit".into(),
        title,
        form,
    )
    .await
}

async fn export_org_events(
    State(state): State<AppState>,
    member: OrgMember,
    Query(form): Query<FilterForm>,
) -> Result<Response> {
    auditor(&member)?;
    let Ok(filter) = form.parse(ORG_KINDS) else {
        return Ok(to_messages(
            &format!("/orgs/{}/audit", member.org.slug),
            &form,
        ));
    };
    let name = format!("audit-{}.csv", member.org.slug);
    Ok(export(&state, Scope::Org(member.org.id), filter, &name))
}

async fn export_instance_events(
    State(state): State<AppState>,
    InstanceAdmin(_): InstanceAdmin,
    Query(form): Query<FilterForm>,
) -> Result<Response> {
    let Ok(filter) = form.parse(INSTANCE_KINDS) else {
        return Ok(to_messages("/admin/audit", &form));
    };
    Ok(export(
        &state,
        Scope::Instance,
        filter,
        "audit-instance.csv",
    ))
}

/// An export whose filter cannot be read goes to the page with the same filter, which
/// says what is wrong under each field.
fn to_messages(base: &str, form: &FilterForm) -> Response {
    Redirect::to(&format!("{base}?{}", form.query())).into_response()
}

/// The events as a CSV download, streamed as the database yields them: the server holds
/// a few rows at a time, whatever the size of the export.
fn export(state: &AppState, scope: Scope, filter: Filter, name: &str) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Listed>(256);
    let (outcome_tx, outcome) = tokio::sync::oneshot::channel::<bool>();
    let db = state.db.clone();
    tokio::spawn(async move {
        let result = audit_log::export(&db, scope, &filter, tx).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, "audit export stopped");
        }
        let _ = outcome_tx.send(result.is_ok());
    });
    csv_download::download(
        name,
        &[
            "time",
            "actor",
            "action",
            "description",
            "target",
            "address",
            "before",
            "after",
        ],
        rx,
        outcome,
        |e: Listed| {
            vec![
                clock::iso(e.at),
                cell(e.actor_email.as_deref().unwrap_or("")),
                e.action.clone(),
                cell(&sentence(&e)),
                cell(e.target_email.as_deref().unwrap_or("")),
                e.ip.clone().unwrap_or_default(),
                cell(e.before_value.as_deref().unwrap_or("")),
                cell(e.after_value.as_deref().unwrap_or("")),
            ]
        },
    )
}
