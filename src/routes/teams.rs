//! The Teams page of an organization and each team's page: every member sees them;
//! Owners and Admins create, rename and delete teams and add and remove their members.
//! Every form works without JavaScript (POST, then 303); htmx opens the delete
//! confirmation as a dialog and swaps the search for people to add.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_htmx::HxRequest;
use serde::Deserialize;

use super::pages::PageCtx;
use crate::auth::OrgMember;
use crate::clock;
use crate::domain::{FieldErrors, text};
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::teams::{self, TeamMemberRow, TeamRow};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orgs/{slug}/teams", get(list_teams).post(create_team))
        .route("/orgs/{slug}/teams/{id}", get(show_team))
        .route("/orgs/{slug}/teams/{id}/rename", post(rename_team))
        .route(
            "/orgs/{slug}/teams/{id}/delete",
            get(confirm_delete_team).post(delete_team),
        )
        .route("/orgs/{slug}/teams/{id}/members", post(add_team_member))
        .route(
            "/orgs/{slug}/teams/{id}/members/{member_id}/remove",
            post(remove_team_member),
        )
}

/// The pages' answer to a refusal that is not shown next to a field.
fn page_error(err: teams::Error) -> AppError {
    match err {
        teams::Error::Forbidden => AppError::Forbidden,
        teams::Error::NotFound | teams::Error::MemberNotFound => AppError::NotFound,
        teams::Error::Internal(e) => AppError::Other(e),
        refusal => AppError::Other(anyhow::anyhow!("unexpected refusal: {refusal}")),
    }
}

fn teams_href(member: &OrgMember) -> String {
    format!("/orgs/{}/teams", member.org.slug)
}

fn team_href(member: &OrgMember, id: i64) -> String {
    format!("/orgs/{}/teams/{id}", member.org.slug)
}

/// A refused name as the form shows it again: as typed, less the control characters
/// no HTML page may carry, and cut far above the limit (a huge value is not echoed).
fn as_typed(name: &str) -> String {
    text::sanitized(name, 10 * crate::domain::team::NAME_MAX)
}

/// A flash message, then `to`.
fn done(member: &OrgMember, to: &str, kind: &str, text: String) -> Response {
    member.current.flashes.add(kind, text);
    Redirect::to(to).into_response()
}

/// A team as the list shows it.
struct TeamItem {
    id: i64,
    name: String,
    member_count: i64,
    created: String,
    created_exact: String,
    created_iso: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/teams.html")]
struct TeamsPage {
    ctx: PageCtx,
    slug: String,
    org_name: String,
    teams: Vec<TeamItem>,
    can_manage: bool,
    /// The create form as typed, and its message.
    typed: String,
    errors: FieldErrors,
}

async fn teams_page(
    state: &AppState,
    member: &OrgMember,
    typed: String,
    errors: FieldErrors,
) -> Result<TeamsPage> {
    let acting = member.acting();
    let rows = teams::list(state, &acting).await.map_err(page_error)?;
    let now = state.clock.now();
    Ok(TeamsPage {
        ctx: PageCtx::for_org(member, "teams").await?,
        slug: member.org.slug.clone(),
        org_name: member.org.name.clone(),
        teams: rows
            .into_iter()
            .map(|t| TeamItem {
                id: t.id,
                name: t.name,
                member_count: t.member_count,
                created: clock::relative(now, t.created_at),
                created_exact: clock::exact(t.created_at),
                created_iso: clock::iso(t.created_at),
            })
            .collect(),
        can_manage: teams::may_manage(&acting),
        typed,
        errors,
    })
}

async fn list_teams(State(state): State<AppState>, member: OrgMember) -> Result<Response> {
    Ok(
        teams_page(&state, &member, String::new(), FieldErrors::default())
            .await?
            .into_response(),
    )
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
}

async fn create_team(
    State(state): State<AppState>,
    member: OrgMember,
    Form(form): Form<NameForm>,
) -> Result<Response> {
    match teams::create(&state, &member.acting(), &form.name).await {
        Ok(team) => Ok(done(
            &member,
            &team_href(&member, team.id),
            "success",
            format!("Created the team {}. Add its members below.", team.name),
        )),
        Err(refusal) if refusal.is_about_name() => {
            let mut errors = FieldErrors::default();
            errors.add("name", refusal.to_string());
            let page = teams_page(&state, &member, as_typed(&form.name), errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(err) => Err(page_error(err)),
    }
}

/// A member of the team, or one who could be added, as the team's page shows them.
struct PersonItem {
    id: i64,
    email: String,
    name: String,
    role: &'static str,
    inactive: bool,
}

impl PersonItem {
    fn new(row: TeamMemberRow) -> PersonItem {
        PersonItem {
            id: row.id,
            inactive: !row.status.is_active(),
            role: row.role.label(),
            email: row.email,
            name: row.name,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/team.html")]
struct TeamPage {
    ctx: PageCtx,
    slug: String,
    team: TeamRow,
    members: Vec<PersonItem>,
    can_manage: bool,
    /// The search for people to add, and whom it found (None: no search yet).
    search: String,
    candidates: Option<Vec<PersonItem>>,
    /// The rename form as typed, and its message.
    typed: String,
    errors: FieldErrors,
}

#[derive(Default, Deserialize)]
struct TeamQuery {
    #[serde(default)]
    q: String,
}

async fn team_page(
    state: &AppState,
    member: &OrgMember,
    id: i64,
    search: &str,
    typed: Option<String>,
    errors: FieldErrors,
) -> Result<TeamPage> {
    let acting = member.acting();
    let search = text::search(search).map_err(AppError::BadRequest)?;
    let (detail, candidates) = teams::page(state, &acting, id, search.as_deref())
        .await
        .map_err(page_error)?;
    Ok(TeamPage {
        ctx: PageCtx::for_org(member, "teams").await?,
        slug: member.org.slug.clone(),
        typed: typed.unwrap_or_else(|| detail.team.name.clone()),
        team: detail.team,
        members: detail.members.into_iter().map(PersonItem::new).collect(),
        can_manage: teams::may_manage(&acting),
        search: search.unwrap_or_default(),
        candidates: candidates.map(|rows| rows.into_iter().map(PersonItem::new).collect()),
        errors,
    })
}

async fn show_team(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
    Query(query): Query<TeamQuery>,
) -> Result<Response> {
    Ok(
        team_page(&state, &member, id, &query.q, None, FieldErrors::default())
            .await?
            .into_response(),
    )
}

async fn rename_team(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<NameForm>,
) -> Result<Response> {
    match teams::rename(&state, &member.acting(), id, &form.name).await {
        Ok(team) => Ok(done(
            &member,
            &team_href(&member, id),
            "success",
            format!("The team is now called {}.", team.name),
        )),
        Err(refusal) if refusal.is_about_name() => {
            let mut errors = FieldErrors::default();
            errors.add("name", refusal.to_string());
            let typed = Some(as_typed(&form.name));
            let page = team_page(&state, &member, id, "", typed, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(err) => Err(page_error(err)),
    }
}

/// The confirmation of deleting a team: a `<dialog>` for htmx, a page otherwise.
#[derive(Template)]
#[template(path = "partials/team_delete_dialog.html")]
struct TeamDeleteDialog {
    confirm: DeleteConfirm,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/team_delete.html")]
struct TeamDeletePage {
    ctx: PageCtx,
    confirm: DeleteConfirm,
}

struct DeleteConfirm {
    slug: String,
    csrf: String,
    team: TeamRow,
}

async fn confirm_delete_team(
    State(state): State<AppState>,
    member: OrgMember,
    HxRequest(is_htmx): HxRequest,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    let detail = teams::get_to_manage(&state, &member.acting(), id)
        .await
        .map_err(page_error)?;
    let ctx = PageCtx::for_org(&member, "teams").await?;
    let confirm = DeleteConfirm {
        slug: member.org.slug.clone(),
        csrf: ctx.csrf.clone(),
        team: detail,
    };
    if is_htmx {
        let body = TeamDeleteDialog { confirm }.render()?;
        return Ok(axum::response::Html(body).into_response());
    }
    Ok(TeamDeletePage { ctx, confirm }.into_response())
}

async fn delete_team(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    let team = teams::delete(&state, &member.acting(), id)
        .await
        .map_err(page_error)?;
    Ok(done(
        &member,
        &teams_href(&member),
        "success",
        format!(
            "Deleted the team {}. Its members stay in {}.",
            team.name, member.org.name
        ),
    ))
}

#[derive(Deserialize)]
struct AddForm {
    #[serde(default)]
    member_id: String,
}

async fn add_team_member(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<AddForm>,
) -> Result<Response> {
    let back = team_href(&member, id);
    let Ok(member_id) = form.member_id.trim().parse::<i64>() else {
        return Err(AppError::NotFound);
    };
    match teams::add_member(&state, &member.acting(), id, member_id).await {
        Ok((team, added)) => Ok(done(
            &member,
            &back,
            "success",
            format!("Added {} to {}.", added.email, team.name),
        )),
        Err(refusal @ teams::Error::AlreadyInTeam { .. }) => {
            Ok(done(&member, &back, "error", refusal.to_string()))
        }
        Err(err) => Err(page_error(err)),
    }
}

async fn remove_team_member(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id, member_id)): Path<(String, i64, i64)>,
) -> Result<Response> {
    let back = team_href(&member, id);
    match teams::remove_member(&state, &member.acting(), id, member_id).await {
        Ok((team, removed)) => Ok(done(
            &member,
            &back,
            "success",
            format!(
                "Removed {} from {}. They stay in {}.",
                removed.email, team.name, member.org.name
            ),
        )),
        Err(refusal @ teams::Error::NotInTeam { .. }) => {
            Ok(done(&member, &back, "error", refusal.to_string()))
        }
        Err(err) => Err(page_error(err)),
    }
}
