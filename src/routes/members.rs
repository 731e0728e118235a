//! The Members page of an organization, its per-member actions (change role, deactivate
//! and activate, remove) and leaving the organization.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_htmx::{HxRequest, HxTarget};
use serde::Deserialize;

use super::pages::PageCtx;
use crate::auth::{OrgMember, session};
use crate::clock;
use crate::db::{
    self,
    memberships::{Cursor, Filter, Listing, MemberRow, Sort, Start, Target},
};
use crate::domain::permissions::{self, Action};
use crate::domain::{FieldErrors, Role, text};
use crate::error::{AppError, Result};
use crate::members::{self, Allowed, Change, Refusal};
use crate::state::AppState;

pub const PAGE_SIZE: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orgs/{slug}/members", get(list_members))
        .route(
            "/orgs/{slug}/members/{id}/role",
            get(confirm_change_role).post(change_role),
        )
        .route(
            "/orgs/{slug}/members/{id}/{status}",
            get(confirm_set_status).post(set_status),
        )
        .route(
            "/orgs/{slug}/members/{id}/remove",
            get(confirm_remove_member).post(remove_member),
        )
        .route("/orgs/{slug}/members/seats", post(manage_seats))
        .route(
            "/orgs/{slug}/leave",
            get(confirm_leave).post(leave_organization),
        )
}

/// One row as the table shows it, with the actions the viewer may take on it.
struct MemberView {
    id: i64,
    is_invitation: bool,
    email: String,
    name: String,
    role: &'static str,
    status: &'static str,
    status_key: &'static str,
    joined: String,
    joined_exact: String,
    joined_iso: String,
    last_active: Option<(String, String, String)>,
    auth_method: &'static str,
    is_you: bool,
    allowed: Allowed,
    manage_invitation: bool,
    is_active: bool,
    has_seat: bool,
    /// "assign" or "revoke" when seats are on and the viewer may change this row's.
    seat_action: Option<&'static str>,
}

impl MemberView {
    fn new(row: MemberRow, now: i64, viewer: &OrgMember, seats_managed: bool) -> MemberView {
        let role = row.role.parse::<Role>().ok();
        let is_you =
            !row.is_invitation() && row.email.eq_ignore_ascii_case(&viewer.current.user.email);
        let allowed = match (row.is_invitation(), role) {
            (false, Some(role)) => Allowed::for_row(viewer.role, role, is_you),
            _ => Allowed::default(),
        };
        let own = row.invited_by == Some(viewer.current.user.id);
        let manage_invitation = row.is_invitation()
            && role.is_some_and(|role| {
                permissions::allows(viewer.role, Action::ManageInvitation { role, own })
            });
        let (status, status_key) = match row.status.as_str() {
            "active" => ("Active", "active"),
            "invited" => ("Pending invitation", "invited"),
            _ => ("Inactive", "inactive"),
        };
        let seat_action = match (seats_managed && !row.is_invitation(), row.has_seat) {
            (false, _) => None,
            (true, true) => Some("revoke"),
            (true, false) => (row.status == "active").then_some("assign"),
        };
        MemberView {
            id: row.id,
            has_seat: row.has_seat,
            seat_action,
            is_invitation: row.is_invitation(),
            is_you,
            allowed,
            manage_invitation,
            is_active: row.status == "active",
            role: role.map_or("Unknown", Role::label),
            status,
            status_key,
            joined: clock::relative(now, row.joined_at),
            joined_exact: clock::exact(row.joined_at),
            joined_iso: clock::iso(row.joined_at),
            last_active: row
                .last_active_at
                .map(|at| (clock::relative(now, at), clock::exact(at), clock::iso(at))),
            auth_method: match row.auth_method.as_str() {
                "" => "",
                "password" => "Password",
                _ => "Other",
            },
            email: row.email,
            name: row.name,
        }
    }

    fn has_actions(&self) -> bool {
        self.allowed.change_role
            || self.allowed.manage
            || self.manage_invitation
            || self.seat_action.is_some()
    }
}

/// The query of the Members page: search, filters, order and page.
#[derive(Clone, Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    dir: String,
    page: Option<i64>,
    /// A "Next" link's cursor: the rows after this one.
    after: Option<String>,
    /// A "Previous" link's cursor: the rows before this one.
    before: Option<String>,
}

impl ListQuery {
    /// The listing asked for, without its start, and the page number asked for.
    fn listing(&self) -> Result<(Listing, i64)> {
        let search = text::search(&self.q).map_err(AppError::BadRequest)?;
        let filter = Filter {
            search: search.map(|s| s.to_lowercase()),
            role: self.role.parse().ok(),
            status: ["active", "inactive", "invited"]
                .into_iter()
                .find(|s| *s == self.status),
        };
        let sort = Sort::parse(&self.sort).unwrap_or_default();
        let listing = Listing {
            filter,
            sort,
            descending: self.dir == "desc",
            limit: PAGE_SIZE,
            start: Start::Offset {
                offset: 0,
                total: None,
            },
            counted: false,
        };
        // No organization has a billion pages; the bound keeps the offset far from overflow.
        Ok((listing, self.page.unwrap_or(1).clamp(1, 1_000_000_000)))
    }

    /// Where a "Next" or "Previous" link says the page starts, if it does.
    fn cursor(&self, sort: Sort) -> Option<Start> {
        match (&self.after, &self.before) {
            (Some(after), _) => Cursor::parse(after, sort).map(Start::After),
            (None, Some(before)) => Cursor::parse(before, sort).map(Start::Before),
            (None, None) => None,
        }
    }
}

/// The table, its counts and its pagination: what a search or filter swaps.
struct Results {
    slug: String,
    org_name: String,
    rows: Vec<MemberView>,
    matching: i64,
    page: i64,
    pages: i64,
    /// The current query string without `page` and `sort`/`dir`, for links.
    filters: String,
    /// The first and the last row's places, for the "Previous" and "Next" links.
    first: Option<String>,
    last: Option<String>,
    sort: &'static str,
    descending: bool,
    csrf: String,
    /// The organization's seats, when it limits them, and how many are assigned.
    seats: Option<(i64, i64)>,
    /// Whether the viewer assigns and revokes seats (seats on, and their role allows).
    seats_managed: bool,
}

impl Results {
    /// The link that sorts by `key`: ascending, or the other way if it is the current order.
    fn sort_href(&self, key: &str) -> String {
        let dir = if self.sort == key && !self.descending {
            "desc"
        } else {
            "asc"
        };
        format!(
            "/orgs/{}/members?{}sort={key}&dir={dir}",
            self.slug, self.filters
        )
    }

    fn aria_sort(&self, key: &str) -> &'static str {
        match (self.sort == key, self.descending) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        }
    }

    fn page_href(&self, page: i64) -> String {
        format!(
            "/orgs/{}/members?{}sort={}&dir={}&page={page}",
            self.slug,
            self.filters,
            self.sort,
            if self.descending { "desc" } else { "asc" }
        )
    }

    fn first_href(&self) -> String {
        self.page_href(1)
    }

    fn last_href(&self) -> String {
        self.page_href(self.pages)
    }

    /// The "Previous" link: the page before this one's first row.
    fn prev_href(&self) -> String {
        match &self.first {
            Some(first) => format!("{}&before={}", self.page_href(self.page - 1), encode(first)),
            None => self.page_href(self.page - 1),
        }
    }

    /// The "Next" link: the page after this one's last row.
    fn next_href(&self) -> String {
        match &self.last {
            Some(last) => format!("{}&after={}", self.page_href(self.page + 1), encode(last)),
            None => self.page_href(self.page + 1),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/members.html")]
struct MembersPage {
    ctx: PageCtx,
    r: Results,
    q: ListQuery,
    member_count: i64,
    pending: i64,
    your_role: &'static str,
    can_invite: bool,
    roles: [Role; 5],
    sorts: [(&'static str, &'static str); 4],
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/members_results.html")]
struct MembersResults {
    r: Results,
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn pages_of(matching: i64) -> i64 {
    ((matching + PAGE_SIZE - 1) / PAGE_SIZE).max(1)
}

/// A page of the Members page, as found for its query.
struct Found {
    rows: Vec<MemberRow>,
    /// How many rows match the query in all.
    matching: i64,
    /// The page's number, within the pages there are.
    page: i64,
    listing: Listing,
}

/// Finds the page `q` asks for. A search counts its matches in the query of its page
/// (finding them is its cost) and goes by page number; otherwise the counts come first
/// (`kept`, the organization's, when nothing is filtered), then the page: after or
/// before a "Next" or "Previous" link's cursor, or by its number.
async fn find_page(
    state: &AppState,
    org_id: i64,
    kept: (i64, i64),
    now: i64,
    q: &ListQuery,
) -> Result<Found> {
    let db = &state.db;
    let (mut listing, page) = q.listing()?;
    let by_page = |page: i64, total: Option<i64>| Start::Offset {
        offset: (page - 1) * PAGE_SIZE,
        total,
    };
    if listing.filter.search.is_some() {
        listing.counted = true;
        listing.start = by_page(page, None);
        let rows = db::memberships::list(db, org_id, now, &listing).await?;
        if let Some(matching) = rows.first().and_then(|row| row.matching) {
            return Ok(Found {
                rows,
                matching,
                page,
                listing,
            });
        }
        // No rows on the first page: none match. On a later one: none match, or the
        // page is past the last one.
        let matching = if page == 1 {
            0
        } else {
            let (members, invitations) =
                db::memberships::count_filtered(db, org_id, now, &listing.filter).await?;
            members + invitations
        };
        let last = pages_of(matching);
        let rows = if page > last && matching > 0 {
            listing.start = by_page(last, None);
            db::memberships::list(db, org_id, now, &listing).await?
        } else {
            rows
        };
        return Ok(Found {
            rows,
            matching,
            page: page.min(last),
            listing,
        });
    }
    let (members, invitations) = if listing.filter == Filter::default() {
        kept
    } else {
        db::memberships::count_filtered(db, org_id, now, &listing.filter).await?
    };
    let matching = members + invitations;
    let mut page = page.min(pages_of(matching));
    let mut rows = Vec::new();
    if let Some(start) = q.cursor(listing.sort) {
        let before = matches!(start, Start::Before(_));
        listing.start = start;
        rows = db::memberships::list(db, org_id, now, &listing).await?;
        // Fewer rows than a page before the cursor: this is the first page. None
        // after it: the rows changed under the link, so go by the page number.
        if before && (rows.len() as i64) < PAGE_SIZE {
            page = 1;
            rows.clear();
        }
    }
    if rows.is_empty() {
        listing.start = by_page(page, Some(matching));
        rows = db::memberships::list(db, org_id, now, &listing).await?;
    }
    Ok(Found {
        rows,
        matching,
        page,
        listing,
    })
}

async fn list_members(
    State(state): State<AppState>,
    member: OrgMember,
    HxTarget(target): HxTarget,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    let now = state.clock.now();
    let org_id = member.org.id;
    let found = find_page(&state, org_id, member.counts, now, &q).await?;
    let Found {
        rows,
        matching,
        page,
        listing,
    } = found;
    let pages = pages_of(matching);
    // Searches page by number: their matches are found anew for each page anyway.
    let place = |row: Option<&MemberRow>| {
        row.filter(|_| !listing.counted)
            .map(|row| Cursor::of(row, listing.sort).param())
    };
    let (first, last) = (place(rows.first()), place(rows.last()));
    let ctx = PageCtx::for_org(&member, "members").await?;
    let settings = &member.settings;
    let seats = match settings.seats {
        Some(seats) => Some((
            db::memberships::count_seats(&state.db, org_id).await?,
            seats,
        )),
        None => None,
    };
    let seats_managed = seats.is_some() && permissions::allows(member.role, Action::ManageSeats);
    let filters = [("q", q.q.trim()), ("role", &q.role), ("status", &q.status)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}&", encode(v)))
        .collect();
    let r = Results {
        slug: member.org.slug.clone(),
        org_name: member.org.name.clone(),
        rows: rows
            .into_iter()
            .map(|row| MemberView::new(row, now, &member, seats_managed))
            .collect(),
        matching,
        page,
        pages,
        filters,
        first,
        last,
        sort: listing.sort.as_str(),
        descending: listing.descending,
        csrf: ctx.csrf.clone(),
        seats,
        seats_managed,
    };
    if target.as_deref() == Some("members-results") {
        return Ok(MembersResults { r }.into_response());
    }
    let (member_count, pending) = member.counts;
    let can_invite =
        !permissions::invitable_roles(member.role, settings.members_may_invite).is_empty();
    Ok(MembersPage {
        ctx,
        r,
        q,
        member_count,
        pending,
        your_role: member.role.label(),
        can_invite,
        roles: Role::ALL,
        sorts: [
            ("joined", "Joined"),
            ("email", "Email"),
            ("name", "Name"),
            ("active", "Last active"),
        ],
    }
    .into_response())
}

/// A confirmation of one change to one member: a `<dialog>` for htmx, a page otherwise.
/// `kind` is "role", "deactivate", "activate", "remove" or "leave".
#[derive(Template)]
#[template(path = "partials/member_dialog.html")]
struct MemberDialog {
    d: Confirm,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/member_confirm.html")]
struct MemberConfirmPage {
    ctx: PageCtx,
    d: Confirm,
}

struct Confirm {
    kind: &'static str,
    title: String,
    slug: String,
    org_name: String,
    csrf: String,
    target: Option<Target>,
    current_role: Option<Role>,
    roles: Vec<Role>,
    errors: FieldErrors,
    typed: String,
}

impl Confirm {
    fn action(&self) -> String {
        match &self.target {
            Some(t) => format!("/orgs/{}/members/{}/{}", self.slug, t.id, self.kind),
            None => format!("/orgs/{}/leave", self.slug),
        }
    }

    fn is_current(&self, role: &Role) -> bool {
        self.current_role == Some(*role)
    }

    fn email(&self) -> &str {
        self.target.as_ref().map_or("", |t| t.email.as_str())
    }
}

/// Renders a confirmation as a dialog (htmx) or a page, with `status`.
async fn render_confirm(
    member: &OrgMember,
    HxRequest(is_htmx): HxRequest,
    status: StatusCode,
    d: Confirm,
) -> Result<Response> {
    if is_htmx {
        let body = MemberDialog { d }.render()?;
        return Ok((status, axum::response::Html(body)).into_response());
    }
    let ctx = PageCtx::for_org(member, "members").await?;
    Ok((status, MemberConfirmPage { ctx, d }).into_response())
}

/// Finds the member `id` in the URL's organization and builds its confirmation, or says
/// why the viewer cannot act on them.
async fn confirmation(
    state: &AppState,
    member: &OrgMember,
    id: i64,
    kind: &'static str,
) -> Result<Confirm> {
    let target = db::memberships::target(&state.db, member.org.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let role: Role = target
        .role
        .parse()
        .map_err(|e: &str| AppError::Other(anyhow::anyhow!(e)))?;
    let allowed = Allowed::for_row(member.role, role, target.user_id == member.current.user.id);
    let permitted = match kind {
        "role" => allowed.change_role,
        _ => allowed.manage,
    };
    if !permitted {
        return Err(AppError::Forbidden);
    }
    let title = match kind {
        "role" => format!("Change the role of {}", target.email),
        "deactivate" => format!("Deactivate {}?", target.email),
        "activate" => format!("Activate {}?", target.email),
        _ => format!("Remove {} from {}?", target.email, member.org.name),
    };
    Ok(Confirm {
        kind,
        title,
        slug: member.org.slug.clone(),
        org_name: member.org.name.clone(),
        csrf: session::csrf_token(&member.current.session).await?,
        roles: members::assignable_roles(member.role, role),
        current_role: Some(role),
        target: Some(target),
        errors: FieldErrors::default(),
        typed: String::new(),
    })
}

/// Says what happened: a flash message, then back to the Members page.
async fn done(member: &OrgMember, kind: &str, text: String) -> Result<Response> {
    member.current.flashes.add(kind, text);
    Ok(Redirect::to(&format!("/orgs/{}/members", member.org.slug)).into_response())
}

/// Makes a change and reports it; a refusal becomes a message (or the right error).
async fn make_change(
    state: &AppState,
    member: &OrgMember,
    id: i64,
    change: Change,
    email_for_messages: &str,
) -> Result<std::result::Result<Response, Refusal>> {
    match members::change(state, &member.acting(), id, &change).await? {
        Ok(target) => {
            let text = match &change {
                Change::Role(role) => format!("{} is now {}.", target.email, role.label()),
                Change::Deactivate => format!(
                    "Deactivated {}. They can no longer open {}.",
                    target.email, member.org.name
                ),
                Change::Activate => format!("Activated {}.", target.email),
                Change::Remove { .. } => format!(
                    "Removed {} from {}. They were told by email.",
                    target.email, member.org.name
                ),
            };
            Ok(Ok(done(member, "success", text).await?))
        }
        Err(Refusal::NotFound) => Err(AppError::NotFound),
        Err(Refusal::Forbidden) => Err(AppError::Forbidden),
        Err(Refusal::EmailMismatch) => Ok(Err(Refusal::EmailMismatch)),
        Err(refusal) => Ok(Ok(done(
            member,
            "error",
            refusal.message(email_for_messages),
        )
        .await?)),
    }
}

async fn confirm_change_role(
    State(state): State<AppState>,
    member: OrgMember,
    htmx: HxRequest,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    let d = confirmation(&state, &member, id, "role").await?;
    render_confirm(&member, htmx, StatusCode::OK, d).await
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

async fn change_role(
    State(state): State<AppState>,
    member: OrgMember,
    htmx: HxRequest,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<RoleForm>,
) -> Result<Response> {
    let mut d = confirmation(&state, &member, id, "role").await?;
    let Ok(role) = form.role.parse::<Role>() else {
        d.errors.add("role", "Choose one of the offered roles.");
        return render_confirm(&member, htmx, StatusCode::UNPROCESSABLE_ENTITY, d).await;
    };
    let email = d.email().to_string();
    match make_change(&state, &member, id, Change::Role(role), &email).await? {
        Ok(response) => Ok(response),
        Err(_) => Err(AppError::Forbidden),
    }
}

/// "deactivate" or "activate", from the URL.
fn status_kind(status: &str) -> Result<&'static str> {
    match status {
        "deactivate" => Ok("deactivate"),
        "activate" => Ok("activate"),
        _ => Err(AppError::NotFound),
    }
}

async fn confirm_set_status(
    State(state): State<AppState>,
    member: OrgMember,
    htmx: HxRequest,
    Path((_, id, status)): Path<(String, i64, String)>,
) -> Result<Response> {
    let d = confirmation(&state, &member, id, status_kind(&status)?).await?;
    render_confirm(&member, htmx, StatusCode::OK, d).await
}

async fn set_status(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id, status)): Path<(String, i64, String)>,
) -> Result<Response> {
    let kind = status_kind(&status)?;
    let d = confirmation(&state, &member, id, kind).await?;
    let change = if kind == "activate" {
        Change::Activate
    } else {
        Change::Deactivate
    };
    match make_change(&state, &member, id, change, d.email()).await? {
        Ok(response) => Ok(response),
        Err(_) => Err(AppError::Forbidden),
    }
}

async fn confirm_remove_member(
    State(state): State<AppState>,
    member: OrgMember,
    htmx: HxRequest,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    let d = confirmation(&state, &member, id, "remove").await?;
    render_confirm(&member, htmx, StatusCode::OK, d).await
}

#[derive(Deserialize)]
struct RemoveForm {
    #[serde(default)]
    confirm_email: String,
}

async fn remove_member(
    State(state): State<AppState>,
    member: OrgMember,
    htmx: HxRequest,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<RemoveForm>,
) -> Result<Response> {
    let mut d = confirmation(&state, &member, id, "remove").await?;
    let change = Change::Remove {
        typed_email: form.confirm_email.clone(),
    };
    let email = d.email().to_string();
    match make_change(&state, &member, id, change, &email).await? {
        Ok(response) => Ok(response),
        Err(refusal) => {
            d.errors.add("confirm_email", refusal.message(&email));
            d.typed = form.confirm_email;
            render_confirm(&member, htmx, StatusCode::UNPROCESSABLE_ENTITY, d).await
        }
    }
}

async fn confirm_leave(member: OrgMember, htmx: HxRequest) -> Result<Response> {
    let d = Confirm {
        kind: "leave",
        title: format!("Leave {}?", member.org.name),
        slug: member.org.slug.clone(),
        org_name: member.org.name.clone(),
        csrf: session::csrf_token(&member.current.session).await?,
        target: None,
        current_role: Some(member.role),
        roles: Vec::new(),
        errors: FieldErrors::default(),
        typed: String::new(),
    };
    render_confirm(&member, htmx, StatusCode::OK, d).await
}

async fn leave_organization(State(state): State<AppState>, member: OrgMember) -> Result<Response> {
    match members::leave(&state, &member.acting()).await? {
        Ok(()) => {
            let text = format!("You left {}.", member.org.name);
            member.current.flashes.add("success", text);
            Ok(Redirect::to("/").into_response())
        }
        Err(Refusal::LastOwner) => {
            done(
                &member,
                "error",
                format!(
                    "You are the last active Owner of {}, so you cannot leave it. Make someone else Owner first.",
                    member.org.name
                ),
            )
            .await
        }
        Err(_) => Err(AppError::NotFound),
    }
}

/// Assign or revoke seats of the checked members (or one row's): a confirmation first,
/// then the change.
#[derive(Deserialize)]
struct SeatForm {
    #[serde(default)]
    seat_action: String,
    #[serde(default)]
    ids: Vec<i64>,
    confirm: Option<String>,
}

/// The confirmation of a seat change: a `<dialog>` for htmx, a page otherwise.
#[derive(Template)]
#[template(path = "partials/seat_dialog.html")]
struct SeatDialog {
    s: SeatConfirm,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/seat_confirm.html")]
struct SeatConfirmPage {
    ctx: PageCtx,
    s: SeatConfirm,
}

struct SeatConfirm {
    slug: String,
    csrf: String,
    assign: bool,
    targets: Vec<Target>,
}

impl SeatConfirm {
    fn title(&self) -> String {
        let n = self.targets.len();
        let verb = if self.assign { "Assign" } else { "Revoke" };
        format!("{verb} {n} {}?", if n == 1 { "seat" } else { "seats" })
    }
}

async fn manage_seats(
    State(state): State<AppState>,
    member: OrgMember,
    HxRequest(is_htmx): HxRequest,
    axum_extra::extract::Form(form): axum_extra::extract::Form<SeatForm>,
) -> Result<Response> {
    let assign = match form.seat_action.as_str() {
        "assign" => true,
        "revoke" => false,
        _ => return Err(AppError::NotFound),
    };
    if !permissions::allows(member.role, Action::ManageSeats) {
        return Err(AppError::Forbidden);
    }
    if form.ids.is_empty() {
        let text = "Select at least one member first.";
        if is_htmx {
            return Ok(super::flash_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "error",
                text,
            ));
        }
        return done(&member, "error", text.into()).await;
    }
    if form.confirm.as_deref() != Some("yes") {
        let mut tx = state.db.begin().await?;
        let targets = db::memberships::targets_in(&mut tx, member.org.id, &form.ids).await?;
        drop(tx);
        let unique: std::collections::HashSet<_> = form.ids.iter().collect();
        if targets.len() != unique.len() {
            return Err(AppError::NotFound);
        }
        let s = SeatConfirm {
            slug: member.org.slug.clone(),
            csrf: session::csrf_token(&member.current.session).await?,
            assign,
            targets,
        };
        if is_htmx {
            return Ok(axum::response::Html(SeatDialog { s }.render()?).into_response());
        }
        let ctx = PageCtx::for_org(&member, "members").await?;
        return Ok(SeatConfirmPage { ctx, s }.into_response());
    }
    match members::set_seats(&state, &member.acting(), &form.ids, assign).await? {
        Ok(changed) => {
            let n = changed.len();
            let people = if n == 1 { "member" } else { "members" };
            let text = match (assign, n) {
                (_, 0) => "Nothing to change: they already were like that.".to_string(),
                (true, _) => format!("Assigned seats to {n} {people}. They were told by email."),
                (false, _) => {
                    format!("Revoked the seats of {n} {people}. They were told by email.")
                }
            };
            done(&member, "success", text).await
        }
        Err(members::SeatRefusal::Forbidden) => Err(AppError::Forbidden),
        Err(members::SeatRefusal::NotFound) => Err(AppError::NotFound),
        Err(refusal) => done(&member, "error", refusal.message()).await,
    }
}
