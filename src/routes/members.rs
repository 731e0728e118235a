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
use crate::domain::access::AccessUntil;
use crate::domain::local_path::LocalPath;
use crate::domain::permissions::{self, Action};
use crate::domain::{FieldErrors, MemberStatus, Role, text};
use crate::error::{AppError, Result};
use crate::members::{
    self, Allowed, Asking, Change, Cursor, Filter, Listing, MemberRow, PAGE_SIZE, PageQuery,
    RowStatus, SeatTargets, Sort, Start, StatusFilter, Target,
};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orgs/{slug}/members", get(list_members))
        .route("/orgs/{slug}/members.csv", get(export_members))
        .route(
            "/orgs/{slug}/members/{id}/role",
            get(confirm_change_role).post(change_role),
        )
        .route(
            "/orgs/{slug}/members/{id}/{status}",
            get(confirm_set_status).post(set_status),
        )
        .route(
            "/orgs/{slug}/members/{id}/access",
            get(confirm_set_access).post(set_access),
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
    auth_method: String,
    two_factor: bool,
    is_you: bool,
    allowed: Allowed,
    manage_invitation: bool,
    is_active: bool,
    has_seat: bool,
    /// An active member's last day of access: (short, in words, ISO date).
    access_until: Option<(String, String, String)>,
    /// What the viewer may do with this row's seat, when seats are on.
    seat_action: Option<SeatAction>,
    /// The member's teams, by name.
    teams: Vec<String>,
}

/// Assign or revoke a seat: the seat form's `seat_action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SeatAction {
    Assign,
    Revoke,
}

impl SeatAction {
    fn parse(s: &str) -> Option<SeatAction> {
        match s {
            "assign" => Some(SeatAction::Assign),
            "revoke" => Some(SeatAction::Revoke),
            _ => None,
        }
    }

    /// The form's value.
    fn as_str(self) -> &'static str {
        match self {
            SeatAction::Assign => "assign",
            SeatAction::Revoke => "revoke",
        }
    }
}

impl MemberView {
    fn new(
        row: MemberRow,
        teams: Vec<String>,
        now: i64,
        viewer: &OrgMember,
        seats_managed: bool,
    ) -> MemberView {
        let role = row.role;
        let is_you =
            !row.is_invitation() && row.email.eq_ignore_ascii_case(&viewer.current.user.email);
        let allowed = if row.is_invitation() {
            Allowed::default()
        } else {
            Allowed::for_row(viewer.role, role, is_you)
        };
        let own = row.invited_by == Some(viewer.current.user.id);
        let manage_invitation = row.is_invitation()
            && permissions::allows(viewer.role, Action::ManageInvitation { role, own });
        // An instance admin deactivated the account: it cannot sign in anywhere,
        // whatever its membership here says.
        let account_deactivated = !row.is_invitation() && !row.account_active;
        // A deactivated account keeps its membership's actions that free or remove
        // (deactivate, remove, revoke a seat), not those that give it more.
        let is_active =
            row.status == RowStatus::Member(MemberStatus::Active) && !account_deactivated;
        let (status, status_key) = match row.status {
            _ if account_deactivated => ("Account deactivated", "inactive"),
            RowStatus::Member(MemberStatus::Active) => ("Active", "active"),
            RowStatus::Invited => ("Pending invitation", "invited"),
            RowStatus::Member(MemberStatus::Inactive) => ("Inactive", "inactive"),
        };
        let seat_action = match (seats_managed && !row.is_invitation(), row.has_seat) {
            (false, _) => None,
            (true, true) => Some(SeatAction::Revoke),
            (true, false) => is_active.then_some(SeatAction::Assign),
        };
        let access_until = row
            .access_until
            .filter(|_| is_active)
            .map(AccessUntil::from_stored)
            .map(|d| (d.short(), d.long(), d.iso()));
        MemberView {
            id: row.id,
            teams,
            has_seat: row.has_seat,
            access_until,
            seat_action,
            is_invitation: row.is_invitation(),
            is_you,
            allowed,
            manage_invitation,
            is_active,
            two_factor: row.two_factor,
            role: role.label(),
            status,
            status_key,
            joined: clock::relative(now, row.joined_at),
            joined_exact: clock::exact(row.joined_at),
            joined_iso: clock::iso(row.joined_at),
            last_active: row
                .last_active_at
                .map(|at| (clock::relative(now, at), clock::exact(at), clock::iso(at))),
            auth_method: match (row.auth_method.as_str(), &row.sso_provider) {
                ("", _) => String::new(),
                ("password", _) => "Password".into(),
                ("sso", Some(provider)) => format!("SSO ({provider})"),
                ("sso", None) => "SSO".into(),
                _ => "Other".into(),
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
    /// "on" or "off": members with or without a second factor.
    #[serde(default)]
    two_factor: String,
    /// A team's id: its members.
    #[serde(default)]
    team: String,
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
    /// The page asked for: a search with control characters is a bad request.
    fn page_query(&self) -> Result<PageQuery> {
        let (listing, page) = self.listing()?;
        let cursor = self.cursor(listing.sort);
        Ok(PageQuery {
            listing,
            page,
            cursor,
            team_options: false,
        })
    }

    /// The listing asked for, without its start, and the page number asked for.
    fn listing(&self) -> Result<(Listing, i64)> {
        let search = text::search(&self.q).map_err(AppError::BadRequest)?;
        let filter = Filter {
            search: search.map(|s| s.to_lowercase()),
            role: self.role.parse().ok(),
            status: match self.status.as_str() {
                "active" => Some(StatusFilter::Member(MemberStatus::Active)),
                "inactive" => Some(StatusFilter::Member(MemberStatus::Inactive)),
                "invited" => Some(StatusFilter::Invited),
                _ => None,
            },
            two_factor: match self.two_factor.as_str() {
                "on" => Some(true),
                "off" => Some(false),
                _ => None,
            },
            // Any other organization's team, or no team, has no members here.
            team: self.team.trim().parse().ok(),
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

    /// The search and filters as the start of a query string (`q=ada&role=admin&`), for
    /// links that keep them.
    fn filters(&self) -> String {
        self.filter_pairs()
            .map(|(k, v)| format!("{k}={}&", encode(v)))
            .collect()
    }

    /// The search and filters set, by name.
    fn filter_pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("q", self.q.trim()),
            ("role", self.role.as_str()),
            ("status", self.status.as_str()),
            ("two_factor", self.two_factor.as_str()),
            ("team", self.team.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
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
    /// Whether the viewer may download the view as CSV.
    exportable: bool,
    /// This view of the page, for the actions to come back to (`view_href`).
    view: String,
    /// `?return_to=…` with the view, for the rows' confirmation links; empty for the
    /// page's plain view, where they come back anyway (and the page stays as small).
    return_query: String,
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

    /// The download of this view: its search, filters and order.
    fn export_href(&self) -> String {
        format!(
            "/orgs/{}/members.csv?{}sort={}&dir={}",
            self.slug,
            self.filters,
            self.sort,
            if self.descending { "desc" } else { "asc" }
        )
    }

    fn first_href(&self) -> String {
        self.page_href(1)
    }

    /// This view (search, filters, order, page): where an action taken from it goes back.
    fn view_href(&self) -> String {
        let mut query = self.filters.clone();
        if self.sort != Sort::default().as_str() {
            query.push_str(&format!("sort={}&", self.sort));
        }
        if self.descending {
            query.push_str("dir=desc&");
        }
        if self.page > 1 {
            query.push_str(&format!("page={}&", self.page));
        }
        let query = query.trim_end_matches('&');
        match query {
            "" => format!("/orgs/{}/members", self.slug),
            _ => format!("/orgs/{}/members?{query}", self.slug),
        }
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
    results: Results,
    q: ListQuery,
    member_count: i64,
    pending: i64,
    your_role: &'static str,
    can_invite: bool,
    roles: [Role; 5],
    sorts: [(&'static str, &'static str); 4],
    /// The organization's teams as (id, name), for the Team filter.
    teams: Vec<(i64, String)>,
}

impl MembersPage {
    /// Whether the Team filter has `id` chosen.
    fn team_chosen(&self, id: &i64) -> bool {
        self.q.team.trim() == id.to_string()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/members_results.html")]
struct MembersResults {
    results: Results,
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn list_members(
    State(state): State<AppState>,
    member: OrgMember,
    HxTarget(target): HxTarget,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    let now = state.clock.now();
    let settings = &member.settings;
    let mut query = q.page_query()?;
    // The filter's list of teams is in the page around the results, not in them.
    let partial = target.as_deref() == Some("members-results");
    query.team_options = !partial;
    let acting = member.acting();
    let found = members::list(
        &state.db,
        &acting,
        member.counts,
        settings.seats,
        now,
        query,
    );
    let members::Page {
        rows,
        matching,
        page,
        pages,
        listing,
        seats,
        mut teams,
        team_options,
    } = found.await.map_err(page_error)?;
    // Searches page by number: their matches are found anew for each page anyway.
    let place = |row: Option<&MemberRow>| {
        row.filter(|_| !listing.counted)
            .map(|row| Cursor::of(row, listing.sort).param())
    };
    let (first, last) = (place(rows.first()), place(rows.last()));
    let ctx = PageCtx::for_org(&member, "members").await?;
    let seats_managed = seats.is_some() && permissions::allows(member.role, Action::ManageSeats);
    let filters = q.filters();
    let results = Results {
        slug: member.org.slug.clone(),
        org_name: member.org.name.clone(),
        rows: rows
            .into_iter()
            .map(|row| {
                let row_teams = if row.is_invitation() {
                    Vec::new()
                } else {
                    teams.remove(&row.id).unwrap_or_default()
                };
                MemberView::new(row, row_teams, now, &member, seats_managed)
            })
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
        exportable: permissions::allows(member.role, Action::ExportMembers),
        view: String::new(),
        return_query: String::new(),
    };
    let mut results = results;
    results.view = results.view_href();
    if results.view.contains('?') {
        results.return_query = format!("?return_to={}", encode(&results.view));
    }
    if partial {
        return Ok(MembersResults { results }.into_response());
    }
    let (member_count, pending) = member.counts;
    let can_invite =
        !permissions::invitable_roles(member.role, settings.members_may_invite).is_empty();
    Ok(MembersPage {
        ctx,
        results,
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
        teams: team_options,
    }
    .into_response())
}

/// A confirmation of one change to one member: a `<dialog>` for htmx, a page otherwise.
#[derive(Template)]
#[template(path = "partials/member_dialog.html")]
struct MemberDialog {
    confirm: Confirm,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/member_confirm.html")]
struct MemberConfirmPage {
    ctx: PageCtx,
    confirm: Confirm,
}

/// What a confirmation asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConfirmKind {
    Role,
    Deactivate,
    Activate,
    Remove,
    Leave,
    Access,
}

impl ConfirmKind {
    /// The last segment of the change's URL.
    fn as_str(self) -> &'static str {
        match self {
            ConfirmKind::Role => "role",
            ConfirmKind::Deactivate => "deactivate",
            ConfirmKind::Activate => "activate",
            ConfirmKind::Remove => "remove",
            ConfirmKind::Leave => "leave",
            ConfirmKind::Access => "access",
        }
    }

    fn asking(self) -> Asking {
        match self {
            ConfirmKind::Role => Asking::Role,
            _ => Asking::Manage,
        }
    }
}

struct Confirm {
    kind: ConfirmKind,
    title: String,
    slug: String,
    org_name: String,
    csrf: String,
    target: Option<Target>,
    current_role: Option<Role>,
    roles: Vec<Role>,
    errors: FieldErrors,
    typed: String,
    /// Leaving: the person is the only active Owner, so the server would refuse.
    sole_owner: bool,
    /// The view of the Members page to go back to.
    return_to: String,
}

impl Confirm {
    fn action(&self) -> String {
        match &self.target {
            Some(t) => format!(
                "/orgs/{}/members/{}/{}",
                self.slug,
                t.id,
                self.kind.as_str()
            ),
            None => format!("/orgs/{}/leave", self.slug),
        }
    }

    fn is_current(&self, role: &Role) -> bool {
        self.current_role == Some(*role)
    }

    fn email(&self) -> &str {
        self.target.as_ref().map_or("", |t| t.email.as_str())
    }

    /// The member the change is about, for the page's script (which keeps the other
    /// ticked rows ticked).
    fn concerns(&self) -> String {
        self.target
            .as_ref()
            .map_or_else(String::new, |t| t.id.to_string())
    }
}

/// Renders a confirmation as a dialog (htmx) or a page, with `status`.
async fn render_confirm(
    member: &OrgMember,
    HxRequest(is_htmx): HxRequest,
    status: StatusCode,
    confirm: Confirm,
) -> Result<Response> {
    if is_htmx {
        let body = MemberDialog { confirm }.render()?;
        return Ok((status, axum::response::Html(body)).into_response());
    }
    let ctx = PageCtx::for_org(member, "members").await?;
    Ok((status, MemberConfirmPage { ctx, confirm }).into_response())
}

/// Finds the member `id` in the URL's organization and builds its confirmation, or says
/// why the viewer cannot act on them.
async fn confirmation(
    state: &AppState,
    member: &OrgMember,
    id: i64,
    kind: ConfirmKind,
    return_to: &str,
) -> Result<Confirm> {
    let target = members::confirmation_target(&state.db, &member.acting(), id, kind.asking())
        .await
        .map_err(page_error)?;
    let title = match kind {
        ConfirmKind::Role => format!("Change the role of {}", target.email),
        ConfirmKind::Deactivate => format!("Deactivate {}?", target.email),
        ConfirmKind::Activate => format!("Activate {}?", target.email),
        ConfirmKind::Access => format!("When the access of {} ends", target.email),
        ConfirmKind::Remove | ConfirmKind::Leave => {
            format!("Remove {} from {}?", target.email, member.org.name)
        }
    };
    // The access form starts from the member's current date.
    let typed = match kind {
        ConfirmKind::Access => target
            .access_until
            .map(|d| AccessUntil::from_stored(d).iso())
            .unwrap_or_default(),
        _ => String::new(),
    };
    Ok(Confirm {
        kind,
        title,
        slug: member.org.slug.clone(),
        org_name: member.org.name.clone(),
        csrf: session::csrf_token(&member.current.session).await?,
        roles: members::assignable_roles(member.role, target.role),
        current_role: Some(target.role),
        target: Some(target),
        errors: FieldErrors::default(),
        typed,
        sole_owner: false,
        return_to: back(member, return_to),
    })
}

/// Where an action goes back to: the view of the Members page it was taken from, when
/// `return_to` names one of this organization, else the Members page.
fn back(member: &OrgMember, return_to: &str) -> String {
    let members = format!("/orgs/{}/members", member.org.slug);
    LocalPath::at_or(return_to, &members).as_str().to_string()
}

/// The view an action was taken from, as a confirmation's link carries it.
#[derive(Debug, Default, Deserialize)]
struct Back {
    #[serde(default)]
    return_to: String,
}

/// The pages' answer to a refusal that is not shown as a message: the member is not
/// there (404), or the viewer may not act on them (403), or it failed.
fn page_error(err: members::Error) -> AppError {
    match err {
        members::Error::NotFound | members::Error::SomeNotFound => AppError::NotFound,
        members::Error::Forbidden | members::Error::SeatsForbidden | members::Error::Own => {
            AppError::Forbidden
        }
        members::Error::Internal(err) => AppError::Other(err),
        refusal => AppError::Other(anyhow::anyhow!("unexpected refusal: {refusal}")),
    }
}

/// The pages' answer to a refused change: a message on the Members page, or the
/// `page_error` when the refusal is one no menu offers.
async fn refused(member: &OrgMember, back: &str, err: members::Error) -> Result<Response> {
    match err {
        members::Error::NotFound
        | members::Error::SomeNotFound
        | members::Error::Forbidden
        | members::Error::SeatsForbidden
        | members::Error::Own
        | members::Error::Internal(_) => Err(page_error(err)),
        refusal => done(member, back, "error", refusal.to_string()).await,
    }
}

/// Says what happened: a flash message, then back to the view of the Members page
/// `back` (already checked by `back`).
async fn done(member: &OrgMember, back: &str, kind: &str, text: String) -> Result<Response> {
    member.current.flashes.add(kind, text);
    Ok(Redirect::to(back).into_response())
}

/// Says that `change` was made to `target`.
async fn changed(
    member: &OrgMember,
    back: &str,
    change: &Change,
    target: &Target,
) -> Result<Response> {
    let text = match change {
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
        Change::AccessUntil(Some(day)) => format!(
            "The access of {} now ends after {}. They and their inviter are warned by email a week before.",
            target.email,
            day.long()
        ),
        Change::AccessUntil(None) => format!("The access of {} no longer ends.", target.email),
    };
    done(member, back, "success", text).await
}

async fn confirm_change_role(
    State(state): State<AppState>,
    member: OrgMember,
    htmx: HxRequest,
    Path((_, id)): Path<(String, i64)>,
    Query(from): Query<Back>,
) -> Result<Response> {
    let confirm = confirmation(&state, &member, id, ConfirmKind::Role, &from.return_to).await?;
    render_confirm(&member, htmx, StatusCode::OK, confirm).await
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    return_to: String,
}

async fn change_role(
    State(state): State<AppState>,
    member: OrgMember,
    htmx: HxRequest,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<RoleForm>,
) -> Result<Response> {
    let Ok(role) = form.role.parse::<Role>() else {
        let kind = ConfirmKind::Role;
        let mut confirm = confirmation(&state, &member, id, kind, &form.return_to).await?;
        confirm
            .errors
            .add("role", "Choose one of the offered roles.");
        return render_confirm(&member, htmx, StatusCode::UNPROCESSABLE_ENTITY, confirm).await;
    };
    let change = Change::Role(role);
    let back = back(&member, &form.return_to);
    match members::change(&state, &member.acting(), id, &change).await {
        Ok(target) => changed(&member, &back, &change, &target).await,
        Err(err) => refused(&member, &back, err).await,
    }
}

/// Deactivate or activate, from the URL.
fn status_kind(status: &str) -> Result<ConfirmKind> {
    match status {
        "deactivate" => Ok(ConfirmKind::Deactivate),
        "activate" => Ok(ConfirmKind::Activate),
        _ => Err(AppError::NotFound),
    }
}

async fn confirm_set_status(
    State(state): State<AppState>,
    member: OrgMember,
    htmx: HxRequest,
    Path((_, id, status)): Path<(String, i64, String)>,
    Query(from): Query<Back>,
) -> Result<Response> {
    let kind = status_kind(&status)?;
    let confirm = confirmation(&state, &member, id, kind, &from.return_to).await?;
    render_confirm(&member, htmx, StatusCode::OK, confirm).await
}

async fn set_status(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id, status)): Path<(String, i64, String)>,
    Form(from): Form<Back>,
) -> Result<Response> {
    let change = match status_kind(&status)? {
        ConfirmKind::Activate => Change::Activate,
        _ => Change::Deactivate,
    };
    let back = back(&member, &from.return_to);
    match members::change(&state, &member.acting(), id, &change).await {
        Ok(target) => changed(&member, &back, &change, &target).await,
        Err(err) => refused(&member, &back, err).await,
    }
}

async fn confirm_set_access(
    State(state): State<AppState>,
    member: OrgMember,
    htmx: HxRequest,
    Path((_, id)): Path<(String, i64)>,
    Query(from): Query<Back>,
) -> Result<Response> {
    let confirm = confirmation(&state, &member, id, ConfirmKind::Access, &from.return_to).await?;
    render_confirm(&member, htmx, StatusCode::OK, confirm).await
}

#[derive(Deserialize)]
struct AccessForm {
    /// The last day of access, `YYYY-MM-DD`; empty for no end.
    #[serde(default)]
    access_until: String,
    #[serde(default)]
    return_to: String,
}

async fn set_access(
    State(state): State<AppState>,
    member: OrgMember,
    htmx: HxRequest,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<AccessForm>,
) -> Result<Response> {
    let back = back(&member, &form.return_to);
    let refusal = match AccessUntil::parse(&form.access_until, state.clock.now()) {
        Ok(day) => {
            let change = Change::AccessUntil(day);
            match members::change(&state, &member.acting(), id, &change).await {
                Ok(target) => return changed(&member, &back, &change, &target).await,
                // Said next to the date, which is what to change.
                Err(refusal @ members::Error::LastLastingOwner { .. }) => refusal.to_string(),
                Err(err) => return refused(&member, &back, err).await,
            }
        }
        Err(message) => message,
    };
    let kind = ConfirmKind::Access;
    let mut confirm = confirmation(&state, &member, id, kind, &form.return_to).await?;
    confirm.errors.add("access_until", refusal);
    confirm.typed = text::sanitized(&form.access_until, 40);
    render_confirm(&member, htmx, StatusCode::UNPROCESSABLE_ENTITY, confirm).await
}

async fn confirm_remove_member(
    State(state): State<AppState>,
    member: OrgMember,
    htmx: HxRequest,
    Path((_, id)): Path<(String, i64)>,
    Query(from): Query<Back>,
) -> Result<Response> {
    let confirm = confirmation(&state, &member, id, ConfirmKind::Remove, &from.return_to).await?;
    render_confirm(&member, htmx, StatusCode::OK, confirm).await
}

#[derive(Deserialize)]
struct RemoveForm {
    #[serde(default)]
    confirm_email: String,
    #[serde(default)]
    return_to: String,
}

async fn remove_member(
    State(state): State<AppState>,
    member: OrgMember,
    htmx: HxRequest,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<RemoveForm>,
) -> Result<Response> {
    let change = Change::Remove {
        typed_email: form.confirm_email.clone(),
    };
    let back = back(&member, &form.return_to);
    match members::change(&state, &member.acting(), id, &change).await {
        Ok(target) => changed(&member, &back, &change, &target).await,
        Err(refusal @ members::Error::EmailMismatch { .. }) => {
            // The form again, with what was typed and why it is not enough.
            let kind = ConfirmKind::Remove;
            let mut confirm = confirmation(&state, &member, id, kind, &form.return_to).await?;
            confirm.errors.add("confirm_email", refusal.to_string());
            confirm.typed = form.confirm_email;
            render_confirm(&member, htmx, StatusCode::UNPROCESSABLE_ENTITY, confirm).await
        }
        Err(err) => refused(&member, &back, err).await,
    }
}

async fn confirm_leave(member: OrgMember, htmx: HxRequest) -> Result<Response> {
    let confirm = Confirm {
        kind: ConfirmKind::Leave,
        title: if member.sole_owner {
            format!("You cannot leave {} yet", member.org.name)
        } else {
            format!("Leave {}?", member.org.name)
        },
        slug: member.org.slug.clone(),
        org_name: member.org.name.clone(),
        csrf: session::csrf_token(&member.current.session).await?,
        target: None,
        current_role: Some(member.role),
        roles: Vec::new(),
        errors: FieldErrors::default(),
        typed: String::new(),
        sole_owner: member.sole_owner,
        return_to: back(&member, ""),
    };
    render_confirm(&member, htmx, StatusCode::OK, confirm).await
}

async fn leave_organization(State(state): State<AppState>, member: OrgMember) -> Result<Response> {
    match members::leave(&state, &member.acting()).await {
        Ok(()) => {
            let text = format!("You left {}.", member.org.name);
            member.current.flashes.add("success", text);
            Ok(Redirect::to("/").into_response())
        }
        Err(refusal @ members::Error::LastOwnerLeaving { .. }) => {
            done(&member, &back(&member, ""), "error", refusal.to_string()).await
        }
        Err(members::Error::Internal(err)) => Err(AppError::Other(err)),
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
    #[serde(default)]
    return_to: String,
}

/// The confirmation of a seat change: a `<dialog>` for htmx, a page otherwise.
#[derive(Template)]
#[template(path = "partials/seat_dialog.html")]
struct SeatDialog {
    seat_change: SeatConfirm,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/seat_confirm.html")]
struct SeatConfirmPage {
    ctx: PageCtx,
    seat_change: SeatConfirm,
}

struct SeatConfirm {
    slug: String,
    csrf: String,
    assign: bool,
    targets: Vec<Target>,
    /// Seats still free, when the organization limits them.
    left: Option<i64>,
    /// How many of the targets an assignment would give a seat.
    taking: i64,
    /// Whether assigning them all needs more seats than are free.
    over_limit: bool,
    /// Owners may raise the seat limit themselves; others are told to ask one.
    is_owner: bool,
    /// The Owners to ask, by name ("Ada Lovelace or Grace Hopper"), if any.
    ask: String,
    /// The view of the Members page to go back to.
    return_to: String,
}

impl SeatConfirm {
    fn new(
        member: &OrgMember,
        csrf: String,
        assign: bool,
        found: SeatTargets,
        back: String,
    ) -> Self {
        SeatConfirm {
            slug: member.org.slug.clone(),
            csrf,
            assign,
            taking: found.taking(),
            over_limit: assign && found.over_limit(),
            left: found.left,
            ask: match found.owners.as_slice() {
                [] => String::new(),
                [one] => one.clone(),
                [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
            },
            targets: found.targets,
            is_owner: member.role == Role::Owner,
            return_to: back,
        }
    }

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
    let assign = match SeatAction::parse(&form.seat_action) {
        Some(action) => action == SeatAction::Assign,
        None => return Err(AppError::NotFound),
    };
    let acting = member.acting();
    let back = back(&member, &form.return_to);
    let confirmed = form.confirm.as_deref() == Some("yes");
    if confirmed {
        match members::set_seats(&state, &acting, &form.ids, assign).await {
            Ok(changed) => {
                let n = changed.len();
                let people = if n == 1 { "member" } else { "members" };
                let text = match (assign, n) {
                    (_, 0) => "Nothing to change: they already were like that.".to_string(),
                    (true, 1) => {
                        "Assigned a seat to 1 member. They were told by email.".to_string()
                    }
                    (false, 1) => {
                        "Revoked the seat of 1 member. They were told by email.".to_string()
                    }
                    (true, _) => {
                        format!("Assigned seats to {n} {people}. They were told by email.")
                    }
                    (false, _) => {
                        format!("Revoked the seats of {n} {people}. They were told by email.")
                    }
                };
                return done(&member, &back, "success", text).await;
            }
            // Seats were taken meanwhile: the confirmation again, which says how many
            // are left now and what to do.
            Err(members::Error::NoRoom { .. }) => {}
            Err(err) => return seat_refused(&member, is_htmx, &back, err).await,
        }
    }
    let found = match members::seat_targets(&state.db, &acting, &form.ids).await {
        Ok(found) => found,
        Err(err) => return seat_refused(&member, is_htmx, &back, err).await,
    };
    let status = if confirmed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let csrf = session::csrf_token(&member.current.session).await?;
    let seat_change = SeatConfirm::new(&member, csrf, assign, found, back);
    if is_htmx {
        let body = SeatDialog { seat_change }.render()?;
        return Ok((status, axum::response::Html(body)).into_response());
    }
    let ctx = PageCtx::for_org(&member, "members").await?;
    Ok((status, SeatConfirmPage { ctx, seat_change }).into_response())
}

/// A refused seat change: "select someone first" next to the bulk buttons for htmx,
/// otherwise as any refused change.
async fn seat_refused(
    member: &OrgMember,
    is_htmx: bool,
    back: &str,
    err: members::Error,
) -> Result<Response> {
    match err {
        refusal @ members::Error::NoneSelected if is_htmx => Ok(super::message_at(
            "#seat-feedback",
            StatusCode::UNPROCESSABLE_ENTITY,
            "error",
            &refusal.to_string(),
        )),
        err => refused(member, back, err).await,
    }
}

/// The columns of a member list export.
pub(crate) const EXPORT_HEADER: [&str; 10] = [
    "email",
    "name",
    "role",
    "status",
    "seat",
    "two_factor",
    "sign_in_method",
    "joined",
    "last_active",
    "teams",
];

/// One line of a member list export: text a spreadsheet shows as is (no formula runs).
pub(crate) fn export_fields(row: members::ExportRow) -> Vec<String> {
    use super::csv_download::cell;
    let status = if !row.account_active {
        "account_deactivated"
    } else {
        row.status.as_str()
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    let invited = row.status == "invited";
    vec![
        cell(&row.email),
        cell(&row.name),
        row.role
            .parse::<Role>()
            .map_or(row.role.clone(), |r| r.label().to_string()),
        status.to_string(),
        if invited {
            String::new()
        } else {
            yes_no(row.has_seat)
        },
        if invited {
            String::new()
        } else {
            yes_no(row.two_factor)
        },
        cell(&row.auth_method),
        clock::iso(row.joined_at),
        row.last_active_at.map(clock::iso).unwrap_or_default(),
        row.teams.as_deref().map(cell).unwrap_or_default(),
    ]
}

/// The Members page's view (search, filters, order) as a CSV download, streamed.
async fn export_members(
    State(state): State<AppState>,
    member: OrgMember,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    let (listing, _) = q.listing()?;
    let view = view_in_words(&listing.filter);
    let export = members::export(
        &state,
        &member.acting(),
        listing.filter,
        listing.sort,
        listing.descending,
        &view,
    )
    .await
    .map_err(page_error)?;
    Ok(super::csv_download::download(
        &format!("members-{}.csv", member.org.slug),
        &EXPORT_HEADER,
        export.rows,
        export.finished,
        export_fields,
    ))
}

/// The search and filters of an export as the audit log keeps them ("q: ada, role:
/// admin"), from what was parsed: a value nobody could filter by is not written.
fn view_in_words(filter: &Filter) -> String {
    let mut parts = Vec::new();
    if let Some(search) = &filter.search {
        parts.push(format!("q: {search}"));
    }
    if let Some(role) = filter.role {
        parts.push(format!("role: {}", role.as_str()));
    }
    match filter.status {
        Some(StatusFilter::Member(status)) => parts.push(format!("status: {}", status.as_str())),
        Some(StatusFilter::Invited) => parts.push("status: invited".into()),
        Some(StatusFilter::Members) | None => {}
    }
    if let Some(on) = filter.two_factor {
        parts.push(format!("two_factor: {}", if on { "on" } else { "off" }));
    }
    if let Some(team) = filter.team {
        parts.push(format!("team: {team}"));
    }
    parts.join(", ")
}
