//! What every page shares: the layout's context (who is signed in, the organization
//! switcher, the CSRF token, flash messages) and the error page.

use askama::Template;
use tower_sessions::Session;

use crate::accounts::{OrgLink, User};
use crate::auth::flash::{Flash, Flashes};
use crate::auth::session;
use crate::auth::{CurrentUser, OrgMember};
use crate::domain::permissions::{self, Action};
use crate::error::Result;
use crate::orgs::Org;
use crate::state::AppState;

/// The signed-in person, as the header shows them.
#[derive(Clone, Debug)]
pub struct UserBadge {
    pub name: String,
    pub email: String,
    pub is_instance_admin: bool,
}

/// The layout's context, built once per page.
#[derive(Clone, Debug, Default)]
pub struct PageCtx {
    pub csrf: String,
    pub user: Option<UserBadge>,
    pub orgs: Vec<OrgLink>,
    pub current_org: Option<OrgLink>,
    /// Which page of the organization's navigation is shown ("members", "settings").
    pub section: &'static str,
    pub can_edit_settings: bool,
    pub can_see_audit: bool,
    pub can_manage_tokens: bool,
    /// The person is the organization's only active Owner: they are not offered Leave.
    pub sole_owner: bool,
    /// The organization's pending access requests, for an Owner or Admin's navigation.
    pub access_requests: Option<i64>,
    pub flashes: Vec<Flash>,
}

/// The status of a form page: 200, or 422 when it shows mistakes.
pub fn form_status(errors: &crate::domain::FieldErrors) -> axum::http::StatusCode {
    if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    }
}

impl PageCtx {
    /// Context for a page seen by `user` (if signed in) outside any organization.
    pub async fn load(
        state: &AppState,
        session: &Session,
        flashes: &Flashes,
        user: Option<&User>,
    ) -> Result<PageCtx> {
        let orgs = match user {
            Some(u) => crate::accounts::organizations(state, u.id).await?,
            None => Vec::new(),
        };
        Self::build(session, flashes, user, orgs, None).await
    }

    /// Context for the signed-in person's `section` page outside any organization.
    pub async fn for_user(
        state: &AppState,
        current: &CurrentUser,
        section: &'static str,
    ) -> Result<PageCtx> {
        let mut ctx = Self::load(
            state,
            &current.session,
            &current.flashes,
            Some(&current.user),
        )
        .await?;
        ctx.section = section;
        Ok(ctx)
    }

    /// Context for the `section` page of the member's organization.
    pub async fn for_org(member: &OrgMember, section: &'static str) -> Result<PageCtx> {
        let user = &member.current.user;
        let mut ctx = Self::build(
            &member.current.session,
            &member.current.flashes,
            Some(user),
            member.orgs.clone(),
            Some(&member.org),
        )
        .await?;
        ctx.section = section;
        ctx.can_edit_settings = permissions::allows(member.role, Action::EditSettings);
        ctx.can_see_audit = permissions::allows(member.role, Action::SeeAuditLog);
        ctx.can_manage_tokens = permissions::allows(member.role, Action::ManageTokens);
        ctx.sole_owner = member.sole_owner;
        ctx.access_requests = member.access_requests;
        Ok(ctx)
    }

    /// The context for `user` (None: signed out), whose organizations are `orgs`.
    async fn build(
        session: &Session,
        flashes: &Flashes,
        user: Option<&User>,
        orgs: Vec<OrgLink>,
        current_org: Option<&Org>,
    ) -> Result<PageCtx> {
        Ok(PageCtx {
            csrf: session::csrf_token(session).await?,
            user: user.map(|u| UserBadge {
                name: u.name.clone(),
                email: u.email.clone(),
                is_instance_admin: u.is_instance_admin,
            }),
            orgs,
            current_org: current_org.map(|o| OrgLink {
                slug: o.slug.clone(),
                name: o.name.clone(),
            }),
            section: "",
            can_edit_settings: false,
            can_see_audit: false,
            can_manage_tokens: false,
            sole_owner: false,
            access_requests: None,
            flashes: flashes.take(),
        })
    }

    /// True when `slug` is the organization being looked at (for the switcher).
    pub fn is_current(&self, slug: &str) -> bool {
        self.current_org.as_ref().is_some_and(|o| o.slug == slug)
    }
}

/// The error page (`pages/error.html`) for someone signed in: their header (organization
/// switcher, account menu) stays, so that a refusal is not also a dead end.
#[derive(Template)]
#[template(path = "pages/error.html")]
struct SignedInErrorPage<'a> {
    ctx: PageCtx,
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// The error page drawn for the person signed in to `session`; None when nobody is (the
/// page drawn for nobody stands).
pub async fn signed_in_error_page(
    state: &AppState,
    session: &Session,
    status: axum::http::StatusCode,
    title: &str,
    message: &str,
) -> Result<Option<String>> {
    let Some(user) = CurrentUser::from_session(state, session).await? else {
        return Ok(None);
    };
    // The flash messages are not taken: they wait for the next ordinary page.
    let ctx = PageCtx {
        csrf: session::csrf_token(session).await?,
        user: Some(UserBadge {
            name: user.name.clone(),
            email: user.email.clone(),
            is_instance_admin: user.is_instance_admin,
        }),
        orgs: crate::accounts::organizations(state, user.id).await?,
        ..PageCtx::default()
    };
    let page = SignedInErrorPage {
        ctx,
        status: status.as_u16(),
        title,
        message,
    };
    Ok(Some(page.render()?))
}

/// The flash area's content, swapped in by htmx.
#[derive(Template)]
#[template(path = "partials/flash.html")]
pub struct FlashPartial {
    pub flashes: Vec<Flash>,
}

impl FlashPartial {
    pub fn render_string(&self) -> String {
        self.render().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    /// The error page as it was drawn with the layout's own context, empty.
    #[derive(Template)]
    #[template(path = "pages/error.html")]
    struct ErrorPageWithCtx<'a> {
        ctx: PageCtx,
        status: u16,
        title: &'a str,
        message: &'a str,
    }

    #[test]
    fn the_error_page_is_any_page_for_someone_signed_out() {
        let (status, title, message) = (StatusCode::NOT_FOUND, "Page not found", "Nothing <here>.");
        let with_ctx = ErrorPageWithCtx {
            ctx: PageCtx::default(),
            status: status.as_u16(),
            title,
            message,
        }
        .render()
        .unwrap();
        assert_eq!(
            crate::error::error_page_for_test(status, title, message),
            with_ctx
        );
    }
}
