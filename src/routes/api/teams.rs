//! Teams through the API: the same `teams` service as the Teams pages (and, later,
//! SCIM's Groups), with the same rules and audit events.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiJson, ApiMember, ApiPath, ApiResult, RoleName, TokenErrors};
use crate::clock;
use crate::state::AppState;
use crate::teams::{self, TeamMemberRow, TeamRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team, rename_team, delete_team))
        .routes(routes!(list_team_members, add_team_member))
        .routes(routes!(remove_team_member))
}

/// A team of the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Team {
    id: i64,
    #[schema(example = "Platform")]
    name: String,
    member_count: i64,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339: the last change to its name or members.
    updated_at: String,
}

impl From<TeamRow> for Team {
    fn from(row: TeamRow) -> Team {
        Team {
            id: row.id,
            name: row.name,
            member_count: row.member_count,
            created_at: clock::iso(row.created_at),
            updated_at: clock::iso(row.updated_at),
        }
    }
}

/// A member of a team.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMember {
    /// The member's id (as in `/members/{id}`).
    id: i64,
    email: String,
    name: String,
    role: RoleName,
    /// `active` or `inactive`.
    #[schema(example = "active")]
    status: String,
    /// RFC 3339: when they were added to the team.
    added_at: String,
}

impl TeamMember {
    fn from_row(row: TeamMemberRow) -> ApiResult<TeamMember> {
        Ok(TeamMember {
            id: row.id,
            role: RoleName::parse(row.role.as_str())?,
            status: row.status.as_str().to_string(),
            added_at: clock::iso(row.added_at),
            email: row.email,
            name: row.name,
        })
    }
}

/// A team's name.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TeamName {
    /// 1 to 100 characters, no control characters; unique in the organization in any case.
    #[schema(example = "Platform")]
    name: String,
}

/// The member to add.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTeamMember {
    /// The member's id (as in `/members/{id}`).
    member_id: i64,
}

/// The API's answer to a refusal of the teams service (and to its failures).
fn refused(err: teams::Error) -> ApiError {
    use teams::Error;
    let message = err.to_string();
    match err {
        Error::Forbidden => ApiError::forbidden(message),
        Error::NotFound | Error::MemberNotFound => ApiError::not_found(),
        Error::InvalidName(m) => ApiError::invalid("name", m),
        Error::NameTaken(_) => ApiError::conflict("name_taken", message),
        Error::AlreadyInTeam { .. } => ApiError::conflict("already_in_team", message),
        Error::NotInTeam { .. } => ApiError::new(StatusCode::NOT_FOUND, "not_in_team", message),
        Error::Internal(e) => ApiError::from(e),
    }
}

/// Lists the organization's teams, by name, with their member counts. Every member.
#[utoipa::path(
    get,
    path = "/orgs/{slug}/teams",
    tag = "teams",
    params(("slug" = String, Path, description = "The organization's slug")),
    responses(
        (status = 200, description = "The teams", body = Vec<Team>),
        TokenErrors,
    )
)]
async fn list_teams(
    State(state): State<AppState>,
    member: ApiMember,
) -> ApiResult<Json<Vec<Team>>> {
    let rows = teams::list(&state, &member.acting).await.map_err(refused)?;
    Ok(Json(rows.into_iter().map(Team::from).collect()))
}

/// Creates a team. Owners and Admins.
#[utoipa::path(
    post,
    path = "/orgs/{slug}/teams",
    tag = "teams",
    params(("slug" = String, Path, description = "The organization's slug")),
    request_body = TeamName,
    responses(
        (status = 201, description = "The new team", body = Team),
        (status = 400, description = "Malformed JSON", body = ApiError),
        (status = 403, description = "Your role does not allow it", body = ApiError),
        (status = 409, description = "name_taken: another team has this name", body = ApiError),
        (status = 422, description = "An empty, long or control-character name", body = ApiError),
        TokenErrors,
    )
)]
async fn create_team(
    State(state): State<AppState>,
    member: ApiMember,
    ApiJson(body): ApiJson<TeamName>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let team = teams::create(&state, &member.acting, &body.name)
        .await
        .map_err(refused)?;
    Ok((StatusCode::CREATED, Json(team.into())))
}

/// Reads one team.
#[utoipa::path(
    get,
    path = "/orgs/{slug}/teams/{id}",
    tag = "teams",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The team's id"),
    ),
    responses(
        (status = 200, description = "The team", body = Team),
        TokenErrors,
    )
)]
async fn get_team(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<Team>> {
    let detail = teams::get(&state, &member.acting, id)
        .await
        .map_err(refused)?;
    Ok(Json(detail.team.into()))
}

/// Renames a team. Owners and Admins.
#[utoipa::path(
    patch,
    path = "/orgs/{slug}/teams/{id}",
    tag = "teams",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The team's id"),
    ),
    request_body = TeamName,
    responses(
        (status = 200, description = "The team, renamed", body = Team),
        (status = 400, description = "Malformed JSON", body = ApiError),
        (status = 403, description = "Your role does not allow it", body = ApiError),
        (status = 409, description = "name_taken: another team has this name", body = ApiError),
        (status = 422, description = "An empty, long or control-character name", body = ApiError),
        TokenErrors,
    )
)]
async fn rename_team(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<TeamName>,
) -> ApiResult<Json<Team>> {
    let team = teams::rename(&state, &member.acting, id, &body.name)
        .await
        .map_err(refused)?;
    Ok(Json(team.into()))
}

/// Deletes a team; its members stay in the organization. Owners and Admins.
#[utoipa::path(
    delete,
    path = "/orgs/{slug}/teams/{id}",
    tag = "teams",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The team's id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Your role does not allow it", body = ApiError),
        TokenErrors,
    )
)]
async fn delete_team(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
) -> ApiResult<StatusCode> {
    teams::delete(&state, &member.acting, id)
        .await
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists a team's members, by email.
#[utoipa::path(
    get,
    path = "/orgs/{slug}/teams/{id}/members",
    tag = "teams",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The team's id"),
    ),
    responses(
        (status = 200, description = "The team's members", body = Vec<TeamMember>),
        TokenErrors,
    )
)]
async fn list_team_members(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<Vec<TeamMember>>> {
    let detail = teams::get(&state, &member.acting, id)
        .await
        .map_err(refused)?;
    let items = detail
        .members
        .into_iter()
        .map(TeamMember::from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(items))
}

/// Adds a member of the organization to a team. Owners and Admins.
#[utoipa::path(
    post,
    path = "/orgs/{slug}/teams/{id}/members",
    tag = "teams",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The team's id"),
    ),
    request_body = NewTeamMember,
    responses(
        (status = 201, description = "The member, added", body = TeamMember),
        (status = 400, description = "Malformed JSON", body = ApiError),
        (status = 403, description = "Your role does not allow it", body = ApiError),
        (status = 409, description = "already_in_team", body = ApiError),
        (status = 422, description = "No member id", body = ApiError),
        TokenErrors,
    )
)]
async fn add_team_member(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<NewTeamMember>,
) -> ApiResult<(StatusCode, Json<TeamMember>)> {
    let (_, added) = teams::add_member(&state, &member.acting, id, body.member_id)
        .await
        .map_err(refused)?;
    Ok((StatusCode::CREATED, Json(TeamMember::from_row(added)?)))
}

/// Takes a member out of a team; they stay in the organization. Owners and Admins.
#[utoipa::path(
    delete,
    path = "/orgs/{slug}/teams/{id}/members/{member_id}",
    tag = "teams",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The team's id"),
        ("member_id" = i64, Path, description = "The member's id"),
    ),
    responses(
        (status = 204, description = "Removed from the team"),
        (status = 403, description = "Your role does not allow it", body = ApiError),
        TokenErrors,
    )
)]
async fn remove_team_member(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id, member_id)): ApiPath<(String, i64, i64)>,
) -> ApiResult<StatusCode> {
    teams::remove_member(&state, &member.acting, id, member_id)
        .await
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}
