//! Extractors that authorize a request before the handler runs.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;
use tower_sessions::Session;

use super::flash::Flashes;
use super::session;
use super::store::{self, SessionUsers, Store};
use crate::actor::{Actor, Person};
use crate::db::orgs::{Org, OrgLink};
use crate::db::{self, audit, memberships::Membership, users::User};
use crate::domain::{MemberStatus, Role, settings::OrgSettings};
use crate::error::AppError;
use crate::state::AppState;

/// The client's address, as seen on the connection.
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(ClientIp(ip))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for session::Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        Ok(session::Client::new(&ip, user_agent(parts)))
    }
}

/// The request's `User-Agent` header, if it is text.
fn user_agent(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

/// A signed-in, active user whose session has not been ended by a later change.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: User,
    pub session: Session,
    pub flashes: Flashes,
    pub ip: String,
    /// The request's `User-Agent` header, as a session records it (`session::Client`).
    pub user_agent: Option<String>,
}

impl CurrentUser {
    /// The user as the services see them, outside any one organization.
    pub fn person(&self) -> Person {
        Person {
            user: self.user.clone(),
            audit: self.actor(),
        }
    }

    /// The browser of the request, as a session records it.
    pub fn client(&self) -> session::Client {
        session::Client::new(&self.ip, self.user_agent.as_deref())
    }

    /// The user as the actor of an audit event.
    pub fn actor(&self) -> audit::Actor {
        audit::Actor {
            user_id: Some(self.user.id),
            email: Some(self.user.email.clone()),
            ip: Some(self.ip.clone()),
        }
    }

    /// Finds the signed-in user of a session, if it is still valid.
    pub async fn from_session(
        state: &AppState,
        session: &Session,
    ) -> Result<Option<User>, AppError> {
        let Some((user_id, signed_in_at)) = session::signed_in(session).await? else {
            return Ok(None);
        };
        let user = db::users::find(&state.db, user_id).await?;
        Ok(user.filter(|u| Self::session_is_valid(u, signed_in_at)))
    }

    /// Whether a session signed in at `signed_in_at` still stands for `user`: the account
    /// is active and no later change (password, deactivation) ended its sessions.
    fn session_is_valid(user: &User, signed_in_at: i64) -> bool {
        user.is_active() && signed_in_at >= user.sessions_valid_after
    }
}

impl CurrentUser {
    /// The request's session and its signed-in user; with `slug`, also that organization
    /// and the user's membership in it, read with the user in one query.
    async fn extract(
        parts: &mut Parts,
        state: &AppState,
        slug: Option<&str>,
    ) -> Result<(CurrentUser, Option<db::users::InOrg>), AppError> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| AppError::Other(anyhow::anyhow!(msg)))?;
        let flashes = Flashes::from_request_parts(parts, state).await?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp("unknown".into()));
        let now = state.clock.now();
        // A session seen before is read with its account and the organization, in one
        // query; its record then answers the session's first read.
        let mut preloaded = None;
        if let (Some(slug), Some(id)) = (slug, session.id())
            && let Some(user_id) = state.extension::<SessionUsers>().user_of(id)
            && let Some(in_org) =
                db::users::find_in_org(&state.db, user_id, slug, now, Some(&id.to_string())).await?
            && let Some(record) = in_org.session_data.as_deref().and_then(store::decode)
        {
            preloaded = Some((record, in_org));
        }
        let (signed_in, preloaded) = match preloaded {
            Some((record, in_org)) => (
                Store::preloaded(record, session::signed_in(&session)).await?,
                Some(in_org),
            ),
            None => (session::signed_in(&session).await?, None),
        };
        let found = match signed_in {
            None => None,
            Some((user_id, signed_in_at)) => {
                let found = match (slug, preloaded) {
                    (Some(_), Some(in_org)) if in_org.user.id == user_id => {
                        Some((in_org.user.clone(), Some(in_org)))
                    }
                    (Some(slug), _) => {
                        if let Some(id) = session.id() {
                            state.extension::<SessionUsers>().remember(id, user_id);
                        }
                        db::users::find_in_org(&state.db, user_id, slug, now, None)
                            .await?
                            .map(|in_org| (in_org.user.clone(), Some(in_org)))
                    }
                    (None, _) => db::users::find(&state.db, user_id)
                        .await?
                        .map(|user| (user, None)),
                };
                found.filter(|(u, _)| Self::session_is_valid(u, signed_in_at))
            }
        };
        match found {
            Some((user, in_org)) => {
                session::keep_alive(&session, now).await?;
                session::seen(state, &session, now).await?;
                Ok((
                    CurrentUser {
                        user,
                        session,
                        flashes,
                        ip,
                        user_agent: user_agent(parts).map(str::to_string),
                    },
                    in_org,
                ))
            }
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_string();
                Err(AppError::SignInRequired { next })
            }
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(CurrentUser::extract(parts, state, None).await?.0)
    }
}

/// The signed-in user as an active member of the organization named by `{slug}` in the
/// path. Anything else — unknown slug, no membership, an inactive one — is a 404, so
/// that organizations cannot be discovered.
#[derive(Clone, Debug)]
pub struct OrgMember {
    pub current: CurrentUser,
    pub org: Org,
    /// The organization's settings, as read with the membership.
    pub settings: OrgSettings,
    /// The organization's kept counts, as read with the membership: (members, invitations
    /// pending and not expired).
    pub counts: (i64, i64),
    /// The member's organizations, for the switcher.
    pub orgs: Vec<OrgLink>,
    pub membership: Membership,
    pub role: Role,
    /// Whether the member is the organization's only active Owner (who may not leave).
    pub sole_owner: bool,
    /// The organization's pending access requests, when the member decides them.
    pub access_requests: Option<i64>,
}

impl FromRequestParts<AppState> for OrgMember {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let slug = params.get("slug").ok_or(AppError::NotFound)?;
        // No slug holds a control character; PostgreSQL would refuse a NUL in the query.
        if slug.chars().any(crate::domain::text::is_control) {
            return Err(AppError::NotFound);
        }
        let missing = || {
            AppError::Missing(format!(
                "There is no organization at /orgs/{slug}, or you are not a member of it."
            ))
        };
        let (current, in_org) = CurrentUser::extract(parts, state, Some(slug)).await?;
        let sole_owner = in_org.as_ref().is_some_and(|o| o.other_owners == Some(0));
        let in_org = in_org.ok_or_else(missing)?;
        let access_requests = in_org.access_requests;
        let (org, settings) = in_org.org().ok_or_else(missing)?;
        let counts = in_org.counts().ok_or_else(missing)?;
        let orgs = in_org
            .org_links()
            .map_err(|e| AppError::Other(anyhow::anyhow!(e)))?;
        let membership = match (in_org.membership_id, in_org.role, in_org.member_status) {
            (Some(id), Some(role), Some(status)) => Membership {
                id,
                role: Role::try_from(role).map_err(anyhow::Error::from)?,
                status: MemberStatus::try_from(status).map_err(anyhow::Error::from)?,
                last_active_at: in_org.last_active_at,
            },
            _ => return Err(missing()),
        };
        if !membership.status.is_active() {
            return Err(missing());
        }
        if settings.require_two_factor && !current.user.has_two_factor() {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            return Err(AppError::TwoFactorRequired { next });
        }
        let now = state.clock.now();
        if membership.last_active_at.is_none_or(|at| at <= now - 60) {
            db::memberships::touch(&state.db, membership.id, now).await?;
        }
        let role = membership.role;
        Ok(OrgMember {
            current,
            org,
            settings,
            counts,
            orgs,
            sole_owner: role == Role::Owner && sole_owner,
            access_requests,
            membership,
            role,
        })
    }
}

impl OrgMember {
    /// The member as the services see them.
    pub fn acting(&self) -> Actor {
        Actor::member(
            self.org.clone(),
            self.current.user.clone(),
            self.role,
            self.current.actor(),
        )
    }
}

/// The signed-in user as an instance admin (the operator of this Roster). A signed-in
/// user who is not one gets a 403; without a session, the sign-in page.
#[derive(Clone, Debug)]
pub struct InstanceAdmin(pub CurrentUser);

impl FromRequestParts<AppState> for InstanceAdmin {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        if current.user.is_instance_admin {
            Ok(InstanceAdmin(current))
        } else {
            Err(AppError::Refused(
                "Only instance admins, who run this Roster installation, can open this page."
                    .into(),
            ))
        }
    }
}
