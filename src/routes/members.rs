//! The Members page of an organization.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;

use super::pages::PageCtx;
use crate::auth::OrgMember;
use crate::clock;
use crate::db::{self, memberships::MemberRow};
use crate::domain::Role;
use crate::domain::permissions;
use crate::error::Result;
use crate::state::AppState;

pub const PAGE_SIZE: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new().route("/orgs/{slug}/members", get(list_members))
}

/// One member as the table shows them.
struct MemberView {
    email: String,
    name: String,
    role: &'static str,
    status: &'static str,
    status_key: &'static str,
    joined: String,
    joined_exact: String,
    joined_iso: String,
    is_you: bool,
}

impl MemberView {
    fn new(row: MemberRow, now: i64, you: &str) -> MemberView {
        MemberView {
            is_you: row.email.eq_ignore_ascii_case(you),
            role: row.role.parse::<Role>().map_or("Unknown", Role::label),
            status: match row.status.as_str() {
                "active" => "Active",
                "invited" => "Pending invitation",
                _ => "Inactive",
            },
            status_key: match row.status.as_str() {
                "active" => "active",
                "invited" => "invited",
                _ => "inactive",
            },
            joined: clock::relative(now, row.joined_at),
            joined_exact: clock::exact(row.joined_at),
            joined_iso: clock::iso(row.joined_at),
            email: row.email,
            name: row.name,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/members.html")]
struct MembersPage {
    ctx: PageCtx,
    org_name: String,
    your_role: &'static str,
    members: Vec<MemberView>,
    member_count: i64,
    can_invite: bool,
    pending: i64,
    page: i64,
    pages: i64,
    slug: String,
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<i64>,
}

async fn list_members(
    State(state): State<AppState>,
    member: OrgMember,
    Query(q): Query<ListQuery>,
) -> Result<MembersPage> {
    let (member_count, pending) =
        db::memberships::count_rows(&state.db, member.org.id, state.clock.now()).await?;
    let total = member_count + pending;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let rows = db::memberships::list(
        &state.db,
        member.org.id,
        state.clock.now(),
        PAGE_SIZE,
        (page - 1) * PAGE_SIZE,
    )
    .await?;
    let now = state.clock.now();
    let you = member.current.user.email.clone();
    let settings = db::orgs::settings(&state.db, member.org.id).await?;
    let can_invite =
        !permissions::invitable_roles(member.role, settings.members_may_invite).is_empty();
    let ctx = PageCtx::for_org(&state, &member, "members").await?;
    Ok(MembersPage {
        ctx,
        org_name: member.org.name.clone(),
        your_role: member.role.label(),
        members: rows
            .into_iter()
            .map(|r| MemberView::new(r, now, &you))
            .collect(),
        member_count,
        can_invite,
        pending,
        page,
        pages,
        slug: member.org.slug,
    })
}
