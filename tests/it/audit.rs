//! The audit log pages and export: what Owners and Admins see, what others are refused,
//! filters, keyset pages, the streamed CSV file and retention, on both backends.

use crate::helpers::*;
use roster::db;
use roster::domain::Role;

fn audit_path() -> String {
    format!("/orgs/{ORG_SLUG}/audit")
}

async fn org_id(app: &TestApp, slug: &str) -> i64 {
    db::orgs::find_by_slug(&app.state.db, slug)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Inserts `n` events of `action` in the organization (or the instance, with None),
/// `age` seconds old, in statements of a thousand rows.
async fn insert_events(app: &TestApp, org: Option<i64>, action: &str, n: usize, age: i64) {
    let at = app.state.clock.now() - age;
    let org = org.map_or("NULL".to_string(), |id| id.to_string());
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| {
                format!(
                    "({at}, {org}, 'bulk@example.com', '{action}', 'member', 'person{i}@example.com', '10.0.0.1')"
                )
            })
            .collect();
        exec_sql(
            &app.state.db,
            &format!(
                "INSERT INTO audit_events (at, org_id, actor_email, action, target_kind, target_email, ip) VALUES {}",
                rows.join(", ")
            ),
        )
        .await;
    }
}

/// The sentences of the events shown on `path`.
async fn sentences(app: &TestApp, path: &str) -> Vec<String> {
    let (status, html) = app.get_html(path).await;
    assert_eq!(status, 200, "{path}");
    texts(&html, "tbody tr td:nth-child(2)")
}

async fn owners_and_admins_read_who_did_what_to_whom(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Admin)
        .await;
    app.add_member(ORG_SLUG, "alice@example.com", "Alice", Role::Member)
        .await;
    let alice = app.membership_id("alice@example.com").await;
    let bea = app.browser_for("bea@example.com").await;
    let members = format!("/orgs/{ORG_SLUG}/members/{alice}");
    bea.post_form(&format!("{members}/role"), &[("role", "admin")])
        .await;
    app.post_form(
        &format!("{members}/remove"),
        &[("confirm_email", "alice@example.com")],
    )
    .await;
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/invitations"),
        &[("emails", "carl@example.com"), ("role", "viewer")],
    )
    .await;

    let (status, html) = bea.get_html(&audit_path()).await;

    assert_eq!(status, 200);
    let rows = texts(&html, "tbody tr");
    let said = texts(&html, "tbody tr td:nth-child(2)");
    assert_eq!(
        &said[..4],
        [
            "Ada Lovelace was shown the invitation link for carl@example.com",
            "Ada Lovelace invited carl@example.com as Viewer",
            "Ada Lovelace removed alice@example.com (Admin)",
            "Bea changed alice@example.com's role from Member to Admin",
        ]
    );
    assert!(
        rows[3].contains("127.0.0.1"),
        "from which address: {}",
        rows[3]
    );
    let changes = texts(&html, "tbody tr td:nth-child(3)");
    assert_eq!(
        changes[3], "Role: Member → Admin",
        "before and after in words"
    );
    assert_eq!(changes[2], "Role: was Admin");
    assert!(html.contains("<time datetime="), "when, exact on hover");
    let (_, members_page) = bea.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(texts(&members_page, ".org-nav a").contains(&"Audit log".to_string()));
}

async fn members_billing_and_viewers_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    for (email, role) in [
        ("m@example.com", Role::Member),
        ("b@example.com", Role::Billing),
        ("v@example.com", Role::Viewer),
    ] {
        app.add_member(ORG_SLUG, email, "Someone", role).await;
        let client = app.browser_for(email).await;

        assert_eq!(client.get(&audit_path()).await.status(), 403, "{email}");
        assert_eq!(
            client.get(&format!("{}.csv", audit_path())).await.status(),
            403,
            "{email}"
        );
        assert_eq!(client.get("/admin/audit").await.status(), 403, "{email}");
        let (_, page) = client.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
        assert!(!texts(&page, ".org-nav a").contains(&"Audit log".to_string()));
    }
    assert_eq!(app.new_browser().get(&audit_path()).await.status(), 303);
}

async fn another_organizations_events_never_appear(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let mut tx = app.state.db.begin().await.unwrap();
    let other = db::orgs::insert(&mut tx, "Difference Engines", app.state.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    insert_events(&app, Some(other.id), "member.removed", 3, 10).await;
    insert_events(&app, None, "session.signed_in", 2, 10).await;

    let page = sentences(&app, &audit_path()).await;
    let csv = app
        .get(&format!("{}.csv", audit_path()))
        .await
        .text()
        .await
        .unwrap();
    let elsewhere = app.get("/orgs/difference-engines/audit").await;

    assert!(!page.iter().any(|t| t.contains("person")), "{page:?}");
    assert!(!csv.contains("person"), "{csv}");
    assert_eq!(elsewhere.status(), 404);
    let instance = sentences(&app, "/admin/audit").await;
    assert!(instance.iter().any(|t| t == "bulk@example.com signed in"));
    assert!(
        !instance.iter().any(|t| t.contains("removed")),
        "{instance:?}"
    );
}

async fn filters_narrow_the_list_and_a_bad_date_is_explained(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let org = org_id(&app, ORG_SLUG).await;
    insert_events(&app, Some(org), "member.removed", 2, 3 * 86_400).await;
    insert_events(&app, Some(org), "member.deactivated", 3, 0).await;
    let today = roster::clock::iso(app.state.clock.now())[..10].to_string();
    let days_ago = roster::clock::iso(app.state.clock.now() - 3 * 86_400)[..10].to_string();

    let removed = sentences(&app, &format!("{}?action=member.removed", audit_path())).await;
    let by_target = sentences(
        &app,
        &format!("{}?target=PERSON1@example.com", audit_path()),
    )
    .await;
    let by_actor = sentences(&app, &format!("{}?actor=bulk@example.com", audit_path())).await;
    let by_ada = sentences(&app, &format!("{}?actor={ADMIN_EMAIL}", audit_path())).await;
    let old = sentences(
        &app,
        &format!("{}?from={days_ago}&until={days_ago}", audit_path()),
    )
    .await;
    let recent = sentences(&app, &format!("{}?from={today}", audit_path())).await;
    let bad = app
        .get(&format!(
            "{}?from=yesterday&actor=x@example.com",
            audit_path()
        ))
        .await;

    assert_eq!(removed.len(), 2);
    assert!(removed.iter().all(|t| t.contains("removed")));
    assert_eq!(by_target.len(), 2, "one of each kind: {by_target:?}");
    assert_eq!(by_actor.len(), 5);
    assert!(
        by_ada.iter().all(|t| t.starts_with("Ada Lovelace")),
        "{by_ada:?}"
    );
    assert_eq!(old.len(), 2, "{old:?}");
    assert!(recent.iter().all(|t| !t.contains("removed")), "{recent:?}");
    let bad_export = app
        .get(&format!("{}.csv?from=yesterday", audit_path()))
        .await;
    assert_eq!(
        bad_export.status(),
        303,
        "a bad export filter is explained on the page"
    );
    assert_eq!(
        location(&bad_export),
        format!("{}?from=yesterday&", audit_path())
    );
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.unwrap();
    assert_eq!(
        texts(&bad, "#from-error"),
        vec!["Enter a date like 2026-11-23."]
    );
    assert!(bad.contains(r#"value="yesterday""#) && bad.contains(r#"value="x@example.com""#));
}

async fn pages_go_back_in_time_by_keyset(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let org = org_id(&app, ORG_SLUG).await;
    exec_sql(&app.state.db, "DELETE FROM audit_events").await;
    insert_events(&app, Some(org), "member.activated", 120, 60).await;

    let mut seen = Vec::new();
    let mut path = audit_path();
    let mut pages = 0;
    loop {
        let (status, html) = app.get_html(&path).await;
        assert_eq!(status, 200);
        seen.extend(texts(&html, "tbody tr td:nth-child(2)"));
        pages += 1;
        let doc = scraper::Html::parse_document(&html);
        let older = scraper::Selector::parse("a[rel=next]").unwrap();
        let Some(link) = doc.select(&older).next() else {
            break;
        };
        path = link.value().attr("href").unwrap().replace("&amp;", "&");
    }

    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 120);
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 120, "no event twice, none skipped");
}

async fn the_csv_export_streams_every_matching_event(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let org = org_id(&app, ORG_SLUG).await;
    insert_events(&app, Some(org), "member.removed", 20_000, 60).await;
    exec_sql(
        &app.state.db,
        &format!(
            "INSERT INTO audit_events (at, org_id, actor_email, action, target_email) \
             VALUES ({}, {org}, 'x@example.com', 'member.removed', '=HYPERLINK(\"http://evil\")')",
            app.state.clock.now()
        ),
    )
    .await;

    let response = app
        .get(&format!("{}.csv?action=member.removed", audit_path()))
        .await;

    let body = csv_download(response, "audit-analytical-engines.csv").await;
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 20_001);
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "time",
            "actor",
            "action",
            "description",
            "target",
            "address",
            "before",
            "after"
        ]
    );
    assert_eq!(
        &rows[0][4], "'=HYPERLINK(\"http://evil\")",
        "a formula is defused"
    );
    assert_eq!(&rows[1][2], "member.removed");
    assert!(rows[1][3].starts_with("bulk@example.com removed person"));
}

async fn retention_deletes_only_events_older_than_the_setting(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let org = org_id(&app, ORG_SLUG).await;
    insert_events(&app, Some(org), "member.removed", 5, 40 * 86_400).await;
    insert_events(&app, Some(org), "member.activated", 4, 20 * 86_400).await;
    let db = app.stop_and_take_db().await;

    let app = TestApp::spawn_on(db, &["--audit-retention-days", "30"]).await;

    let old = "SELECT COUNT(*) FROM audit_events WHERE action = 'member.removed'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while scalar_i64(&app.state.db, old).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "old events were not deleted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'member.activated'"
        )
        .await,
        4
    );
}

async fn changes_read_in_words_and_whoever_acts_on_themselves_is_named_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.turn_seats_on("10").await;
    // Seats off again: the same form without them.
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/settings"),
        &[
            ("name", ORG_NAME),
            ("lifetime_value", "7"),
            ("lifetime_unit", "days"),
            ("max_pending_invitations", "50"),
            ("max_members", "1000"),
            ("allowed_email_domains", ""),
        ],
    )
    .await;
    let invited = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations"),
            &[("emails", "hedy@example.com"), ("role", "billing")],
        )
        .await;
    let html = invited.text().await.unwrap();
    let link = scraper::Html::parse_document(&html)
        .select(&scraper::Selector::parse("input.link-copy").unwrap())
        .next()
        .and_then(|e| e.value().attr("value").map(str::to_string))
        .expect("the invitation's link");
    let path = &link[link.find("/invitations/").unwrap()..];
    let hedy = app.new_browser();
    hedy.get(path).await;
    let declined = hedy.post_form(&format!("{path}/decline"), &[]).await;
    assert_eq!(declined.status(), 303);

    let (status, html) = app.get_html(&audit_path()).await;

    assert_eq!(status, 200);
    let said = texts(&html, "tbody tr td:nth-child(2)");
    let changes = texts(&html, "tbody tr td:nth-child(3)");
    assert_eq!(said[0], "hedy@example.com declined their invitation");
    assert_eq!(
        said[2],
        "Ada Lovelace invited hedy@example.com as Billing manager"
    );
    assert_eq!(changes[2], "Role: Billing manager");
    assert_eq!(said[3], "Ada Lovelace changed the organization's settings");
    assert_eq!(changes[3], "Seat limit: 10 → none");
    assert_eq!(changes[4], "Seat limit: none → 10");
    let table = texts(&html, "table.audit").concat();
    assert!(
        !table.contains(['{', '"']) && !table.contains("billing") && !table.contains("null"),
        "no stored JSON or internal names on the page: {table}"
    );
}

crate::on_both_backends!(
    owners_and_admins_read_who_did_what_to_whom,
    members_billing_and_viewers_are_refused,
    another_organizations_events_never_appear,
    filters_narrow_the_list_and_a_bad_date_is_explained,
    pages_go_back_in_time_by_keyset,
    the_csv_export_streams_every_matching_event,
    retention_deletes_only_events_older_than_the_setting,
    changes_read_in_words_and_whoever_acts_on_themselves_is_named_once,
);
