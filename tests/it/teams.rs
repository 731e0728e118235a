//! Teams: Owners and Admins create, rename and delete them and add and remove their
//! members, on the pages and through the API; everyone in the organization sees them;
//! names are unique in any case, also when two requests race; another organization's
//! team is a 404; removing a member from the organization takes them out of every
//! team; the Members page shows each member's teams and filters by team, and the
//! export has a teams column. Every change is audited.

use reqwest::Method;
use roster::db;
use roster::domain::Role;
use serde_json::json;

use crate::helpers::*;

const BEA: &str = "bea@example.com";
const CY: &str = "cy@example.com";

fn teams_path() -> String {
    format!("/orgs/{ORG_SLUG}/teams")
}

/// An organization set up with Bea (Member) and Cy (Admin).
async fn app_with_people(backend: Backend) -> Option<TestApp> {
    let app = TestApp::spawn(backend).await?;
    app.set_up().await;
    app.add_member(ORG_SLUG, BEA, "Bea Member", Role::Member)
        .await;
    app.add_member(ORG_SLUG, CY, "Cy Admin", Role::Admin).await;
    Some(app)
}

/// Creates the team `name` through the page; its id.
async fn create_team(app: &TestApp, name: &str) -> i64 {
    let response = app.post_form(&teams_path(), &[("name", name)]).await;
    assert_eq!(response.status(), 303, "{name} is created");
    location(&response)
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn add_to_team(app: &TestApp, team: i64, email: &str) -> reqwest::Response {
    let member = app.membership_id(email).await.to_string();
    app.post_form(
        &format!("{}/{team}/members", teams_path()),
        &[("member_id", member.as_str())],
    )
    .await
}

/// Follows a redirect and reads the flash messages of the page it leads to.
async fn flashes_after(app: &TestApp, response: reqwest::Response) -> String {
    assert_eq!(response.status(), 303);
    let (_, page) = app.get_html(&location(&response)).await;
    texts(&page, ".flash").join(" ")
}

async fn actions(app: &TestApp) -> Vec<String> {
    db::audit::recent(&app.state.db, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

async fn an_admin_creates_renames_and_deletes_a_team(backend: Backend) {
    let Some(app) = app_with_people(backend).await else {
        return;
    };
    let (_, empty) = app.get_html(&teams_path()).await;
    assert!(
        empty.contains("No teams yet.") && empty.contains("filters by team"),
        "the empty state says what teams are for"
    );
    let admin = app.browser_for(CY).await;

    let response = admin
        .post_form(&teams_path(), &[("name", "  Platform  ")])
        .await;
    let team_page = location(&response);
    assert!(
        flashes_after(&admin, response)
            .await
            .contains("Created the team Platform.")
    );
    let id: i64 = team_page.rsplit('/').next().unwrap().parse().unwrap();
    let (_, list) = admin.get_html(&teams_path()).await;
    assert_eq!(
        texts(&list, &format!("#team-{id} td")),
        ["Platform", "0", "just now"]
    );

    let rename = format!("{team_page}/rename");
    let renamed = admin.post_form(&rename, &[("name", "Platform team")]).await;
    assert!(
        flashes_after(&admin, renamed)
            .await
            .contains("The team is now called Platform team.")
    );

    let delete = format!("{team_page}/delete");
    let (status, confirm) = admin.get_html(&delete).await;
    assert_eq!(status, 200);
    assert!(
        confirm.contains("Delete the team Platform team?"),
        "{confirm}"
    );
    let dialog = admin
        .client
        .get(admin.url(&delete))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        dialog.starts_with("<dialog"),
        "htmx gets a dialog: {dialog}"
    );
    let deleted = admin.post_form(&delete, &[]).await;
    assert_eq!(location(&deleted), teams_path());
    assert!(
        flashes_after(&admin, deleted)
            .await
            .contains("Deleted the team Platform team.")
    );
    assert_eq!(admin.get(&team_page).await.status(), 404);

    let actions = actions(&app).await;
    for action in ["team.created", "team.renamed", "team.deleted"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
    let (_, audit) = app.get_html(&format!("/orgs/{ORG_SLUG}/audit")).await;
    assert!(audit.contains("created the team Platform"), "{audit}");
    assert!(audit.contains("renamed the team Platform to Platform team"));
    assert!(audit.contains("deleted the team Platform team"));
}

async fn members_are_found_added_and_removed(backend: Backend) {
    let Some(app) = app_with_people(backend).await else {
        return;
    };
    let team = create_team(&app, "Finance").await;
    let page = format!("{}/{team}", teams_path());

    let (_, found) = app.get_html(&format!("{page}?q=BEA")).await;
    assert_eq!(
        attrs(&found, "#candidates button", "aria-label"),
        ["Add bea@example.com to Finance"]
    );
    let added = add_to_team(&app, team, BEA).await;
    assert!(
        flashes_after(&app, added)
            .await
            .contains("Added bea@example.com to Finance.")
    );
    let again = add_to_team(&app, team, BEA).await;
    assert!(
        flashes_after(&app, again)
            .await
            .contains("bea@example.com is already in Finance.")
    );
    let (_, shown) = app.get_html(&page).await;
    let bea = app.membership_id(BEA).await;
    assert!(texts(&shown, &format!("#team-member-{bea}"))[0].contains(BEA));
    let (_, searched) = app.get_html(&format!("{page}?q=bea")).await;
    assert!(
        texts(&searched, "#candidates")
            .join(" ")
            .contains("No member outside this team matches"),
        "a member already in the team is not offered"
    );

    let removed = app
        .post_form(&format!("{page}/members/{bea}/remove"), &[])
        .await;
    assert!(
        flashes_after(&app, removed)
            .await
            .contains("Removed bea@example.com from Finance.")
    );
    let (_, after) = app.get_html(&page).await;
    assert!(texts(&after, &format!("#team-member-{bea}")).is_empty());

    let actions = actions(&app).await;
    assert!(actions.iter().any(|a| a == "team.member_added"));
    assert!(actions.iter().any(|a| a == "team.member_removed"));
    let (_, audit) = app.get_html(&format!("/orgs/{ORG_SLUG}/audit")).await;
    assert!(audit.contains("added bea@example.com to the team Finance"));
    assert!(audit.contains("removed bea@example.com from the team Finance"));
}

async fn team_names_are_unique_in_any_case_and_checked_in_words(backend: Backend) {
    let Some(app) = app_with_people(backend).await else {
        return;
    };
    let platform = create_team(&app, "Platform").await;
    let other = create_team(&app, "Ops").await;

    let response = app.post_form(&teams_path(), &[("name", "PLATFORM")]).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert_eq!(
        texts(&page, "#name-error"),
        ["There is already a team called PLATFORM. Choose another name."]
    );
    assert_eq!(attrs(&page, "#team-name", "value"), ["PLATFORM"], "kept");

    let renamed = app
        .post_form(
            &format!("{}/{other}/rename", teams_path()),
            &[("name", "platform")],
        )
        .await;
    assert_eq!(renamed.status(), 422);
    let page = renamed.text().await.unwrap();
    assert!(texts(&page, "#name-error")[0].contains("already a team called platform"));
    assert_eq!(attrs(&page, "#team-name", "value"), ["platform"]);

    for (typed, message) in [
        ("   ", "Enter a name for the team."),
        (&"x".repeat(101), "Use at most 100 characters."),
        (
            "Ops\0",
            "Remove the line breaks, tabs and other control characters.",
        ),
        (
            "Ops\nTeam",
            "Remove the line breaks, tabs and other control characters.",
        ),
    ] {
        let response = app.post_form(&teams_path(), &[("name", typed)]).await;
        assert_eq!(response.status(), 422, "{typed:?}");
        let page = response.text().await.unwrap();
        assert_eq!(texts(&page, "#name-error"), [message], "{typed:?}");
    }
    // The same name in another case renames the team itself.
    let recased = app
        .post_form(
            &format!("{}/{platform}/rename", teams_path()),
            &[("name", "PlatForm")],
        )
        .await;
    assert_eq!(recased.status(), 303);
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM teams").await,
        2,
        "nothing half-written"
    );
}

async fn parallel_creates_of_one_name_leave_one_team(backend: Backend) {
    let Some(app) = app_with_people(backend).await else {
        return;
    };
    let path = teams_path();
    let requests = (0..8).map(|i| {
        let name = if i % 2 == 0 { "Platform" } else { "platform" };
        let path = path.clone();
        let app = &app;
        async move { app.post_form(&path, &[("name", name)]).await }
    });
    let statuses: Vec<u16> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();

    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        7,
        "the others are told, never a 500: {statuses:?}"
    );
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM teams").await,
        1
    );
}

async fn a_member_sees_teams_but_cannot_manage_them(backend: Backend) {
    let Some(app) = app_with_people(backend).await else {
        return;
    };
    let team = create_team(&app, "Platform").await;
    add_to_team(&app, team, CY).await;
    let cy = app.membership_id(CY).await;
    let bea = app.browser_for(BEA).await;
    let page = format!("{}/{team}", teams_path());

    let (status, list) = bea.get_html(&teams_path()).await;
    assert_eq!(status, 200);
    assert!(list.contains("Platform") && !list.contains("Create team"));
    let (status, shown) = bea.get_html(&format!("{page}?q=cy")).await;
    assert_eq!(status, 200);
    assert!(shown.contains(CY), "members see who is in the team");
    for hidden in ["Delete team", "Rename team", "Add members", ">Remove<"] {
        assert!(!shown.contains(hidden), "{hidden} is not shown");
    }
    assert!(texts(&shown, "#candidates").is_empty());

    let bea_id = app.membership_id(BEA).await.to_string();
    let refused = [
        bea.post_form(&teams_path(), &[("name", "Mine")]).await,
        bea.post_form(&format!("{page}/rename"), &[("name", "Mine")])
            .await,
        bea.get(&format!("{page}/delete")).await,
        bea.post_form(&format!("{page}/delete"), &[]).await,
        bea.post_form(
            &format!("{page}/members"),
            &[("member_id", bea_id.as_str())],
        )
        .await,
        bea.post_form(&format!("{page}/members/{cy}/remove"), &[])
            .await,
    ];
    for response in refused {
        assert_eq!(response.status(), 403, "{}", response.url());
    }

    let token = bea.create_token(ORG_SLUG, "bea").await;
    let (status, listed) = app.api(Method::GET, &token, &teams_path(), None).await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["name"], "Platform");
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &teams_path(),
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (status, _) = app
        .api(
            Method::DELETE,
            &token,
            &format!("{page}/members/{cy}"),
            None,
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM team_members").await,
        1,
        "nothing changed"
    );
}

async fn another_organizations_team_is_a_404(backend: Backend) {
    let Some(app) = app_with_people(backend).await else {
        return;
    };
    let now = app.state.clock.now();
    let mut tx = app.state.db.begin().await.unwrap();
    let other = db::orgs::insert(&mut tx, "Difference Engines", now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let theirs = {
        let mut tx = app.state.db.begin().await.unwrap();
        let id = db::teams::insert(&mut tx, other.id, "Theirs", "theirs", now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    };
    let bea = app.membership_id(BEA).await.to_string();
    let page = format!("{}/{theirs}", teams_path());

    assert_eq!(app.get(&page).await.status(), 404);
    assert_eq!(app.get(&format!("{page}/delete")).await.status(), 404);
    for (path, fields) in [
        (format!("{page}/rename"), vec![("name", "Mine")]),
        (format!("{page}/delete"), vec![]),
        (format!("{page}/members"), vec![("member_id", bea.as_str())]),
    ] {
        assert_eq!(app.post_form(&path, &fields).await.status(), 404, "{path}");
    }
    let token = app.create_token(ORG_SLUG, "ada").await;
    for method in [Method::GET, Method::DELETE] {
        let (status, _) = app.api(method, &token, &page, None).await;
        assert_eq!(status, 404);
    }
    // A member of the other organization is no member to add here either.
    let mine = create_team(&app, "Mine").await;
    let (status, _) = app
        .api(
            Method::POST,
            &token,
            &format!("{}/{mine}/members", teams_path()),
            Some(json!({"member_id": 999_999})),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        scalar_text(
            &app.state.db,
            &format!("SELECT name FROM teams WHERE id = {theirs}")
        )
        .await,
        "Theirs"
    );
}

async fn removing_a_member_from_the_organization_removes_them_from_every_team(backend: Backend) {
    let Some(app) = app_with_people(backend).await else {
        return;
    };
    let platform = create_team(&app, "Platform").await;
    let finance = create_team(&app, "Finance").await;
    add_to_team(&app, platform, BEA).await;
    add_to_team(&app, finance, BEA).await;
    add_to_team(&app, finance, CY).await;
    let bea = app.membership_id(BEA).await;

    let removed = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/members/{bea}/remove"),
            &[("confirm_email", BEA)],
        )
        .await;
    assert_eq!(removed.status(), 303);

    assert_eq!(
        scalar_i64(
            &app.state.db,
            &format!("SELECT COUNT(*) FROM team_members WHERE membership_id = {bea}")
        )
        .await,
        0
    );
    let (_, list) = app.get_html(&teams_path()).await;
    assert_eq!(texts(&list, &format!("#team-{platform} td"))[1], "0");
    assert_eq!(texts(&list, &format!("#team-{finance} td"))[1], "1");
}

async fn the_members_page_shows_teams_and_filters_by_team(backend: Backend) {
    let Some(app) = app_with_people(backend).await else {
        return;
    };
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/invitations"),
        &[("emails", "pending@example.com"), ("role", "member")],
    )
    .await;
    let platform = create_team(&app, "Platform").await;
    let finance = create_team(&app, "Finance").await;
    add_to_team(&app, platform, BEA).await;
    add_to_team(&app, finance, BEA).await;
    add_to_team(&app, platform, CY).await;
    let bea = app.membership_id(BEA).await;

    let members = format!("/orgs/{ORG_SLUG}/members");
    let (_, page) = app.get_html(&members).await;
    assert_eq!(
        texts(&page, &format!("#member-{bea} .cell-teams")),
        ["Finance, Platform"]
    );
    assert_eq!(
        texts(&page, "#member-team option"),
        ["Any team", "Finance", "Platform"]
    );

    let (_, filtered) = app
        .get_html(&format!("{members}?team={finance}&sort=email"))
        .await;
    assert_eq!(
        texts(&filtered, ".cell-email"),
        [BEA],
        "no invitations either"
    );
    assert_eq!(
        attrs(&filtered, "#member-team option[selected]", "value"),
        [finance.to_string()]
    );
    for href in attrs(&filtered, "thead a", "href") {
        assert!(href.contains(&format!("team={finance}")), "{href}");
    }
    let (_, platform_rows) = app.get_html(&format!("{members}?team={platform}")).await;
    assert_eq!(texts(&platform_rows, "#member-matches")[0], "2 rows");
    // htmx swaps the results alone: the rows' teams come with them.
    let partial = app
        .client
        .get(app.url(&format!("{members}?team={platform}")))
        .header("HX-Request", "true")
        .header("HX-Target", "members-results")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(partial.contains("Finance, Platform"), "{partial}");

    let token = app.create_token(ORG_SLUG, "ada").await;
    let (_, listed) = app
        .api(
            Method::GET,
            &token,
            &format!("/orgs/{ORG_SLUG}/members?team={platform}&sort=email"),
            None,
        )
        .await;
    assert_eq!(listed["total"], 2);
    assert_eq!(listed["items"][0]["email"], BEA);
    assert_eq!(listed["items"][0]["teams"], json!(["Finance", "Platform"]));
    let (_, one) = app
        .api(
            Method::GET,
            &token,
            &format!("/orgs/{ORG_SLUG}/members/{bea}"),
            None,
        )
        .await;
    assert_eq!(one["teams"], json!(["Finance", "Platform"]));
}

async fn the_member_export_has_a_teams_column(backend: Backend) {
    let Some(app) = app_with_people(backend).await else {
        return;
    };
    let platform = create_team(&app, "Platform").await;
    let finance = create_team(&app, "=Finance").await;
    add_to_team(&app, platform, BEA).await;
    add_to_team(&app, finance, BEA).await;

    let text = csv_download(
        app.get(&format!("/orgs/{ORG_SLUG}/members.csv?sort=email"))
            .await,
        "members-analytical-engines.csv",
    )
    .await;

    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].ends_with(",last_active,teams"), "{}", lines[0]);
    let bea = lines.iter().find(|l| l.starts_with(BEA)).unwrap();
    assert!(
        bea.ends_with(",'=Finance; Platform"),
        "defused, by name: {bea}"
    );
    let cy = lines.iter().find(|l| l.starts_with(CY)).unwrap();
    assert!(cy.ends_with(','), "no team: {cy}");
}

async fn teams_are_managed_through_the_api(backend: Backend) {
    let Some(app) = app_with_people(backend).await else {
        return;
    };
    let token = app.create_token(ORG_SLUG, "ada").await;
    let bea = app.membership_id(BEA).await;

    let (status, team) = app
        .api(
            Method::POST,
            &token,
            &teams_path(),
            Some(json!({"name": " Platform "})),
        )
        .await;
    assert_eq!(status, 201, "{team}");
    assert_eq!(team["name"], "Platform");
    assert_eq!(team["member_count"], 0);
    let path = format!("{}/{}", teams_path(), team["id"]);
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &teams_path(),
            Some(json!({"name": "platform"})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("name_taken")));
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &teams_path(),
            Some(json!({"name": "a\u{1b}b"})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["fields"]["name"].is_string(), "{body}");

    let (status, renamed) = app
        .api(
            Method::PATCH,
            &token,
            &path,
            Some(json!({"name": "Platform team"})),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (200, Some("Platform team"))
    );

    let (status, added) = app
        .api(
            Method::POST,
            &token,
            &format!("{path}/members"),
            Some(json!({"member_id": bea})),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["email"], BEA);
    assert_eq!(added["role"], "member");
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &format!("{path}/members"),
            Some(json!({"member_id": bea})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("already_in_team"))
    );
    let (_, listed) = app
        .api(Method::GET, &token, &format!("{path}/members"), None)
        .await;
    assert_eq!(listed[0]["id"], bea);
    let (_, teams) = app.api(Method::GET, &token, &teams_path(), None).await;
    assert_eq!(teams[0]["member_count"], 1);

    let remove = format!("{path}/members/{bea}");
    let (status, _) = app.api(Method::DELETE, &token, &remove, None).await;
    assert_eq!(status, 204);
    let (status, body) = app.api(Method::DELETE, &token, &remove, None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_in_team")));
    let (status, _) = app.api(Method::DELETE, &token, &path, None).await;
    assert_eq!(status, 204);
    let (status, _) = app.api(Method::GET, &token, &path, None).await;
    assert_eq!(status, 404);
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM audit_events WHERE action LIKE 'team.%'"
        )
        .await,
        5,
        "created, renamed, member added and removed, deleted"
    );
}

crate::on_both_backends!(
    an_admin_creates_renames_and_deletes_a_team,
    members_are_found_added_and_removed,
    team_names_are_unique_in_any_case_and_checked_in_words,
    parallel_creates_of_one_name_leave_one_team,
    a_member_sees_teams_but_cannot_manage_them,
    another_organizations_team_is_a_404,
    removing_a_member_from_the_organization_removes_them_from_every_team,
    the_members_page_shows_teams_and_filters_by_team,
    the_member_export_has_a_teams_column,
    teams_are_managed_through_the_api,
);
