//! API tokens in lists: every member's tokens on the organization's "API tokens" page
//! (Owners and Admins), and revoking one from there. A person's own tokens are on the
//! Account page (`routes::account`).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::pages::PageCtx;
use crate::auth::{CurrentUser, OrgMember};
use crate::clock;
use crate::domain::permissions::{self, Action};
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::tokens;
use crate::tokens::Listed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orgs/{slug}/tokens", get(list_tokens))
        .route("/orgs/{slug}/tokens/{id}/revoke", post(revoke_org_token))
}

/// A time as a table cell shows it: relative, with the exact time on hover.
pub struct When {
    pub relative: String,
    pub exact: String,
    pub iso: String,
}

impl When {
    pub fn new(now: i64, at: i64) -> When {
        When {
            relative: clock::relative(now, at),
            exact: clock::exact(at),
            iso: clock::iso(at),
        }
    }
}

/// One token as a list shows it.
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub member: String,
    pub org_name: String,
    pub created: When,
    pub last_used: Option<When>,
    pub expires: Option<When>,
    pub expired: bool,
}

impl TokenView {
    pub fn new(t: Listed, now: i64) -> TokenView {
        TokenView {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            member: t.user_email,
            org_name: t.org_name,
            created: When::new(now, t.created_at),
            last_used: t.last_used_at.map(|at| When::new(now, at)),
            expires: t.expires_at.map(|at| When::new(now, at)),
            expired: t.expires_at.is_some_and(|at| at <= now),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/org_tokens.html")]
struct OrgTokensPage {
    ctx: PageCtx,
    org_name: String,
    tokens: Vec<TokenView>,
    revoke_base: String,
}

/// Why a member who is neither Owner nor Admin cannot see the organization's tokens.
const TOKENS_REFUSED: &str = "Only Owners and Admins can manage the organization’s API tokens.";

async fn list_tokens(State(state): State<AppState>, member: OrgMember) -> Result<OrgTokensPage> {
    if !permissions::allows(member.role, Action::ManageTokens) {
        return Err(AppError::Refused(TOKENS_REFUSED.into()));
    }
    let now = state.clock.now();
    let tokens = tokens::of_org(&state, member.org.id)
        .await?
        .into_iter()
        .map(|t| TokenView::new(t, now))
        .collect();
    Ok(OrgTokensPage {
        ctx: PageCtx::for_org(&member, "tokens").await?,
        org_name: member.org.name.clone(),
        tokens,
        revoke_base: format!("/orgs/{}/tokens", member.org.slug),
    })
}

/// Revokes a token and says so in a flash message on the next page.
pub async fn revoke_and_flash(
    state: &AppState,
    current: &CurrentUser,
    id: i64,
    org_id: Option<i64>,
) -> Result<()> {
    let revoked = tokens::revoke(state, &current.person(), id, org_id).await?;
    let text = format!(
        "Revoked the API token \u{201c}{}\u{201d} of {}. It no longer works.",
        revoked.name, revoked.user_email
    );
    current.flashes.add("success", text);
    Ok(())
}

async fn revoke_org_token(
    State(state): State<AppState>,
    member: OrgMember,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response> {
    if !permissions::allows(member.role, Action::ManageTokens) {
        return Err(AppError::Refused(TOKENS_REFUSED.into()));
    }
    revoke_and_flash(&state, &member.current, id, Some(member.org.id)).await?;
    Ok(Redirect::to(&format!("/orgs/{slug}/tokens")).into_response())
}
