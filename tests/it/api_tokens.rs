//! API tokens on the Account page and the organization's API tokens page: shown once,
//! stored as a hash, listed by prefix, revoked by their member or by an Owner or Admin,
//! and ended when the seat, the membership or the account ends.

use crate::helpers::*;
use reqwest::Method;
use roster::domain::Role;

fn me_path() -> String {
    format!("/orgs/{ORG_SLUG}")
}

async fn a_token_is_shown_once_stored_as_a_hash_and_listed_by_its_prefix(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    let secret = app.create_token(ORG_SLUG, "nightly sync").await;

    assert!(secret.starts_with("roster_"), "{secret}");
    let stored = scalar_text(&app.state.db, "SELECT token_hash FROM api_tokens").await;
    assert_eq!(stored, roster::domain::token::hash(&secret));
    let (status, page) = app.get_html("/account").await;
    assert_eq!(status, 200);
    assert!(!page.contains(&secret), "the secret is never shown again");
    let rows = texts(&page, "section[aria-labelledby=tokens-heading] tbody tr");
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains("nightly sync"), "{}", rows[0]);
    assert!(rows[0].contains(&secret[..15]), "{}", rows[0]);
    assert!(rows[0].contains("never"), "never used yet: {}", rows[0]);

    let (status, body) = app.api(Method::GET, &secret, &me_path(), None).await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app.get_html("/account").await;
    let rows = texts(&page, "section[aria-labelledby=tokens-heading] tbody tr");
    assert!(rows[0].contains("just now"), "last used: {}", rows[0]);
    let kinds = scalar_i64(
        &app.state.db,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'api_token.created' AND after_value = 'nightly sync'",
    )
    .await;
    assert_eq!(kinds, 1, "the creation is audited");
}

async fn a_bad_token_form_keeps_what_was_typed_and_creates_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    let response = app
        .post_form(
            "/account/tokens",
            &[
                ("token_name", "  "),
                ("org", "no-such-org"),
                ("expires", "5"),
            ],
        )
        .await;

    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert_eq!(
        texts(&page, "#token_name-error"),
        vec!["Enter a name for the token."]
    );
    assert_eq!(
        texts(&page, "#org-error"),
        vec!["Choose one of your organizations."]
    );
    assert_eq!(
        texts(&page, "#expires-error"),
        vec!["Choose when the token expires."]
    );
    assert!(
        texts(&page, "#name-error").is_empty(),
        "the account name is not blamed"
    );
    let response = app
        .post_form(
            "/account/tokens",
            &[
                ("token_name", "deploy bot"),
                ("org", ORG_SLUG),
                ("expires", "5"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(r#"value="deploy bot""#),
        "the typed name is kept"
    );
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM api_tokens").await,
        0
    );
}

async fn a_token_works_only_for_its_own_organization_and_only_while_valid(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let created = app
        .post_form(
            "/admin/orgs",
            &[
                ("org_name", "Difference Engines"),
                ("owner_email", ADMIN_EMAIL),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let secret = app.create_token(ORG_SLUG, "ci").await;

    let (status, body) = app
        .api(
            Method::GET,
            &secret,
            "/orgs/difference-engines/members",
            None,
        )
        .await;
    assert_eq!(status, 404, "another organization's URL: {body}");
    assert_eq!(body["code"], "not_found");

    let (status, body) = app
        .api(Method::GET, "roster_not-a-token", &me_path(), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let response = reqwest::Client::new()
        .get(app.url(&format!("/api/v1{}", me_path())))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "no token");
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"roster\""
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("Bearer"));

    exec_sql(
        &app.state.db,
        &format!(
            "UPDATE api_tokens SET expires_at = {}",
            app.clock().now() - 1
        ),
    )
    .await;
    let (status, body) = app.api(Method::GET, &secret, &me_path(), None).await;
    assert_eq!(status, 401, "expired: {body}");
    assert!(body["message"].as_str().unwrap().contains("expired"));
}

async fn a_member_revokes_their_own_token_and_it_stops_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let cleo = app.browser_for("cleo@example.com").await;
    let secret = cleo.create_token(ORG_SLUG, "laptop").await;
    let id = scalar_i64(&app.state.db, "SELECT id FROM api_tokens").await;
    let response = cleo.post_form("/account/tokens/999999/revoke", &[]).await;
    assert_eq!(response.status(), 404, "no such token");
    let created = app
        .post_form(
            "/admin/orgs",
            &[
                ("org_name", "Difference Engines"),
                ("owner_email", ADMIN_EMAIL),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let response = cleo
        .post_form(
            "/account/tokens",
            &[
                ("token_name", "elsewhere"),
                ("org", "difference-engines"),
                ("expires", "30"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422, "not Cleo's organization");
    let page = response.text().await.unwrap();
    assert_eq!(
        texts(&page, "#org-error"),
        vec!["Choose one of your organizations."]
    );

    let response = app
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), 303, "the Owner may revoke it too");
    let secret2 = cleo.create_token(ORG_SLUG, "desktop").await;
    let id2 = scalar_i64(&app.state.db, "SELECT id FROM api_tokens").await;
    let (status, _) = app.api(Method::GET, &secret, &me_path(), None).await;
    assert_eq!(status, 401, "revoked by the Owner");

    let response = cleo
        .post_form(&format!("/account/tokens/{id2}/revoke"), &[])
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/account");
    let (status, _) = cleo.api(Method::GET, &secret2, &me_path(), None).await;
    assert_eq!(status, 401);
    let (_, page) = cleo.get_html("/account").await;
    assert!(page.contains("You have no API tokens."));
    let revoked = scalar_i64(
        &app.state.db,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'api_token.revoked'",
    )
    .await;
    assert_eq!(revoked, 2);
}

async fn owners_and_admins_see_and_revoke_every_token_and_others_cannot(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    for (email, role) in [
        ("bea@example.com", Role::Admin),
        ("cleo@example.com", Role::Member),
        ("bill@example.com", Role::Billing),
        ("vic@example.com", Role::Viewer),
    ] {
        app.add_member(ORG_SLUG, email, "Someone", role).await;
    }
    let cleo = app.browser_for("cleo@example.com").await;
    cleo.create_token(ORG_SLUG, "cleo's script").await;
    let id = scalar_i64(&app.state.db, "SELECT id FROM api_tokens").await;
    let tokens_page = format!("/orgs/{ORG_SLUG}/tokens");

    for email in ["bill@example.com", "vic@example.com"] {
        let other = app.browser_for(email).await;
        let (status, page) = other.get_html(&tokens_page).await;
        assert_eq!(status, 403, "{email} sees no token list");
        assert!(!page.contains("cleo&#x27;s script") && !page.contains("cleo's script"));
        let response = other
            .post_form(&format!("/account/tokens/{id}/revoke"), &[])
            .await;
        assert_eq!(response.status(), 404, "{email} cannot revoke Cleo's token");
        let response = other
            .post_form(&format!("{tokens_page}/{id}/revoke"), &[])
            .await;
        assert_eq!(response.status(), 403);
    }
    let (_, members) = cleo.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(
        !members.contains(&tokens_page),
        "no API tokens link for a Member"
    );
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM api_tokens").await,
        1
    );

    let bea = app.browser_for("bea@example.com").await;
    let (status, page) = bea.get_html(&tokens_page).await;
    assert_eq!(status, 200);
    let rows = texts(&page, "tbody tr");
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains("cleo@example.com"), "{}", rows[0]);
    let response = bea
        .post_form(&format!("{tokens_page}/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), tokens_page);
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM api_tokens").await,
        0
    );
}

async fn with_seats_on_only_seated_members_create_tokens_and_losing_the_seat_ends_them(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let cleo = app.browser_for("cleo@example.com").await;
    let early = cleo.create_token(ORG_SLUG, "before seats").await;
    assert_eq!(app.turn_seats_on("5").await.status(), 303);

    let (status, body) = cleo.api(Method::GET, &early, &me_path(), None).await;
    assert_eq!(status, 403, "no seat: {body}");
    let response = cleo
        .post_form(
            "/account/tokens",
            &[
                ("token_name", "no seat"),
                ("org", ORG_SLUG),
                ("expires", "30"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(texts(&page, "#org-error")[0].contains("limits seats"));

    let cleo_id = app.membership_id("cleo@example.com").await.to_string();
    let seat = |action: &'static str| {
        let ids = cleo_id.clone();
        let app = &app;
        async move {
            app.post_form(
                &format!("/orgs/{ORG_SLUG}/members/seats"),
                &[("seat_action", action), ("ids", &ids), ("confirm", "yes")],
            )
            .await
        }
    };
    assert_eq!(seat("assign").await.status(), 303);
    let seated = cleo.create_token(ORG_SLUG, "with a seat").await;
    let (status, _) = cleo.api(Method::GET, &seated, &me_path(), None).await;
    assert_eq!(status, 200);

    assert_eq!(seat("revoke").await.status(), 303);

    let (status, _) = cleo.api(Method::GET, &seated, &me_path(), None).await;
    assert_eq!(status, 401, "the seat's tokens died with it");
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM api_tokens").await,
        0
    );
}

async fn deactivation_removal_and_account_deactivation_end_tokens(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    for email in ["cleo@example.com", "dan@example.com", "eve@example.com"] {
        app.add_member(ORG_SLUG, email, "Someone", Role::Member)
            .await;
    }
    let mut secrets = Vec::new();
    for email in ["cleo@example.com", "dan@example.com", "eve@example.com"] {
        let browser = app.browser_for(email).await;
        secrets.push(browser.create_token(ORG_SLUG, "script").await);
    }
    let member = |email: &'static str| {
        let app = &app;
        async move { app.membership_id(email).await }
    };
    let (cleo, dan) = (
        member("cleo@example.com").await,
        member("dan@example.com").await,
    );
    let eve_user = scalar_i64(
        &app.state.db,
        "SELECT id FROM users WHERE email_normalized = 'eve@example.com'",
    )
    .await;

    let response = app
        .post_form(&format!("/orgs/{ORG_SLUG}/members/{cleo}/deactivate"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let response = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/members/{dan}/remove"),
            &[("confirm_email", "dan@example.com")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = app
        .post_form(&format!("/admin/users/{eve_user}/deactivate"), &[])
        .await;
    assert_eq!(response.status(), 303);

    for secret in &secrets {
        let (status, body) = app.api(Method::GET, secret, &me_path(), None).await;
        assert_eq!(status, 401, "{body}");
    }
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM api_tokens").await,
        0
    );
    let response = app
        .post_form(&format!("/orgs/{ORG_SLUG}/members/{cleo}/activate"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let (status, _) = app.api(Method::GET, &secrets[0], &me_path(), None).await;
    assert_eq!(status, 401, "a token does not come back with the member");
}

crate::on_both_backends!(
    a_token_is_shown_once_stored_as_a_hash_and_listed_by_its_prefix,
    a_bad_token_form_keeps_what_was_typed_and_creates_nothing,
    a_token_works_only_for_its_own_organization_and_only_while_valid,
    a_member_revokes_their_own_token_and_it_stops_at_once,
    owners_and_admins_see_and_revoke_every_token_and_others_cannot,
    with_seats_on_only_seated_members_create_tokens_and_losing_the_seat_ends_them,
    deactivation_removal_and_account_deactivation_end_tokens,
);
