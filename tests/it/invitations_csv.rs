use crate::helpers::*;
use roster::db::{self, Db};
use roster::domain::{Role, token};

/// Uploads `csv` and, when the upload is taken, opens the preview it redirects to.
async fn upload(app: &TestApp, csv: &str, role: &str) -> reqwest::Response {
    let response = send_upload(app, csv, role).await;
    if response.status() != 303 {
        return response;
    }
    app.get(&location(&response)).await
}

/// Uploads `csv` and returns the upload's own answer.
async fn send_upload(app: &TestApp, csv: &str, role: &str) -> reqwest::Response {
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
            "8 boss@example.com superuser unknown role “superuser”; use one of Owner, Admin, Billing manager (billing_manager), Member or Viewer",
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

async fn the_preview_has_its_own_address_and_reloading_it_sends_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    let uploaded = send_upload(&app, "x@example.com\ny@example.com\n", "member").await;

    assert_eq!(uploaded.status(), 303);
    let preview = location(&uploaded);
    let id = scalar_i64(&app.state.db, "SELECT id FROM csv_imports").await;
    assert_eq!(preview, format!("/orgs/{ORG_SLUG}/invitations/csv/{id}"));
    let (first_status, first) = app.get_html(&preview).await;
    let (again_status, again) = app.get_html(&preview).await;
    assert_eq!((first_status, again_status), (200, 200));
    assert_eq!(texts(&first, "tbody tr"), texts(&again, "tbody tr"));
    assert_eq!(
        texts(&first, "tbody tr"),
        [
            "1 x@example.com Member will be invited",
            "2 y@example.com Member will be invited"
        ]
    );
    assert_eq!(texts(&first, "h1"), ["Check people.csv before inviting"]);
    assert_eq!(invitation_count(&app).await, 0, "a reload invites nobody");
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM csv_imports").await,
        1,
        "a reload stores nothing"
    );
    let confirmed = app.post_form(&confirm_action(&first), &[]).await;
    assert_eq!(confirmed.status(), 200, "links shown (no SMTP)");
    assert_eq!(invitation_count(&app).await, 2);
    let (gone, _) = app.get_html(&preview).await;
    assert_eq!(gone, 404, "a confirmed upload has no preview any more");
}

async fn someone_elses_preview_cannot_be_seen(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "admin@example.com", "Bea", Role::Admin)
        .await;
    let admin = app.browser_for("admin@example.com").await;
    let preview = location(&send_upload(&app, "secret@example.com\n", "member").await);

    let (status, page) = admin.get_html(&preview).await;

    assert_eq!(status, 404);
    assert!(!page.contains("secret@example.com"));
}

async fn role_names_are_read_as_people_write_them(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let csv = "email,role\na@example.com,billing_manager\nb@example.com,Billing manager\nc@example.com,BILLING-MANAGER\nd@example.com,ADMIN\ne@example.com,boss\n";

    let html = upload(&app, csv, "member").await.text().await.unwrap();

    assert_eq!(
        texts(&html, "tbody tr"),
        [
            "2 a@example.com Billing manager will be invited",
            "3 b@example.com Billing manager will be invited",
            "4 c@example.com Billing manager will be invited",
            "5 d@example.com Admin will be invited",
            "6 e@example.com boss unknown role “boss”; use one of Owner, Admin, Billing manager (billing_manager), Member or Viewer",
        ]
    );
    let confirmed = app.post_form(&confirm_action(&html), &[]).await;
    assert_eq!(confirmed.status(), 200);
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM invitations WHERE role = 'billing'"
        )
        .await,
        3
    );
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

/// Invites early@ and late@ and lets both expire, then confirms a CSV file that invites
/// them again (Early@ first, as Admin; late@ last, as Viewer) around more new addresses
/// than one chunk of writes holds. Returns the confirmation's response, the file's
/// addresses in order, and when the confirmation began.
async fn confirm_a_large_csv_with_renewals(app: &TestApp) -> (reqwest::Response, Vec<String>, i64) {
    app.set_up().await;
    exec_sql(
        &app.state.db,
        "UPDATE organizations SET max_pending_invitations = 5000, max_members = 5000",
    )
    .await;
    let first = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations"),
            &[
                ("emails", "early@example.com, late@example.com"),
                ("role", "member"),
            ],
        )
        .await;
    assert!(first.status().as_u16() < 400, "{}", first.status());
    app.clock().advance(7 * 86_400 + 1);
    let mut addresses = vec!["Early@Example.com".to_string()];
    addresses.extend((0..db::ROW_CHUNK).map(|i| format!("new-{i}@example.com")));
    addresses.push("late@example.com".to_string());
    let mut csv = "email,role\nEarly@Example.com,admin\n".to_string();
    for address in &addresses[1..addresses.len() - 1] {
        csv.push_str(&format!("{address},\n"));
    }
    csv.push_str("late@example.com,viewer\n");
    let html = upload(app, &csv, "member").await.text().await.unwrap();
    let confirmed_at = app.clock().now();

    let response = app.post_form(&confirm_action(&html), &[]).await;

    (response, addresses, confirmed_at)
}

/// An invitation as stored, with the email linked to it if any.
struct Stored {
    email: String,
    role: String,
    token_hash: String,
    send_count: i64,
    outbox_id: Option<i64>,
    recipient: Option<String>,
    text_body: Option<String>,
}

async fn stored_invitations(db: &Db) -> Vec<Stored> {
    type Row = (
        String,
        String,
        String,
        i64,
        Option<i64>,
        Option<String>,
        Option<String>,
    );
    const SQL: &str = "SELECT i.email_normalized, i.role, i.token_hash, i.send_count, i.outbox_id, \
                       o.recipient, o.text_body \
                       FROM invitations i LEFT JOIN outbox o ON o.id = i.outbox_id ORDER BY i.id";
    let rows: Vec<Row> = match db {
        Db::Sqlite(pool, _) => sqlx::query_as(SQL).fetch_all(pool).await,
        Db::Postgres(pool) => sqlx::query_as(SQL).fetch_all(pool).await,
    }
    .unwrap();
    rows.into_iter()
        .map(
            |(email, role, token_hash, send_count, outbox_id, recipient, text_body)| Stored {
                email,
                role,
                token_hash,
                send_count,
                outbox_id,
                recipient,
                text_body,
            },
        )
        .collect()
}

/// The hash of the invitation token in a link (or in a text with one link).
fn token_hash_in(text: &str) -> String {
    let (_, rest) = text.split_once("/invitations/").expect("a link");
    let token: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    token::hash(&token)
}

/// Asserts that since `since` each invitation has exactly one `action` event, naming it
/// (with its role when `with_role`), by the Owner, and that there are no other such events.
async fn assert_one_event_per_invitation(app: &TestApp, action: &str, with_role: bool, since: i64) {
    let db = &app.state.db;
    let invitations = scalar_i64(db, "SELECT COUNT(*) FROM invitations").await;
    let after = if with_role {
        "e.after_value = i.role"
    } else {
        "e.after_value IS NULL"
    };
    let matched = scalar_i64(
        db,
        &format!(
            "SELECT COUNT(*) FROM invitations i WHERE (SELECT COUNT(*) FROM audit_events e \
             WHERE e.action = '{action}' AND e.at >= {since} AND e.org_id = i.org_id \
             AND e.actor_user_id = i.invited_by AND e.target_kind = 'invitation' \
             AND e.target_id = i.id AND e.target_email = i.email_normalized AND {after}) = 1"
        ),
    )
    .await;
    let all = scalar_i64(
        db,
        &format!("SELECT COUNT(*) FROM audit_events WHERE action = '{action}' AND at >= {since}"),
    )
    .await;
    assert_eq!(
        (matched, all),
        (invitations, invitations),
        "{action} events"
    );
}

async fn confirming_a_csv_file_writes_each_invitation_once_with_its_own_email(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };

    let (response, addresses, confirmed_at) = confirm_a_large_csv_with_renewals(&app).await;

    assert_eq!(response.status(), 303);
    let stored = stored_invitations(&app.state.db).await;
    assert_eq!(
        stored.len(),
        addresses.len(),
        "the expired two renewed in place"
    );
    let (early, late) = (&stored[0], &stored[1]);
    assert_eq!(
        (early.email.as_str(), early.role.as_str(), early.send_count),
        ("early@example.com", "admin", 2)
    );
    assert_eq!(
        (late.email.as_str(), late.role.as_str(), late.send_count),
        ("late@example.com", "viewer", 2)
    );
    for invitation in &stored {
        let recipient = invitation.recipient.as_deref().expect("an email linked");
        assert_eq!(recipient.to_lowercase(), invitation.email);
        let text = invitation.text_body.as_deref().unwrap();
        assert_eq!(
            token_hash_in(text),
            invitation.token_hash,
            "the email to {recipient} carries its own invitation's link"
        );
    }
    let mut outbox_ids: Vec<i64> = stored.iter().filter_map(|i| i.outbox_id).collect();
    outbox_ids.sort_unstable();
    outbox_ids.dedup();
    assert_eq!(outbox_ids.len(), stored.len(), "one email per invitation");
    assert_one_event_per_invitation(&app, "invitation.created", true, confirmed_at).await;
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.link_shown'"
        )
        .await,
        0
    );
}

async fn without_smtp_a_csv_file_shows_each_link_once_in_the_files_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let (response, addresses, confirmed_at) = confirm_a_large_csv_with_renewals(&app).await;

    assert_eq!(response.status(), 200, "the links page");
    let html = response.text().await.unwrap();
    let shown: Vec<(String, String)> = texts(&html, "tbody tr td:first-child")
        .into_iter()
        .zip({
            let doc = scraper::Html::parse_document(&html);
            let selector = scraper::Selector::parse("input.link-copy").unwrap();
            doc.select(&selector)
                .map(|e| e.value().attr("value").unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        shown.iter().map(|(email, _)| email).collect::<Vec<_>>(),
        addresses.iter().collect::<Vec<_>>()
    );
    let stored = stored_invitations(&app.state.db).await;
    assert_eq!(
        stored.len(),
        addresses.len(),
        "the expired two renewed in place"
    );
    for (email, link) in &shown {
        let invitation = stored
            .iter()
            .find(|i| i.token_hash == token_hash_in(link))
            .expect("each link opens an invitation");
        assert_eq!(invitation.email, email.to_lowercase());
    }
    assert!(stored.iter().all(|i| i.outbox_id.is_none()));
    assert_one_event_per_invitation(&app, "invitation.created", true, confirmed_at).await;
    assert_one_event_per_invitation(&app, "invitation.link_shown", false, confirmed_at).await;
}

crate::on_both_backends!(
    confirming_a_csv_file_writes_each_invitation_once_with_its_own_email,
    without_smtp_a_csv_file_shows_each_link_once_in_the_files_order,
    a_csv_preview_says_what_happens_to_each_row_and_confirm_invites,
    rows_over_the_limit_are_marked_in_the_preview,
    a_bad_file_is_explained_next_to_the_field,
    someone_elses_preview_cannot_be_confirmed,
    viewers_cannot_upload,
    the_preview_has_its_own_address_and_reloading_it_sends_nothing,
    someone_elses_preview_cannot_be_seen,
    role_names_are_read_as_people_write_them,
);
