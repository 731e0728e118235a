//! Exporting the member list as CSV: the Members page's current view and the API's
//! filters, every row the view keeps (invitations too), cells no spreadsheet runs,
//! allowed to Owners, Admins and Billing managers only, audited.

use reqwest::Method;
use roster::db;
use roster::domain::Role;

use crate::helpers::*;

fn parse(csv: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

async fn the_page_exports_its_current_view(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(
        ORG_SLUG,
        "bea@example.com",
        "=HYPERLINK(\"http://x\")",
        Role::Admin,
    )
    .await;
    app.add_member(ORG_SLUG, "cy@example.com", "Cy", Role::Viewer)
        .await;
    exec_sql(
        &app.state.db,
        "UPDATE users SET status = 'deactivated' WHERE email_normalized = 'cy@example.com'",
    )
    .await;
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/invitations"),
        &[("emails", "dee@example.com"), ("role", "member")],
    )
    .await;

    // The page offers the view's download.
    let (_, page) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/members?role=admin&sort=email"))
        .await;
    let href = attrs(&page, "a[download]", "href");
    assert_eq!(
        href,
        [format!(
            "/orgs/{ORG_SLUG}/members.csv?role=admin&sort=email&dir=asc"
        )]
    );

    let text = csv_download(app.get(&href[0]).await, "members-analytical-engines.csv").await;
    assert!(
        text.starts_with(
            "email,name,role,status,seat,two_factor,sign_in_method,joined,last_active,teams\n"
        ),
        "{text}"
    );
    let rows = parse(&text);
    assert_eq!(rows.len(), 1, "only the view's rows: {rows:?}");
    assert_eq!(rows[0][0], "bea@example.com");
    assert_eq!(rows[0][1], "'=HYPERLINK(\"http://x\")", "no formula runs");
    assert_eq!(rows[0][2], "Admin");
    assert_eq!(rows[0][3], "active");

    // Everything: members first in the order asked for, then the invitation.
    let text = app
        .get(&format!("/orgs/{ORG_SLUG}/members.csv?sort=email&dir=asc"))
        .await
        .text()
        .await
        .unwrap();
    let rows = parse(&text);
    let emails: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        emails,
        [
            ADMIN_EMAIL,
            "bea@example.com",
            "cy@example.com",
            "dee@example.com"
        ]
    );
    assert_eq!(rows[2][3], "account_deactivated");
    assert_eq!(rows[3][3], "invited");
    assert_eq!(
        rows[3][5], "",
        "an invitation has no second factor to report"
    );
    assert_eq!(rows[0][6], "password");
    assert!(
        rows[0][7].ends_with('Z'),
        "times in RFC 3339: {}",
        rows[0][7]
    );

    let events = db::audit::recent(&app.state.db, 5).await.unwrap();
    let exported: Vec<_> = events
        .iter()
        .filter(|e| e.action == "members.exported")
        .collect();
    assert_eq!(exported.len(), 2);
    assert!(
        exported
            .iter()
            .any(|e| e.after_value.as_deref() == Some("role: admin")),
        "{exported:?}"
    );
}

async fn only_owners_admins_and_billing_managers_export(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bill@example.com", "Bill", Role::Billing)
        .await;
    app.add_member(ORG_SLUG, "mo@example.com", "Mo", Role::Member)
        .await;
    let csv = format!("/orgs/{ORG_SLUG}/members.csv");

    let bill = app.browser_for("bill@example.com").await;
    assert_eq!(bill.get(&csv).await.status(), 200);
    let mo = app.browser_for("mo@example.com").await;
    assert_eq!(mo.get(&csv).await.status(), 403);
    let (_, page) = mo.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(
        attrs(&page, "a[download]", "href").is_empty(),
        "not offered"
    );
    assert_eq!(
        app.new_browser().get(&csv).await.status(),
        303,
        "signed out: to the sign-in page"
    );

    // The API: the same rules and the list's filters.
    let token = mo.create_token(ORG_SLUG, "sync").await;
    let (status, body) = mo.api(Method::GET, &token, &csv, None).await;
    assert_eq!(status, 403, "{body}");
    let token = app.create_token(ORG_SLUG, "sync").await;
    let response = app
        .client
        .get(app.url(&format!("/api/v1{csv}?role=member")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let rows = parse(&response.text().await.unwrap());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], "mo@example.com");
    let (status, body) = app
        .api(Method::GET, &token, &format!("{csv}?q=%01"), None)
        .await;
    assert_eq!(status, 422, "{body}");
}

crate::on_both_backends!(
    the_page_exports_its_current_view,
    only_owners_admins_and_billing_managers_export,
);
