//! Members through the API: the same listing as the Members page and the same
//! `members::change` as its action menu.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    ApiError, ApiJson, ApiMember, ApiPath, ApiQuery, ApiResult, Page, Paging, RoleName, TokenErrors,
};
use crate::clock;
use crate::domain::access::AccessUntil;
use crate::domain::{AccountStatus, MemberStatus as Status, text};
use crate::members::{self, Change, Filter, Listing, MemberRow, Sort, Start, StatusFilter};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(export_members))
        .routes(routes!(get_member, remove_member))
        .routes(routes!(change_role))
        .routes(routes!(deactivate_member))
        .routes(routes!(activate_member))
        .routes(routes!(set_access_until))
}

/// A member of the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    id: i64,
    email: String,
    name: String,
    role: RoleName,
    /// `active` or `inactive`.
    #[schema(example = "active")]
    status: String,
    /// Whether the member holds a seat (when the organization limits seats).
    seat: bool,
    /// Whether the member's account has two-factor authentication on.
    two_factor: bool,
    /// `active`, or `deactivated` when an instance admin deactivated the account: it
    /// cannot sign in anywhere, whatever its membership's status.
    #[schema(example = "active")]
    account_status: String,
    /// RFC 3339.
    joined_at: String,
    /// RFC 3339; null when never active.
    last_active_at: Option<String>,
    /// `password`, or `sso` for an account that signs in with an identity provider.
    #[schema(example = "password")]
    sign_in_method: String,
    /// The identity provider's name, when `sign_in_method` is `sso`.
    #[schema(example = "Okta")]
    sign_in_provider: Option<String>,
    /// The last day of access (`YYYY-MM-DD`, UTC): the membership is deactivated at the
    /// end of that day. Null: no end.
    #[schema(example = "2027-01-12")]
    access_until: Option<String>,
    /// The names of the member's teams, by name.
    teams: Vec<String>,
}

impl Member {
    fn from_row(row: MemberRow, teams: Vec<String>) -> ApiResult<Member> {
        Ok(Member {
            teams,
            id: row.id,
            role: RoleName::parse(row.role.as_str())?,
            email: row.email,
            name: row.name,
            status: row
                .status
                .member()
                .ok_or_else(|| anyhow::anyhow!("invitation {} listed as a member", row.id))?
                .as_str()
                .to_string(),
            seat: row.has_seat,
            two_factor: row.two_factor,
            account_status: if row.account_active {
                AccountStatus::Active
            } else {
                AccountStatus::Deactivated
            }
            .as_str()
            .to_string(),
            joined_at: clock::iso(row.joined_at),
            last_active_at: row.last_active_at.map(clock::iso),
            sign_in_method: row.auth_method,
            sign_in_provider: row.sso_provider,
            access_until: row.access_until.map(|d| AccessUntil::from_stored(d).iso()),
        })
    }
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Active,
    Inactive,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberSort {
    #[default]
    Joined,
    Email,
    Name,
    LastActive,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

/// Search, filters, order and paging of the member list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// Text to find in emails and names (any case).
    q: Option<String>,
    role: Option<RoleName>,
    status: Option<MemberStatus>,
    /// `true`: members with two-factor authentication on; `false`: without it.
    two_factor: Option<bool>,
    /// A team's id: its members.
    team: Option<i64>,
    sort: Option<MemberSort>,
    order: Option<Order>,
}

impl MembersQuery {
    /// The filter and order asked for; a search with control characters is refused.
    fn parse(&self) -> ApiResult<(Filter, Sort)> {
        let q = self;
        let search =
            text::search(q.q.as_deref().unwrap_or("")).map_err(|m| ApiError::invalid("q", m))?;
        let filter = Filter {
            search: search.map(|s| s.to_lowercase()),
            role: q.role.map(RoleName::role),
            // "members" keeps pending invitations out: they have their own list.
            status: Some(match q.status {
                Some(MemberStatus::Active) => StatusFilter::Member(Status::Active),
                Some(MemberStatus::Inactive) => StatusFilter::Member(Status::Inactive),
                None => StatusFilter::Members,
            }),
            two_factor: q.two_factor,
            team: q.team,
        };
        let sort = match q.sort.unwrap_or_default() {
            MemberSort::Joined => Sort::Joined,
            MemberSort::Email => Sort::Email,
            MemberSort::Name => Sort::Name,
            MemberSort::LastActive => Sort::LastActive,
        };
        Ok((filter, sort))
    }
}

/// Lists the organization's members.
#[utoipa::path(
    get,
    path = "/orgs/{slug}/members",
    tag = "members",
    params(("slug" = String, Path, description = "The organization's slug"), MembersQuery, Paging),
    responses(
        (status = 200, description = "A page of members", body = Page<Member>),
        (status = 400, description = "A malformed query", body = ApiError),
        (status = 422, description = "A parameter out of range", body = ApiError),
        TokenErrors,
    )
)]
async fn list_members(
    State(state): State<AppState>,
    member: ApiMember,
    ApiQuery(q): ApiQuery<MembersQuery>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<Member>>> {
    let (page, per_page, offset) = paging.resolve()?;
    let (filter, sort) = q.parse()?;
    let listing = Listing {
        filter,
        sort,
        descending: matches!(q.order, Some(Order::Desc)),
        limit: per_page,
        start: Start::Offset {
            offset,
            total: None,
        },
        counted: false,
    };
    let now = state.clock.now();
    let (rows, total, mut teams) =
        members::list_by_offset(&state.db, &member.acting, now, listing, offset)
            .await
            .map_err(refused)?;
    let items = rows
        .into_iter()
        .map(|row| {
            let names = teams.remove(&row.id).unwrap_or_default();
            Member::from_row(row, names)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(Page {
        items,
        total,
        page,
        per_page,
    }))
}

/// Reads one member.
#[utoipa::path(
    get,
    path = "/orgs/{slug}/members/{id}",
    tag = "members",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The member's id"),
    ),
    responses(
        (status = 200, description = "The member", body = Member),
        TokenErrors,
    )
)]
async fn get_member(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<Member>> {
    let (row, teams) = members::find_with_teams(&state.db, &member.acting, id)
        .await
        .map_err(refused)?;
    Ok(Json(Member::from_row(row, teams)?))
}

/// Makes a change through the same rules as the Members page, and returns the member
/// as they are afterwards (None once removed).
async fn make(
    state: &AppState,
    member: &ApiMember,
    id: i64,
    change: Change,
) -> ApiResult<Option<Member>> {
    members::change(state, &member.acting, id, &change)
        .await
        .map_err(refused)?;
    // The member as the change left them, to answer with (a read after the commit).
    match members::find_with_teams(&state.db, &member.acting, id).await {
        Ok((row, teams)) => Ok(Some(Member::from_row(row, teams)?)),
        Err(members::Error::NotFound) => Ok(None),
        Err(err) => Err(refused(err)),
    }
}

/// The API's answer to a refusal of the members service (and to its failures).
pub(super) fn refused(err: members::Error) -> ApiError {
    use members::Error;
    let message = err.to_string();
    match err {
        Error::NotFound | Error::SomeNotFound => ApiError::not_found(),
        Error::Forbidden | Error::SeatsForbidden => ApiError::forbidden(message),
        Error::Own => ApiError::new(StatusCode::FORBIDDEN, "own_membership", message),
        Error::NotActive { .. } | Error::NotActiveAccess { .. } | Error::Inactive(_) => {
            ApiError::conflict("member_inactive", message)
        }
        Error::LastOwner { .. } | Error::LastOwnerLeaving { .. } => {
            ApiError::conflict("last_owner", message)
        }
        Error::LastLastingOwner { .. } => ApiError::conflict("last_lasting_owner", message),
        Error::Unchanged { .. } => ApiError::conflict("unchanged", message),
        Error::EmailMismatch { .. } => ApiError::invalid("email", message),
        Error::NoneSelected => ApiError::invalid("member_ids", message),
        Error::SeatsOff => ApiError::conflict("seats_off", message),
        Error::NoRoom { .. } => ApiError::conflict("no_seats_left", message),
        Error::Internal(err) => ApiError::from(err),
    }
}

fn changed(member: Option<Member>) -> ApiResult<Json<Member>> {
    member.map(Json).ok_or_else(ApiError::not_found)
}

/// The new role.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleChange {
    role: RoleName,
}

/// Changes a member's role. Nobody changes their own role or gives a role above what
/// their own role may grant; the last active Owner keeps theirs. The member is emailed.
#[utoipa::path(
    post,
    path = "/orgs/{slug}/members/{id}/role",
    tag = "members",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The member's id"),
    ),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The member with the new role", body = Member),
        (status = 400, description = "Malformed JSON", body = ApiError),
        (status = 403, description = "Your role does not allow it, or it is your own membership", body = ApiError),
        (status = 409, description = "last_owner, member_inactive or unchanged", body = ApiError),
        (status = 422, description = "Not a role", body = ApiError),
        TokenErrors,
    )
)]
async fn change_role(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<RoleChange>,
) -> ApiResult<Json<Member>> {
    changed(make(&state, &member, id, Change::Role(body.role.role())).await?)
}

/// Deactivates a member: they can no longer open the organization, and their API
/// tokens stop working. The member is emailed.
#[utoipa::path(
    post,
    path = "/orgs/{slug}/members/{id}/deactivate",
    tag = "members",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The member's id"),
    ),
    responses(
        (status = 200, description = "The member, now inactive", body = Member),
        (status = 403, description = "Your role does not allow it, or it is your own membership", body = ApiError),
        (status = 409, description = "last_owner or unchanged", body = ApiError),
        TokenErrors,
    )
)]
async fn deactivate_member(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<Member>> {
    changed(make(&state, &member, id, Change::Deactivate).await?)
}

/// Activates an inactive member again. The member is emailed.
#[utoipa::path(
    post,
    path = "/orgs/{slug}/members/{id}/activate",
    tag = "members",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The member's id"),
    ),
    responses(
        (status = 200, description = "The member, now active", body = Member),
        (status = 403, description = "Your role does not allow it, or it is your own membership", body = ApiError),
        (status = 409, description = "unchanged: already active", body = ApiError),
        TokenErrors,
    )
)]
async fn activate_member(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<Member>> {
    changed(make(&state, &member, id, Change::Activate).await?)
}

/// When a member's access ends.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AccessChange {
    /// The last day of access, `YYYY-MM-DD` (UTC), today or later; null for no end.
    #[schema(example = "2027-01-12")]
    access_until: Option<String>,
}

/// Sets the last day of a member's access, or (null) removes it. Seven days before, the
/// member and whoever invited them (or the Owners) are emailed; at the end of the day
/// the membership is deactivated, its API tokens end, and both are emailed. The last
/// Owner without an end date cannot be given one.
#[utoipa::path(
    post,
    path = "/orgs/{slug}/members/{id}/access",
    tag = "members",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The member's id"),
    ),
    request_body = AccessChange,
    responses(
        (status = 200, description = "The member with the new date", body = Member),
        (status = 400, description = "Malformed JSON", body = ApiError),
        (status = 403, description = "Your role does not allow it, or it is your own membership", body = ApiError),
        (status = 409, description = "last_lasting_owner, member_inactive or unchanged", body = ApiError),
        (status = 422, description = "Not a date, or a date in the past", body = ApiError),
        TokenErrors,
    )
)]
async fn set_access_until(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<AccessChange>,
) -> ApiResult<Json<Member>> {
    let typed = body.access_until.as_deref().unwrap_or("");
    let day = AccessUntil::parse(typed, state.clock.now())
        .map_err(|m| ApiError::invalid("access_until", m))?;
    changed(make(&state, &member, id, Change::AccessUntil(day)).await?)
}

/// The removal's confirmation: the member's email, as on the page.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RemoveConfirmation {
    /// The member's email (any case), confirming which member is removed.
    #[schema(example = "ada@example.com")]
    email: String,
}

/// Removes a member from the organization, confirmed by their email. Their API tokens
/// end with the membership; they are emailed and may be invited again.
#[utoipa::path(
    delete,
    path = "/orgs/{slug}/members/{id}",
    tag = "members",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The member's id"),
    ),
    request_body = RemoveConfirmation,
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Malformed JSON", body = ApiError),
        (status = 403, description = "Your role does not allow it, or it is your own membership", body = ApiError),
        (status = 409, description = "last_owner", body = ApiError),
        (status = 422, description = "The email is not the member's", body = ApiError),
        TokenErrors,
    )
)]
async fn remove_member(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<RemoveConfirmation>,
) -> ApiResult<StatusCode> {
    let change = Change::Remove {
        typed_email: body.email,
    };
    make(&state, &member, id, change).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Exports the organization's members as CSV, with the list's filters and order (no
/// paging): email, name, role, status, seat, two_factor, sign_in_method, joined,
/// last_active, teams (names joined with "; "). Owners, Admins and Billing managers;
/// audited.
#[utoipa::path(
    get,
    path = "/orgs/{slug}/members.csv",
    tag = "members",
    params(("slug" = String, Path, description = "The organization's slug"), MembersQuery),
    responses(
        (status = 200, description = "Every member the filters keep, streamed", content_type = "text/csv", body = String),
        (status = 400, description = "A malformed query", body = ApiError),
        TokenErrors,
    )
)]
async fn export_members(
    State(state): State<AppState>,
    member: ApiMember,
    ApiQuery(q): ApiQuery<MembersQuery>,
) -> ApiResult<axum::response::Response> {
    let (filter, sort) = q.parse()?;
    let export = members::export(
        &state,
        &member.acting,
        filter,
        sort,
        matches!(q.order, Some(Order::Desc)),
        "",
    )
    .await
    .map_err(refused)?;
    Ok(crate::routes::csv_download::download(
        &format!("members-{}.csv", member.acting.org.slug),
        &crate::routes::members::EXPORT_HEADER,
        export.rows,
        export.finished,
        crate::routes::members::export_fields,
    ))
}
