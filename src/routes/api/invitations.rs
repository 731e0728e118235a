//! Invitations through the API: the same planning and creating as the invite form and
//! the CSV upload (`invitations::invite`), the same resend and revoke (`manage`).

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
use crate::domain::delivery::Delivery;
use crate::domain::invitation::Status;
use crate::invitations::{self as invite, Error, MAX_TYPED, Manage, Request, Row};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invitations, create_invitations))
        .routes(routes!(resend_invitation))
        .routes(routes!(revoke_invitation))
}

/// An invitation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    id: i64,
    email: String,
    role: RoleName,
    #[schema(example = "pending")]
    /// `pending`, `expired`, `accepted`, `declined` or `revoked`.
    status: &'static str,
    /// The inviter's name; null when they no longer have an account.
    invited_by: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339: when the latest email (or link) went out.
    last_sent_at: String,
    /// RFC 3339.
    expires_at: String,
    /// The latest email: `queued`, `sending`, `retrying` (an attempt failed; another
    /// will follow), `sent`, `failed` (given up), or `link` when email is off.
    #[schema(example = "sent")]
    delivery: &'static str,
}

impl Invitation {
    fn from_row(row: Row, now: i64) -> ApiResult<Invitation> {
        let delivery = invite::delivery(&row, now).map_or("link", Delivery::key);
        Ok(Invitation {
            id: row.id,
            role: RoleName::parse(&row.role)?,
            status: Status::of(&row.state, row.expires_at, now).as_str(),
            email: row.email,
            invited_by: row.inviter_name,
            created_at: clock::iso(row.created_at),
            last_sent_at: clock::iso(row.last_sent_at),
            expires_at: clock::iso(row.expires_at),
            delivery,
        })
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    #[default]
    Pending,
    Expired,
    Accepted,
    Declined,
    Revoked,
}

/// Which invitations to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationsQuery {
    /// Invitations in this status, newest first (default: pending).
    status: Option<InvitationStatus>,
}

/// Lists the organization's invitations in one status, newest first.
#[utoipa::path(
    get,
    path = "/orgs/{slug}/invitations",
    tag = "invitations",
    params(("slug" = String, Path, description = "The organization's slug"), InvitationsQuery, Paging),
    responses(
        (status = 200, description = "A page of invitations", body = Page<Invitation>),
        (status = 400, description = "A malformed query", body = ApiError),
        (status = 422, description = "A parameter out of range", body = ApiError),
        TokenErrors,
    )
)]
async fn list_invitations(
    State(state): State<AppState>,
    member: ApiMember,
    ApiQuery(q): ApiQuery<InvitationsQuery>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<Invitation>>> {
    let (page, per_page, offset) = paging.resolve()?;
    let status = match q.status.unwrap_or_default() {
        InvitationStatus::Pending => Status::Pending,
        InvitationStatus::Expired => Status::Expired,
        InvitationStatus::Accepted => Status::Accepted,
        InvitationStatus::Declined => Status::Declined,
        InvitationStatus::Revoked => Status::Revoked,
    };
    let org_id = member.acting.org.id;
    let now = state.clock.now();
    let (total, rows) = invite::list_window(&state, org_id, status, per_page, offset).await?;
    let items = rows
        .into_iter()
        .map(|row| Invitation::from_row(row, now))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(Page {
        items,
        total,
        page,
        per_page,
    }))
}

/// One address to invite.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InvitationRequest {
    #[schema(example = "ada@example.com")]
    email: String,
    /// Default: member.
    role: Option<RoleName>,
    /// The last day of access of the membership (`YYYY-MM-DD`, UTC, today or later):
    /// it is deactivated at the end of that day. Default: no end.
    #[schema(example = "2027-01-12")]
    access_until: Option<String>,
}

/// Addresses to invite at once.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InvitationBatch {
    /// 1 to 1,000 addresses.
    invitations: Vec<InvitationRequest>,
    /// false (default): invite all or none; any refused address refuses the batch (422).
    /// true: invite those that can be, and report the others.
    #[serde(default)]
    partial: bool,
}

/// What happened to one requested address.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct InvitationResult {
    /// The address as sent.
    email: String,
    /// `invited`; `not_sent` (could be invited, but the batch was refused); or why not:
    /// `already_member`, `already_invited`, `invalid_email`, `duplicate`,
    /// `domain_not_allowed`, `role_not_allowed`, `over_limit`.
    #[schema(example = "invited")]
    outcome: &'static str,
    /// The outcome in words.
    message: String,
    /// The invitation link, only when Roster sends no email (shown this once).
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<String>,
}

/// The batch's result: one entry per requested address, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationBatchResult {
    /// How many invitations were created.
    invited: usize,
    results: Vec<InvitationResult>,
}

/// Invites one or many addresses, through the same rules as the invite form: the
/// inviter's role, the organization's allowed domains and limits, existing members and
/// invitations. Each invitee is emailed.
#[utoipa::path(
    post,
    path = "/orgs/{slug}/invitations",
    tag = "invitations",
    params(("slug" = String, Path, description = "The organization's slug")),
    request_body = InvitationBatch,
    responses(
        (status = 201, description = "Invited (with `partial`, possibly only some)", body = InvitationBatchResult),
        (status = 400, description = "Malformed JSON", body = ApiError),
        (status = 403, description = "Your role cannot invite", body = ApiError),
        (status = 422, description = "Nothing was invited: see `results` for each address, or `fields`", body = ApiError),
        TokenErrors,
    )
)]
async fn create_invitations(
    State(state): State<AppState>,
    member: ApiMember,
    ApiJson(batch): ApiJson<InvitationBatch>,
) -> ApiResult<(StatusCode, Json<InvitationBatchResult>)> {
    let now = state.clock.now();
    let requests: Vec<Request> = batch
        .invitations
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let role = r.role.map_or(crate::domain::Role::Member, RoleName::role);
            let typed = r.access_until.as_deref().unwrap_or("");
            let until = AccessUntil::parse(typed, now)
                .map_err(|m| ApiError::invalid(&format!("invitations[{i}].access_until"), m))?;
            Ok(Request::new(r.email.trim(), role).until(until))
        })
        .collect::<ApiResult<_>>()?;
    let (plan, created, sent) =
        match invite::invite(&state, &member.acting, requests, batch.partial).await {
            Ok(invited) => (invited.plan, invited.created, true),
            Err(Error::Refused(plan)) => (plan, Vec::new(), false),
            Err(e) => return Err(e.into()),
        };
    let invited = created.len();
    let email_off = !state.mailer.is_enabled();
    let mut links = created.into_iter();
    let results: Vec<InvitationResult> = plan
        .rows
        .iter()
        .map(|row| {
            let (outcome, message, link) = match (row.outcome.is_invite(), sent) {
                (true, true) => (
                    "invited",
                    "invited".to_string(),
                    links.next().map(|c| c.link).filter(|_| email_off),
                ),
                (true, false) => (
                    "not_sent",
                    "can be invited; nothing was sent because of the other addresses".into(),
                    None,
                ),
                (false, _) => (row.outcome.code(), row.outcome.describe(), None),
            };
            InvitationResult {
                email: row.raw.clone(),
                outcome,
                message,
                link,
            }
        })
        .collect();
    if !sent {
        let mut error = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invitations_refused",
            "Nothing was sent: some addresses cannot be invited; see `results`. Send again without them, or with \"partial\": true.",
        );
        error.results = Some(results);
        return Err(error);
    }
    Ok((
        StatusCode::CREATED,
        Json(InvitationBatchResult { invited, results }),
    ))
}

/// The API's answer to each refusal of the invitations service.
impl From<Error> for ApiError {
    fn from(err: Error) -> ApiError {
        match err {
            Error::Forbidden => ApiError::forbidden("Your role cannot invite people."),
            Error::AddressCount => ApiError::invalid(
                "invitations",
                format!("Send 1 to {MAX_TYPED} addresses at once."),
            ),
            Error::NotFound => ApiError::not_found(),
            Error::Internal(e) => e.into(),
            // The others are answered by the handlers where they can happen.
            other => anyhow::anyhow!("unanswered refusal: {other}").into(),
        }
    }
}

async fn manage_one(
    state: &AppState,
    member: &ApiMember,
    id: i64,
    action: Manage,
) -> ApiResult<Json<Invitation>> {
    let org_id = member.acting.org.id;
    match invite::manage(state, &member.acting, &[id], action).await {
        Ok(_) => {}
        Err(Error::Forbidden) => {
            return Err(ApiError::forbidden(
                "Your role does not allow managing this invitation.",
            ));
        }
        Err(Error::Finished(_)) => {
            return Err(ApiError::conflict(
                "invitation_closed",
                "This invitation was already accepted, declined or revoked.",
            ));
        }
        Err(Error::OverLimit { room }) => {
            return Err(ApiError::conflict(
                "limit_reached",
                format!(
                    "Only {room} more pending invitations fit within the organization's limit."
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let row = invite::invitation(state, org_id, id).await?;
    Ok(Json(Invitation::from_row(row, state.clock.now())?))
}

/// Resends an invitation: a new link and a new expiry; the old link stops working.
#[utoipa::path(
    post,
    path = "/orgs/{slug}/invitations/{id}/resend",
    tag = "invitations",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The invitation's id"),
    ),
    responses(
        (status = 200, description = "The invitation, sent again", body = Invitation),
        (status = 403, description = "Your role does not allow it", body = ApiError),
        (status = 409, description = "invitation_closed or limit_reached", body = ApiError),
        TokenErrors,
    )
)]
async fn resend_invitation(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<Invitation>> {
    manage_one(&state, &member, id, Manage::Resend).await
}

/// Revokes an invitation, for good; the invitee is told.
#[utoipa::path(
    post,
    path = "/orgs/{slug}/invitations/{id}/revoke",
    tag = "invitations",
    params(
        ("slug" = String, Path, description = "The organization's slug"),
        ("id" = i64, Path, description = "The invitation's id"),
    ),
    responses(
        (status = 200, description = "The invitation, now revoked", body = Invitation),
        (status = 403, description = "Your role does not allow it", body = ApiError),
        (status = 409, description = "invitation_closed", body = ApiError),
        TokenErrors,
    )
)]
async fn revoke_invitation(
    State(state): State<AppState>,
    member: ApiMember,
    ApiPath((_, id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<Invitation>> {
    manage_one(&state, &member, id, Manage::Revoke).await
}
