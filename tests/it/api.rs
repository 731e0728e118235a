//! The JSON API: every endpoint, its errors in one shape, the same rules as the pages,
//! and an OpenAPI document that matches the server.

use std::collections::BTreeSet;

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;
use reqwest::Method;
use roster::domain::Role;
use serde_json::{Value, json};

/// Roster set up, with the Owner's API token.
async fn api_app(backend: Backend, extra: &[&str]) -> Option<(TestApp, String)> {
    let app = TestApp::spawn_with(backend, extra).await?;
    app.set_up().await;
    let token = app.create_token(ORG_SLUG, "owner's script").await;
    Some((app, token))
}

/// A token for a member added with `role`.
async fn token_for(app: &TestApp, email: &str, role: Role) -> String {
    app.add_member(ORG_SLUG, email, "Someone", role).await;
    app.browser_for(email)
        .await
        .create_token(ORG_SLUG, "script")
        .await
}

fn org(path: &str) -> String {
    format!("/orgs/{ORG_SLUG}{path}")
}

/// The emails of a page of members or invitations.
fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_string())
        .collect()
}

/// The operations the API offers (issue: members, invitations, seats, organization).
const OPERATIONS: [(&str, &str); 23] = [
    ("get", "/orgs/{slug}"),
    ("get", "/orgs/{slug}/members"),
    ("get", "/orgs/{slug}/members.csv"),
    ("get", "/orgs/{slug}/members/{id}"),
    ("post", "/orgs/{slug}/members/{id}/role"),
    ("post", "/orgs/{slug}/members/{id}/deactivate"),
    ("post", "/orgs/{slug}/members/{id}/activate"),
    ("post", "/orgs/{slug}/members/{id}/access"),
    ("delete", "/orgs/{slug}/members/{id}"),
    ("get", "/orgs/{slug}/invitations"),
    ("post", "/orgs/{slug}/invitations"),
    ("post", "/orgs/{slug}/invitations/{id}/resend"),
    ("post", "/orgs/{slug}/invitations/{id}/revoke"),
    ("post", "/orgs/{slug}/seats/assign"),
    ("post", "/orgs/{slug}/seats/revoke"),
    ("get", "/orgs/{slug}/teams"),
    ("post", "/orgs/{slug}/teams"),
    ("get", "/orgs/{slug}/teams/{id}"),
    ("patch", "/orgs/{slug}/teams/{id}"),
    ("delete", "/orgs/{slug}/teams/{id}"),
    ("get", "/orgs/{slug}/teams/{id}/members"),
    ("post", "/orgs/{slug}/teams/{id}/members"),
    ("delete", "/orgs/{slug}/teams/{id}/members/{member_id}"),
];

async fn the_openapi_document_matches_the_server(backend: Backend) {
    let Some((app, token)) = api_app(backend, &[]).await else {
        return;
    };
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let offered: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, offered,
        "every API route is documented, and only those"
    );

    // Every documented operation is served: with ids that exist nowhere it answers in
    // the API's shape, never the router's "no such route" or 405.
    for (method, path) in &documented {
        let responses = &doc["paths"][path][method]["responses"];
        for status in ["401", "404", "429"] {
            assert!(
                responses[status].is_object(),
                "{method} {path} documents {status}"
            );
        }
        let concrete = path.replace("{slug}", ORG_SLUG).replace("{id}", "999999");
        if concrete.ends_with(".csv") {
            let response = app
                .client
                .get(app.url(&format!("/api/v1{concrete}")))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{concrete}");
            assert_eq!(
                response.headers()["content-type"],
                "text/csv; charset=utf-8"
            );
            continue;
        }
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let body = (method != Method::GET).then(|| json!({}));
        let (status, body) = app.api(method.clone(), &token, &concrete, body).await;
        assert_ne!(status, 405, "{method} {concrete}");
        assert_ne!(body["code"], "unknown_route", "{method} {concrete}");
        assert!(
            body["code"].is_string() || status < 300,
            "{method} {concrete}: {body}"
        );
    }
    let (status, body) = app.api(Method::GET, &token, &org("/nothing"), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("unknown_route"))
    );
}

async fn members_are_listed_with_paging_filters_search_and_order(backend: Backend) {
    let Some((app, token)) = api_app(backend, &[]).await else {
        return;
    };
    for (email, name, role) in [
        ("bea@example.com", "Bea Admin", Role::Admin),
        ("cleo@example.com", "Cleo Member", Role::Member),
        ("dan@example.com", "Dan Viewer", Role::Viewer),
    ] {
        app.add_member(ORG_SLUG, email, name, role).await;
    }
    app.post_form(
        &org("/invitations"),
        &[("emails", "pending@example.com"), ("role", "member")],
    )
    .await;

    let (status, page) = app
        .api(
            Method::GET,
            &token,
            &org("/members?per_page=2&sort=email"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["total"], 4,
        "members only; invitations have their own list"
    );
    assert_eq!(
        (page["page"].as_i64(), page["per_page"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(emails(&page), ["ada@example.com", "bea@example.com"]);
    let (_, page) = app
        .api(
            Method::GET,
            &token,
            &org("/members?per_page=2&page=2&sort=email"),
            None,
        )
        .await;
    assert_eq!(emails(&page), ["cleo@example.com", "dan@example.com"]);
    let (_, page) = app
        .api(
            Method::GET,
            &token,
            &org("/members?sort=name&order=desc"),
            None,
        )
        .await;
    assert_eq!(emails(&page)[0], "dan@example.com");
    let (_, page) = app
        .api(Method::GET, &token, &org("/members?q=CLEO"), None)
        .await;
    assert_eq!(
        (emails(&page), page["total"].as_i64()),
        (vec!["cleo@example.com".to_string()], Some(1))
    );
    let (_, page) = app
        .api(Method::GET, &token, &org("/members?role=viewer"), None)
        .await;
    assert_eq!(emails(&page), ["dan@example.com"]);
    assert_eq!(page["items"][0]["role"], "viewer");
    assert_eq!(page["items"][0]["status"], "active");
    assert!(
        page["items"][0]["joined_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    let (status, body) = app
        .api(Method::GET, &token, &org("/members?per_page=500"), None)
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "invalid");
    assert!(body["fields"]["per_page"].is_string(), "{body}");
    let (status, body) = app
        .api(Method::GET, &token, &org("/members?page=abc"), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
    let (status, _) = app
        .api(Method::GET, &token, &org("/members?role=emperor"), None)
        .await;
    assert_eq!(status, 400);
}

async fn one_member_is_read_by_id_within_the_organization_only(backend: Backend) {
    let Some((app, token)) = api_app(backend, &[]).await else {
        return;
    };
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let cleo = app.membership_id("cleo@example.com").await;

    let (status, member) = app
        .api(Method::GET, &token, &org(&format!("/members/{cleo}")), None)
        .await;

    assert_eq!(status, 200);
    assert_eq!(member["email"], "cleo@example.com");
    assert_eq!(member["name"], "Cleo");
    assert_eq!(member["seat"], false);
    for missing in ["/members/999999", "/members/abc"] {
        let (status, body) = app.api(Method::GET, &token, &org(missing), None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{missing}"
        );
    }
}

async fn roles_change_by_the_same_rules_as_the_page_and_the_member_is_told(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some((app, token)) = api_app(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    let admin = token_for(&app, "bea@example.com", Role::Admin).await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let (cleo, bea, ada) = (
        app.membership_id("cleo@example.com").await,
        app.membership_id("bea@example.com").await,
        app.membership_id(ADMIN_EMAIL).await,
    );
    let role = |id: i64| org(&format!("/members/{id}/role"));

    let (status, member) = app
        .api(
            Method::POST,
            &token,
            &role(cleo),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, 200, "{member}");
    assert_eq!(member["role"], "admin");
    let mail = sink.wait_for_mail_to("cleo@example.com").await;
    assert!(mail.text.contains("Admin"), "{}", mail.text);

    let (status, body) = app
        .api(
            Method::POST,
            &admin,
            &role(cleo),
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "role ceiling"
    );
    let (status, _) = app
        .api(
            Method::POST,
            &admin,
            &role(ada),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(status, 403, "an Admin cannot demote an Owner");
    let (status, body) = app
        .api(
            Method::POST,
            &admin,
            &role(bea),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("own_membership"))
    );
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &role(cleo),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("unchanged")));
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &role(cleo),
            Some(json!({"role": "emperor"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid")),
        "{body}"
    );
    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/v1{}", role(cleo))))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "bad_request");
    let role_now = scalar_text(
        &app.state.db,
        &format!("SELECT role FROM memberships WHERE id = {cleo}"),
    )
    .await;
    assert_eq!(role_now, "admin", "no refused request changed anything");
    let events = scalar_i64(
        &app.state.db,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'member.role_changed' \
         AND actor_email = 'ada@example.com'",
    )
    .await;
    assert_eq!(events, 1, "the change is audited as the token's member");
}

async fn two_owners_demoting_each_other_at_once_leave_one_owner(backend: Backend) {
    let Some((app, ada_token)) = api_app(backend, &[]).await else {
        return;
    };
    let bob_token = token_for(&app, "bob@example.com", Role::Owner).await;
    let (ada, bob) = (
        app.membership_id(ADMIN_EMAIL).await,
        app.membership_id("bob@example.com").await,
    );
    let demote = |token: String, id: i64| {
        let app = &app;
        async move {
            app.api(
                Method::POST,
                &token,
                &org(&format!("/members/{id}/role")),
                Some(json!({"role": "member"})),
            )
            .await
            .0
        }
    };

    let (a, b) = tokio::join!(demote(ada_token, bob), demote(bob_token, ada));

    let mut statuses = [a, b];
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 403],
        "one wins; the other is no longer an Owner"
    );
    let owners = scalar_i64(
        &app.state.db,
        "SELECT COUNT(*) FROM memberships WHERE role = 'owner' AND status = 'active'",
    )
    .await;
    assert_eq!(owners, 1);
}

async fn members_are_deactivated_activated_and_removed_with_their_email(backend: Backend) {
    let Some((app, token)) = api_app(backend, &[]).await else {
        return;
    };
    let cleo_token = token_for(&app, "cleo@example.com", Role::Member).await;
    let cleo = app.membership_id("cleo@example.com").await;
    let path = |action: &str| org(&format!("/members/{cleo}/{action}"));

    let (status, body) = app
        .api(Method::POST, &cleo_token, &path("deactivate"), None)
        .await;
    assert_eq!(status, 403, "a Member cannot manage members: {body}");
    let (status, member) = app
        .api(Method::POST, &token, &path("deactivate"), None)
        .await;
    assert_eq!((status, member["status"].as_str()), (200, Some("inactive")));
    let (status, body) = app
        .api(Method::POST, &token, &path("deactivate"), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("unchanged")));
    let (status, _) = app.api(Method::GET, &cleo_token, &org(""), None).await;
    assert_eq!(status, 401, "a deactivated member's token is dead");
    let (status, member) = app.api(Method::POST, &token, &path("activate"), None).await;
    assert_eq!((status, member["status"].as_str()), (200, Some("active")));

    let member_path = org(&format!("/members/{cleo}"));
    let (status, body) = app
        .api(
            Method::DELETE,
            &token,
            &member_path,
            Some(json!({"email": "someone-else@example.com"})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["fields"]["email"],
        "Type cleo@example.com exactly to confirm."
    );
    let (status, body) = app.api(Method::DELETE, &token, &member_path, None).await;
    assert_eq!(status, 415, "the confirmation is required: {body}");
    let still = scalar_i64(
        &app.state.db,
        &format!("SELECT COUNT(*) FROM memberships WHERE id = {cleo}"),
    )
    .await;
    assert_eq!(still, 1);

    let (status, body) = app
        .api(
            Method::DELETE,
            &token,
            &member_path,
            Some(json!({"email": " CLEO@example.com "})),
        )
        .await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, _) = app.api(Method::GET, &token, &member_path, None).await;
    assert_eq!(status, 404);
}

async fn invitations_are_created_listed_resent_and_revoked(backend: Backend) {
    let Some((app, token)) = api_app(backend, &[]).await else {
        return;
    };
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let invitations = org("/invitations");

    let batch = json!({"invitations": [
        {"email": "new@example.com", "role": "viewer"},
        {"email": "cleo@example.com"},
        {"email": "not an address"},
    ]});
    let (status, body) = app
        .api(Method::POST, &token, &invitations, Some(batch.clone()))
        .await;
    assert_eq!(status, 422, "all or none: {body}");
    assert_eq!(body["code"], "invitations_refused");
    let outcomes: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["not_sent", "already_member", "invalid_email"]);
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM invitations").await,
        0
    );

    let mut partial = batch;
    partial["partial"] = json!(true);
    let (status, body) = app
        .api(Method::POST, &token, &invitations, Some(partial))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["invited"], 1);
    assert_eq!(body["results"][0]["outcome"], "invited");
    assert!(
        body["results"][0]["link"]
            .as_str()
            .unwrap()
            .contains("/invitations/"),
        "without SMTP the link is returned once"
    );
    assert_eq!(body["results"][1]["outcome"], "already_member");

    let (status, page) = app.api(Method::GET, &token, &invitations, None).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 1);
    let invitation = &page["items"][0];
    assert_eq!(invitation["email"], "new@example.com");
    assert_eq!(invitation["role"], "viewer");
    assert_eq!(invitation["status"], "pending");
    assert_eq!(invitation["delivery"], "link");
    let id = invitation["id"].as_i64().unwrap();
    let hash_before = scalar_text(&app.state.db, "SELECT token_hash FROM invitations").await;

    let (status, resent) = app
        .api(
            Method::POST,
            &token,
            &org(&format!("/invitations/{id}/resend")),
            None,
        )
        .await;
    assert_eq!((status, resent["status"].as_str()), (200, Some("pending")));
    let hash_after = scalar_text(&app.state.db, "SELECT token_hash FROM invitations").await;
    assert_ne!(hash_before, hash_after, "a new link");
    let (status, revoked) = app
        .api(
            Method::POST,
            &token,
            &org(&format!("/invitations/{id}/revoke")),
            None,
        )
        .await;
    assert_eq!((status, revoked["status"].as_str()), (200, Some("revoked")));
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &org(&format!("/invitations/{id}/revoke")),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("invitation_closed"))
    );
    let (_, page) = app
        .api(
            Method::GET,
            &token,
            &format!("{invitations}?status=revoked"),
            None,
        )
        .await;
    assert_eq!(emails(&page), ["new@example.com"]);
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &invitations,
            Some(json!({"invitations": []})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["fields"]["invitations"].is_string());
}

async fn invitation_rules_follow_the_inviters_role(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some((app, _)) = api_app(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    let admin = token_for(&app, "bea@example.com", Role::Admin).await;
    let member = token_for(&app, "cleo@example.com", Role::Member).await;
    let viewer = token_for(&app, "vic@example.com", Role::Viewer).await;
    let invitations = org("/invitations");
    let one = |email: &str, role: &str| json!({"invitations": [{"email": email, "role": role}]});

    for token in [&member, &viewer] {
        let (status, body) = app
            .api(
                Method::POST,
                token,
                &invitations,
                Some(one("x@example.com", "member")),
            )
            .await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    }
    let (status, body) = app
        .api(
            Method::POST,
            &admin,
            &invitations,
            Some(one("boss@example.com", "owner")),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["results"][0]["outcome"], "role_not_allowed");
    let (status, body) = app
        .api(
            Method::POST,
            &admin,
            &invitations,
            Some(one("new@example.com", "admin")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(
        body["results"][0].get("link").is_none(),
        "sent by email instead"
    );
    let mail = sink.wait_for_mail_to("new@example.com").await;
    assert!(mail.text.contains("/invitations/"));
    let (_, page) = app.api(Method::GET, &viewer, &invitations, None).await;
    let id = page["items"][0]["id"].as_i64().unwrap();
    let (status, _) = app
        .api(
            Method::POST,
            &viewer,
            &org(&format!("/invitations/{id}/revoke")),
            None,
        )
        .await;
    assert_eq!(status, 403, "a Viewer cannot revoke");
    let (status, _) = app
        .api(
            Method::POST,
            &admin,
            &org("/invitations/999999/revoke"),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

async fn seats_are_assigned_and_revoked_never_past_the_number(backend: Backend) {
    let Some((app, token)) = api_app(backend, &[]).await else {
        return;
    };
    let billing = token_for(&app, "bill@example.com", Role::Billing).await;
    let member = token_for(&app, "cleo@example.com", Role::Member).await;
    let (ada, bill, cleo) = (
        app.membership_id(ADMIN_EMAIL).await,
        app.membership_id("bill@example.com").await,
        app.membership_id("cleo@example.com").await,
    );
    let assign = org("/seats/assign");
    let (status, body) = app
        .api(
            Method::POST,
            &billing,
            &assign,
            Some(json!({"member_ids": [cleo]})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("seats_off")));
    let (status, org_now) = app.api(Method::GET, &token, &org(""), None).await;
    assert_eq!(status, 200);
    assert_eq!(org_now["settings"]["seats"], Value::Null);
    assert_eq!(org_now["your_role"], "owner");
    assert_eq!(org_now["name"], ORG_NAME);

    // Three seats; Ada and Bill hold one, so one is left for Cleo and Dan.
    app.add_member(ORG_SLUG, "dan@example.com", "Dan", Role::Member)
        .await;
    let dan = app.membership_id("dan@example.com").await;
    exec_sql(&app.state.db, "UPDATE organizations SET seats = 3").await;
    exec_sql(
        &app.state.db,
        &format!("UPDATE memberships SET has_seat = TRUE WHERE id IN ({ada}, {bill})"),
    )
    .await;
    let (status, body) = app
        .api(
            Method::POST,
            &billing,
            &assign,
            Some(json!({"member_ids": [cleo, dan]})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "no_seats_left");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("only 1 seat is left"),
        "{body}"
    );
    let (status, body) = app
        .api(
            Method::POST,
            &member,
            &assign,
            Some(json!({"member_ids": [cleo]})),
        )
        .await;
    assert_eq!(
        status, 403,
        "Cleo holds no seat, so her token does not work: {body}"
    );

    let (status, body) = app
        .api(
            Method::POST,
            &billing,
            &assign,
            Some(json!({"member_ids": [cleo]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], json!([cleo]));
    assert_eq!(body["seats"], json!({"total": 3, "used": 3}));
    let (status, _) = app.api(Method::GET, &member, &org(""), None).await;
    assert_eq!(status, 200, "with a seat, Cleo's token works");
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &org("/seats/revoke"),
            Some(json!({"member_ids": [bill]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.api(Method::GET, &billing, &org(""), None).await;
    assert_eq!(status, 401, "Bill's seat went, and his token with it");
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &assign,
            Some(json!({"member_ids": [999999]})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
}

async fn tokens_are_limited_per_minute(backend: Backend) {
    let Some((app, token)) = api_app(backend, &["--api-rate-limit", "3"]).await else {
        return;
    };
    for _ in 0..3 {
        let (status, _) = app.api(Method::GET, &token, &org(""), None).await;
        assert_eq!(status, 200);
    }

    let response = reqwest::Client::new()
        .get(app.url(&format!("/api/v1{}", org(""))))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
}

crate::on_both_backends!(
    the_openapi_document_matches_the_server,
    members_are_listed_with_paging_filters_search_and_order,
    one_member_is_read_by_id_within_the_organization_only,
    roles_change_by_the_same_rules_as_the_page_and_the_member_is_told,
    two_owners_demoting_each_other_at_once_leave_one_owner,
    members_are_deactivated_activated_and_removed_with_their_email,
    invitations_are_created_listed_resent_and_revoked,
    invitation_rules_follow_the_inviters_role,
    seats_are_assigned_and_revoked_never_past_the_number,
    tokens_are_limited_per_minute,
);
