//! The JSON API under `/api/v1`: a member's API token acts as that member, with their
//! role, through the same services as the pages (`members`, `invitations`). Every route
//! is registered through `utoipa_axum`, so the router and the OpenAPI document served at
//! `/api/v1/openapi.json` are built from the same declarations and cannot disagree.

mod invitations;
mod members;
mod org;
mod webhooks;

use webhooks::Webhooks;
mod teams;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use governor::clock::{Clock as _, DefaultClock};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::actor::Actor;
use crate::auth::ClientIp;
use crate::domain::Role;
use crate::state::AppState;
use crate::tokens;

/// Where the API is mounted.
pub const BASE: &str = "/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster API",
        description = "Manage an organization's members, invitations, seats and teams. Authenticate with a member's API token (created on the Account page) as `Authorization: Bearer roster_…`; the token acts as that member, with their role, under the same rules as the pages.",
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth, &Webhooks),
    security(("bearer" = [])),
    tags(
        (name = "organization", description = "The organization's settings and seats"),
        (name = "members", description = "Members: list, read, change role, deactivate, activate, remove"),
        (name = "invitations", description = "Invitations: list, create, resend, revoke"),
        (name = "teams", description = "Teams: list, create, rename, delete; add and remove their members"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API's router, to nest under `BASE`, with its OpenAPI document at `/openapi.json`.
pub fn router() -> Router<AppState> {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(org::router())
        .merge(members::router())
        .merge(invitations::router())
        .merge(teams::router())
        .split_for_parts();
    let doc = Arc::new(doc);
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_route",
                "There is no such API route; see /api/v1/openapi.json.",
            )
        })
}

/// Every error the API returns, in one shape, with the HTTP status that fits it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    /// A stable, machine-readable code, e.g. `last_owner`.
    code: &'static str,
    /// What went wrong, in words a person can act on.
    message: String,
    /// Messages for individual request fields, by field name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    fields: BTreeMap<String, String>,
    /// For a refused batch of invitations: what would have happened to each address.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<invitations::InvitationResult>>)]
    results: Option<Vec<invitations::InvitationResult>>,
    #[serde(skip)]
    retry_after: Option<u64>,
    /// The cause was a lost database connection (`crate::error::ConnectionLost`).
    #[serde(skip)]
    connection_lost: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: BTreeMap::new(),
            results: None,
            retry_after: None,
            connection_lost: false,
        }
    }

    fn not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no such resource, or your token cannot see it.",
        )
    }

    fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    /// 422 with a message on one field.
    fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        let mut error = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("The request has an invalid value: {message}"),
        );
        error.fields.insert(field.to_string(), message);
        error
    }

    fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(&self)).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"roster\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.connection_lost {
            response
                .extensions_mut()
                .insert(crate::error::ConnectionLost);
        }
        response
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> ApiError {
        tracing::error!(error = ?err, "API request failed");
        let mut error = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Roster could not finish that. Nothing was changed by the failed step; try again in a moment.",
        );
        error.connection_lost = crate::error::lost_connection(&err);
        error
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> ApiError {
        ApiError::from(anyhow::Error::from(err))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let status = match rejection {
            JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        let code = if status == StatusCode::UNPROCESSABLE_ENTITY {
            "invalid"
        } else {
            "bad_request"
        };
        ApiError::new(status, code, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            rejection.body_text(),
        )
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON request body whose problems answer in the API's error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Query parameters whose problems answer in the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters whose problems (an id that is not a number) answer 404.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> ApiError {
        ApiError::not_found()
    }
}

/// Paging of every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// The page, from 1.
    #[param(minimum = 1, default = 1)]
    page: Option<i64>,
    /// Items per page, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 50)]
    per_page: Option<i64>,
}

impl Paging {
    /// (page, per page, offset), or a 422 naming the bad parameter.
    fn resolve(&self) -> ApiResult<(i64, i64, i64)> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if page < 1 {
            return Err(ApiError::invalid("page", "page starts at 1."));
        }
        if !(1..=100).contains(&per_page) {
            return Err(ApiError::invalid(
                "per_page",
                "per_page is between 1 and 100.",
            ));
        }
        Ok((page, per_page, (page - 1).saturating_mul(per_page)))
    }
}

/// The answers any request with a token may get besides its own (for the document).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code, reason = "describes responses; the values are `ApiError`s")]
pub enum TokenErrors {
    /// No token; an unknown, revoked or expired one; or its member or account is no longer active.
    #[response(status = 401)]
    Unauthorized(ApiError),
    /// No such resource in this organization, or the token belongs to another organization.
    #[response(status = 404)]
    NotFound(ApiError),
    /// Over the token's per-minute limit; `Retry-After` says when to try again.
    #[response(status = 429)]
    RateLimited(ApiError),
}

/// A role, by its stored name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Owner,
    Admin,
    Billing,
    Member,
    Viewer,
}

impl RoleName {
    const ALL: [RoleName; 5] = [
        RoleName::Owner,
        RoleName::Admin,
        RoleName::Billing,
        RoleName::Member,
        RoleName::Viewer,
    ];

    fn role(self) -> Role {
        match self {
            RoleName::Owner => Role::Owner,
            RoleName::Admin => Role::Admin,
            RoleName::Billing => Role::Billing,
            RoleName::Member => Role::Member,
            RoleName::Viewer => Role::Viewer,
        }
    }

    /// The name of a stored role.
    fn parse(stored: &str) -> ApiResult<RoleName> {
        RoleName::ALL
            .into_iter()
            .find(|r| r.role().as_str() == stored)
            .ok_or_else(|| anyhow::anyhow!("unknown stored role {stored:?}").into())
    }
}

/// A page of a list, with the total that matches.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    items: Vec<T>,
    /// How many items match, on every page.
    total: i64,
    page: i64,
    per_page: i64,
}

/// The member an API token stands for, in the organization named by `{slug}` in the path.
/// No token, an unknown, revoked or expired one, or one whose member or account is no
/// longer active: 401. A token of another organization than the path's: 404.
pub struct ApiMember {
    pub acting: Actor,
    pub token_id: i64,
}

impl FromRequestParts<AppState> for ApiMember {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|v| v.trim().to_string())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "Send an API token as `Authorization: Bearer roster_…`. Create one on your Account page.",
                )
            })?;
        let Path(params) = Path::<BTreeMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        let slug = params.get("slug").map_or("", String::as_str);
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp("unknown".into()));
        let tokens::Authenticated { actor, token_id } =
            tokens::authenticate(state, &secret, slug, ip).await?;
        if let Some(limiter) = &state.api_limiter
            && let Err(not_until) = limiter.check_key(&token_id)
        {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests with this token; wait before sending more.",
            );
            error.retry_after = Some(wait.as_secs().max(1));
            return Err(error);
        }
        Ok(ApiMember {
            acting: actor,
            token_id,
        })
    }
}

/// The API's answer to a token refused.
impl From<tokens::Error> for ApiError {
    fn from(err: tokens::Error) -> ApiError {
        match err {
            tokens::Error::Unknown | tokens::Error::Expired | tokens::Error::MemberInactive => {
                ApiError::unauthorized(&err.to_string())
            }
            tokens::Error::NoSeat => ApiError::forbidden(err.to_string()),
            tokens::Error::TwoFactorRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "two_factor_required",
                err.to_string(),
            ),
            tokens::Error::OtherOrganization | tokens::Error::NotFound => ApiError::not_found(),
            tokens::Error::Fields(errors) => {
                ApiError::from(anyhow::anyhow!("unanswered refusal: {errors:?}"))
            }
            tokens::Error::Internal(e) => ApiError::from(e),
        }
    }
}
