//! The organization through the API: its settings, and assigning and revoking seats
//! through the same `members::set_seats` as the Members page.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiJson, ApiMember, ApiResult, RoleName, TokenErrors};
use crate::members;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_organization))
        .routes(routes!(assign_seats))
        .routes(routes!(revoke_seats))
}

/// Seats, when the organization limits them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Seats {
    /// How many members may hold a seat.
    total: i64,
    /// How many hold one now.
    used: i64,
}

/// The organization's settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct Settings {
    /// How long an invitation link works, in seconds.
    invitation_lifetime_secs: i64,
    max_pending_invitations: i64,
    max_members: i64,
    /// Whether Members may invite (as Member or Viewer).
    members_may_invite: bool,
    /// Invitations go only to these domains; empty allows any.
    allowed_email_domains: Vec<String>,
    /// Null when seats are off.
    seats: Option<Seats>,
}

/// The organization, as the token's member sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Organization {
    slug: String,
    name: String,
    /// The token's member's role here.
    your_role: RoleName,
    settings: Settings,
}

/// Reads the organization and its settings.
#[utoipa::path(
    get,
    path = "/orgs/{slug}",
    tag = "organization",
    params(("slug" = String, Path, description = "The organization's slug")),
    responses(
        (status = 200, description = "The organization", body = Organization),
        TokenErrors,
    )
)]
async fn get_organization(
    State(state): State<AppState>,
    member: ApiMember,
) -> ApiResult<Json<Organization>> {
    let org = &member.acting.org;
    let settings = crate::orgs::settings(&state, org.id).await?;
    let seats = match settings.seats {
        Some(total) => Some(Seats {
            total,
            used: members::seats_in_use(&state.db, &member.acting)
                .await
                .map_err(super::members::refused)?,
        }),
        None => None,
    };
    Ok(Json(Organization {
        slug: org.slug.clone(),
        name: org.name.clone(),
        your_role: RoleName::parse(member.acting.role.as_str())?,
        settings: Settings {
            invitation_lifetime_secs: settings.invitation_lifetime_secs,
            max_pending_invitations: settings.max_pending_invitations,
            max_members: settings.max_members,
            members_may_invite: settings.members_may_invite,
            allowed_email_domains: settings
                .allowed_domains()
                .into_iter()
                .map(String::from)
                .collect(),
            seats,
        },
    }))
}

/// Members whose seats to assign or revoke.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SeatChange {
    /// Member ids (1 to 1,000).
    member_ids: Vec<i64>,
}

/// Which members' seats changed; those who already had (or had no) seat are not listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeatChangeResult {
    changed: Vec<i64>,
    seats: Seats,
}

async fn set_seats(
    state: &AppState,
    member: &ApiMember,
    change: SeatChange,
    assign: bool,
) -> ApiResult<Json<SeatChangeResult>> {
    if change.member_ids.is_empty() || change.member_ids.len() > 1_000 {
        return Err(ApiError::invalid(
            "member_ids",
            "Send 1 to 1,000 member ids.",
        ));
    }
    let changed = members::set_seats(state, &member.acting, &change.member_ids, assign)
        .await
        .map_err(super::members::refused)?;
    let org_id = member.acting.org.id;
    let total = crate::orgs::settings(state, org_id)
        .await?
        .seats
        .unwrap_or(0);
    let used = members::seats_in_use(&state.db, &member.acting)
        .await
        .map_err(super::members::refused)?;
    Ok(Json(SeatChangeResult {
        changed: changed.into_iter().map(|t| t.id).collect(),
        seats: Seats { total, used },
    }))
}

/// Assigns seats to members, all or none: never past the number of seats, and only to
/// active members. Each member is emailed.
#[utoipa::path(
    post,
    path = "/orgs/{slug}/seats/assign",
    tag = "organization",
    params(("slug" = String, Path, description = "The organization's slug")),
    request_body = SeatChange,
    responses(
        (status = 200, description = "Assigned", body = SeatChangeResult),
        (status = 400, description = "Malformed JSON", body = ApiError),
        (status = 403, description = "Only Owners, Admins and Billing managers manage seats", body = ApiError),
        (status = 409, description = "seats_off, member_inactive or no_seats_left (the message says how many are left)", body = ApiError),
        (status = 422, description = "No member ids, or too many", body = ApiError),
        TokenErrors,
    )
)]
async fn assign_seats(
    State(state): State<AppState>,
    member: ApiMember,
    ApiJson(change): ApiJson<SeatChange>,
) -> ApiResult<Json<SeatChangeResult>> {
    set_seats(&state, &member, change, true).await
}

/// Revokes members' seats; their API tokens stop working at once. Each member is emailed.
#[utoipa::path(
    post,
    path = "/orgs/{slug}/seats/revoke",
    tag = "organization",
    params(("slug" = String, Path, description = "The organization's slug")),
    request_body = SeatChange,
    responses(
        (status = 200, description = "Revoked", body = SeatChangeResult),
        (status = 400, description = "Malformed JSON", body = ApiError),
        (status = 403, description = "Only Owners, Admins and Billing managers manage seats", body = ApiError),
        (status = 409, description = "seats_off", body = ApiError),
        (status = 422, description = "No member ids, or too many", body = ApiError),
        TokenErrors,
    )
)]
async fn revoke_seats(
    State(state): State<AppState>,
    member: ApiMember,
    ApiJson(change): ApiJson<SeatChange>,
) -> ApiResult<Json<SeatChangeResult>> {
    set_seats(&state, &member, change, false).await
}
