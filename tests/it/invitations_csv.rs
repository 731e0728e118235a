use crate::helpers::*;
use roster::domain::Role;

async fn upload(app: &TestApp, csv: &str, role: &str) -> reqwest::Response {
    let token = app.csrf_token().await;
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
                .file_name("people.csv")
                .mime_str("text/csv")
                .unwrap(),
        )
        .text("role", role.to_string());
    app.client
        .post(app.url(&format!(
            "/orgs/{ORG_SLUG}/invitations/csv?csrf_token={token}"
        )))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn confirm_action(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse("form.actions").unwrap();
    doc.select(&selector)
        .next()
        .unwrap()
        .value()
        .attr("action")
        .unwrap()
        .to_string()
}

async fn invitation_count(app: &TestApp) -> i64 {
    scalar_i64(&app.state.db, "SELECT COUNT(*) FROM invitations").await
}

async fn a_csv_preview_says_what_happens_to_each_row_and_confirm_invites(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/invitations"),
        &[("emails", "pending@example.com"), ("role", "member")],
    )
    .await;
    exec_sql(
        &app.state.db,
        "UPDATE organizations SET allowed_email_domains = 'example.com'",
    )
    .await;
    let csv = "email,role\nnew@example.com,admin\nada@example.com,member\npending@example.com,\nnot-an-email,\nnew@example.com,viewer\nout@elsewhere.org,\nboss@example.com,superuser\nplain@example.com,\n";

    let preview = upload(&app, csv, "viewer").await;

    assert_eq!(preview.status(), 200);
    let html = preview.text().await.unwrap();
    assert_eq!(
        texts(&html, "tbody tr"),
        vec![
            "2 new@example.com Admin will be invited",
            "3 ada@example.com Member already a member",
            "4 pending@example.com Viewer already invited (resend the pending invitation instead)",
            "5 not-an-email Viewer invalid address: Enter a valid email address, like name@example.com.",
            "6 new@example.com Viewer duplicate in this list",
            "7 out@elsewhere.org Viewer domain not allowed in this organization",
            "8 boss@example.com superuser unknown role “superuser”",
            "9 plain@example.com Viewer will be invited",
        ]
    );
    assert!(
        texts(&html, "main p")[0].starts_with("2 people will be invited; 6 rows will be skipped")
    );
    assert_eq!(
        invitation_count(&app).await,
        1,
        "nothing written before confirming"
    );

    let confirmed = app.post_form(&confirm_action(&html), &[]).await;

    assert_eq!(confirmed.status(), 200, "links shown (no SMTP)");
    assert_eq!(invitation_count(&app).await, 3);
    assert_eq!(
        scalar_text(
            &app.state.db,
            "SELECT role FROM invitations WHERE email = 'new@example.com'"
        )
        .await,
        "admin"
    );
    assert_eq!(
        scalar_text(
            &app.state.db,
            "SELECT role FROM invitations WHERE email = 'plain@example.com'"
        )
        .await,
        "viewer"
    );
    let again = app.post_form(&confirm_action(&html), &[]).await;
    assert_eq!(again.status(), 404, "a preview is confirmed once");
}

async fn rows_over_the_limit_are_marked_in_the_preview(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    exec_sql(
        &app.state.db,
        "UPDATE organizations SET max_pending_invitations = 2",
    )
    .await;

    let preview = upload(
        &app,
        "a@example.com\nb@example.com\nc@example.com\n",
        "member",
    )
    .await;

    let rows = texts(&preview.text().await.unwrap(), "tbody tr");
    assert_eq!(
        rows[2],
        "3 c@example.com Member over the organization's limit"
    );
}

async fn a_bad_file_is_explained_next_to_the_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    let response = upload(&app, "email\n\n", "member").await;

    assert_eq!(response.status(), 422);
    assert_eq!(
        texts(&response.text().await.unwrap(), "#csv-error"),
        vec!["The file has no email addresses."]
    );
}

async fn someone_elses_preview_cannot_be_confirmed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "admin@example.com", "Bea", Role::Admin)
        .await;
    let admin = app.browser_for("admin@example.com").await;
    let html = upload(&app, "x@example.com\n", "member")
        .await
        .text()
        .await
        .unwrap();

    let response = admin.post_form(&confirm_action(&html), &[]).await;

    assert_eq!(response.status(), 404);
    assert_eq!(invitation_count(&app).await, 0);
}

async fn viewers_cannot_upload(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "viewer@example.com", "Vi", Role::Viewer)
        .await;
    let viewer = app.browser_for("viewer@example.com").await;

    let response = upload(&viewer, "x@example.com\n", "viewer").await;

    assert_eq!(response.status(), 403);
}

crate::on_both_backends!(
    a_csv_preview_says_what_happens_to_each_row_and_confirm_invites,
    rows_over_the_limit_are_marked_in_the_preview,
    a_bad_file_is_explained_next_to_the_field,
    someone_elses_preview_cannot_be_confirmed,
    viewers_cannot_upload,
);
