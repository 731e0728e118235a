//! Single sign-on against a real OpenID provider on loopback (`oidc_provider`): an
//! Owner connects it, colleagues on the verified domain sign in with it (and join, when
//! the organization lets them), password accounts are linked, "require SSO" bars
//! passwords; and the forbidden paths: a tampered `state`, a replayed code, a code of
//! another client, a wrong nonce, an unverified address, an address outside the verified
//! domains, a Member at the settings, addresses an Owner must not make Roster call.

use roster::domain::Role;

use crate::dns_server::DnsServer;
use crate::helpers::*;
use crate::oidc_provider::{CLIENT_ID, CLIENT_SECRET, OTHER_CLIENT_ID, OidcProvider};
use crate::smtp_sink::SmtpSink;

const DOMAIN: &str = "acme.test";
const GRACE: &str = "grace@acme.test";
const BEA: &str = "bea@acme.test";
const PROVIDER: &str = "Acme IdP";

fn sso_settings() -> String {
    format!("/orgs/{ORG_SLUG}/settings/sso")
}

/// Verifies `DOMAIN` for the organization (the admin marks it, as an instance admin).
async fn verify_domain(app: &TestApp) {
    let added = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/settings/domains"),
            &[("domain", DOMAIN)],
        )
        .await;
    assert_eq!(added.status(), 303);
    let id = scalar_i64(
        &app.state.db,
        &format!("SELECT id FROM org_domains WHERE domain = '{DOMAIN}'"),
    )
    .await;
    let marked = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/settings/domains/{id}/mark-verified"),
            &[],
        )
        .await;
    assert_eq!(marked.status(), 303);
}

/// The provider form's fields.
fn provider_fields(issuer: &str, jit: bool, require: bool) -> Vec<(&str, &str)> {
    let mut fields = vec![
        ("provider_name", PROVIDER),
        ("issuer", issuer),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("default_role", "member"),
        ("action", "save"),
    ];
    if jit {
        fields.push(("jit_enabled", "on"));
    }
    if require {
        fields.push(("require_sso", "on"));
    }
    fields
}

/// Roster set up, `DOMAIN` verified, and a provider connected with these options.
async fn connected(
    backend: Backend,
    extra: &[&str],
    jit: bool,
    require: bool,
    unverified: &[&str],
) -> Option<(TestApp, OidcProvider)> {
    let app = TestApp::spawn_with(backend, extra).await?;
    app.set_up().await;
    let provider = OidcProvider::start(&app, unverified).await?;
    verify_domain(&app).await;
    let saved = app
        .post_form(
            &sso_settings(),
            &provider_fields(&provider.issuer, jit, require),
        )
        .await;
    assert_eq!(saved.status(), 303, "{}", saved.text().await.unwrap());
    Some((app, provider))
}

/// The email step of the sign-in page, in `browser`: where it sends the browser.
async fn email_step(browser: &TestApp, email: &str, next: &str) -> reqwest::Response {
    browser
        .post_form("/sign-in", &[("email", email), ("next", next)])
        .await
}

/// A whole sign-in through the provider in `browser` as `login`: the callback's
/// answer.
async fn sign_in_through(
    browser: &TestApp,
    provider: &OidcProvider,
    email: &str,
    login: &str,
) -> reqwest::Response {
    let started = email_step(browser, email, "").await;
    assert_eq!(started.status(), 303);
    let authorize = location(&started);
    assert!(
        authorize.starts_with(&provider.issuer),
        "to the provider: {authorize}"
    );
    let back = provider.sign_in(&authorize, login).await;
    browser.client.get(&back).send().await.unwrap()
}

async fn membership_role(app: &TestApp, email: &str) -> Option<String> {
    let found = scalar_i64(
        &app.state.db,
        &format!(
            "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE u.email_normalized = '{email}'"
        ),
    )
    .await;
    if found == 0 {
        return None;
    }
    Some(
        scalar_text(
            &app.state.db,
            &format!(
                "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE u.email_normalized = '{email}'"
            ),
        )
        .await,
    )
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar_i64(&app.state.db, sql).await
}

/// How many accounts have the address `email` (0 or 1).
async fn accounts_of(app: &TestApp, email: &str) -> i64 {
    count(
        app,
        &format!("SELECT COUNT(*) FROM users WHERE email_normalized = '{email}'"),
    )
    .await
}

async fn a_colleague_joins_by_signing_in(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some((app, provider)) =
        connected(backend, &["--smtp-url", &sink.url()], true, false, &[]).await
    else {
        return;
    };
    let grace = app.new_browser();

    let back = sign_in_through(&grace, &provider, GRACE, GRACE).await;

    assert_eq!(back.status(), 303, "{}", back.text().await.unwrap());
    assert_eq!(location(&back), "/");
    let home = grace.get("/").await;
    assert_eq!(location(&home), format!("/orgs/{ORG_SLUG}/members"));
    assert_eq!(
        membership_role(&app, GRACE).await.as_deref(),
        Some("member")
    );
    let welcome = sink.wait_for_mail_to(GRACE).await;
    assert!(welcome.text.contains(PROVIDER), "{}", welcome.text);
    assert!(welcome.text.contains(ORG_NAME), "{}", welcome.text);
    // The Members page says how she signs in.
    let (_, page) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(page.contains(&format!("SSO ({PROVIDER})")), "{page}");
    let api_token = app.create_token(ORG_SLUG, "sso check").await;
    let (_, members) = app
        .api(
            reqwest::Method::GET,
            &api_token,
            &format!("/orgs/{ORG_SLUG}/members"),
            None,
        )
        .await;
    let grace_item = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == GRACE)
        .unwrap()
        .clone();
    assert_eq!(grace_item["sign_in_method"], "sso");
    assert_eq!(grace_item["sign_in_provider"], PROVIDER);
    for action in [
        "sso.configured",
        "user.signed_up",
        "sso.linked",
        "member.joined_sso",
        "sso.signed_in",
    ] {
        assert_eq!(
            count(
                &app,
                &format!("SELECT COUNT(*) FROM audit_events WHERE action = '{action}'")
            )
            .await,
            1,
            "{action}"
        );
    }
    // A second sign-in finds the same account by its identity.
    let again = app.new_browser();
    let back = sign_in_through(&again, &provider, GRACE, GRACE).await;
    assert_eq!(back.status(), 303);
    assert_eq!(accounts_of(&app, GRACE).await, 1);
}

async fn without_jit_a_stranger_needs_an_invitation(backend: Backend) {
    let Some((app, provider)) = connected(backend, &[], false, false, &[]).await else {
        return;
    };
    let grace = app.new_browser();

    let refused = sign_in_through(&grace, &provider, GRACE, GRACE).await;

    assert_eq!(refused.status(), 403);
    let page = refused.text().await.unwrap();
    assert!(page.contains("Ask an Owner of"), "{page}");
    assert!(page.contains("for an invitation"), "{page}");
    assert_eq!(
        accounts_of(&app, GRACE).await,
        0,
        "no account is left behind"
    );

    // Invited, she signs in with the provider from the invitation and accepts it.
    let invited = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations"),
            &[("emails", GRACE), ("role", "admin")],
        )
        .await;
    let link = attrs(&invited.text().await.unwrap(), "input.link-copy", "value")
        .into_iter()
        .next()
        .expect("the invitation's link");
    let path = link.trim_start_matches(&app.address).to_string();
    let started = email_step(&grace, GRACE, &path).await;
    let back = provider.sign_in(&location(&started), GRACE).await;
    let landed = grace.client.get(&back).send().await.unwrap();
    assert_eq!(landed.status(), 303);
    assert_eq!(location(&landed), path, "back on the invitation");
    let (status, invitation) = grace.get_html(&path).await;
    assert_eq!(status, 200);
    assert!(invitation.contains("Accept"), "{invitation}");
    let accepted = grace.post_form(&format!("{path}/accept"), &[]).await;
    assert_eq!(accepted.status(), 303);
    assert_eq!(membership_role(&app, GRACE).await.as_deref(), Some("admin"));
}

async fn a_password_account_is_linked_at_its_first_sso_sign_in(backend: Backend) {
    let Some((app, provider)) = connected(backend, &[], false, false, &[]).await else {
        return;
    };
    app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    let before = count(
        &app,
        &format!("SELECT id FROM users WHERE email_normalized = '{BEA}'"),
    )
    .await;
    let bea = app.new_browser();

    let back = sign_in_through(&bea, &provider, BEA, BEA).await;

    assert_eq!(back.status(), 303);
    assert_eq!(location(&back), "/");
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM user_identities WHERE user_id = {before}")
        )
        .await,
        1,
        "her account is linked, not a second one made"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, 2);
    assert_eq!(
        scalar_text(
            &app.state.db,
            &format!("SELECT auth_method FROM users WHERE id = {before}")
        )
        .await,
        "sso"
    );
    // Not required: her password still works.
    let with_password = app.new_browser();
    let signed_in = with_password.sign_in(BEA, MEMBER_PASSWORD).await;
    assert_eq!(signed_in.status(), 303);
    assert_ne!(location(&signed_in), "/sign-in");
}

async fn require_sso_bars_passwords_but_not_an_instance_admins(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some((app, _provider)) =
        connected(backend, &["--smtp-url", &sink.url()], false, true, &[]).await
    else {
        return;
    };
    app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    let bea = app.new_browser();

    let refused = bea.sign_in(BEA, MEMBER_PASSWORD).await;

    assert_eq!(refused.status(), 403);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains(&format!("sign in with {PROVIDER}, not with a password")),
        "{page}"
    );
    // A wrong password gets the same answer: nothing is checked.
    let wrong = bea.sign_in(BEA, "not her password at all").await;
    assert_eq!(wrong.status(), 403);
    // No reset link either, and the answer is the one anyone gets.
    let asked = bea.post_form("/password/forgot", &[("email", BEA)]).await;
    assert!(asked.status().is_success() || asked.status().is_redirection());
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM password_resets").await,
        0,
        "no reset link"
    );
    // The email step sends her to the provider.
    let started = email_step(&bea, BEA, "").await;
    assert_eq!(started.status(), 303);
    // An instance admin on the domain keeps a password.
    app.add_member(ORG_SLUG, "root@acme.test", "Root", Role::Member)
        .await;
    exec_sql(
        &app.state.db,
        "UPDATE users SET is_instance_admin = TRUE WHERE email_normalized = 'root@acme.test'",
    )
    .await;
    let root = app.new_browser();
    let signed_in = root.sign_in("root@acme.test", MEMBER_PASSWORD).await;
    assert_eq!(signed_in.status(), 303);
    // Others' domains are untouched: the admin of example.com signs in with hers.
    let ada = app.new_browser();
    assert_eq!(ada.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 303);
}

/// The authorization address with `param` set to `value`.
fn with_param(url: &str, param: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == param {
                value.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

async fn tampered_and_replayed_callbacks_are_refused(backend: Backend) {
    let Some((app, provider)) = connected(backend, &[], true, false, &[]).await else {
        return;
    };

    // A tampered state.
    let grace = app.new_browser();
    let started = email_step(&grace, GRACE, "").await;
    let back = provider.sign_in(&location(&started), GRACE).await;
    let tampered = with_param(&back, "state", "forged-state");
    let refused = grace.client.get(&tampered).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("state does not match")
    );
    // The pending sign-in was used up: the genuine answer now finds none either.
    let late = grace.client.get(&back).send().await.unwrap();
    assert_eq!(late.status(), 400);
    assert_eq!(accounts_of(&app, GRACE).await, 0);

    // A replayed code: in the browser that used it, and in another whose own sign-in
    // is waiting (its state, another's code).
    let first = app.new_browser();
    let started = email_step(&first, GRACE, "").await;
    let back = provider.sign_in(&location(&started), GRACE).await;
    assert_eq!(first.client.get(&back).send().await.unwrap().status(), 303);
    let replay = first.client.get(&back).send().await.unwrap();
    assert_eq!(replay.status(), 400);
    let attacker = app.new_browser();
    let started = email_step(&attacker, GRACE, "").await;
    let own_state = url::Url::parse(&location(&started))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let stolen = with_param(&back, "state", &own_state);
    let refused = attacker.client.get(&stolen).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("refused the authorization code")
    );
    let (status, _) = attacker
        .get_html(&format!("/orgs/{ORG_SLUG}/members"))
        .await;
    assert_eq!(status, 303, "the attacker is not signed in");
}

async fn tokens_for_another_client_or_nonce_are_refused(backend: Backend) {
    let Some((app, provider)) = connected(backend, &[], true, false, &[]).await else {
        return;
    };

    // The authorization request changed to another client: its code is not Roster's.
    let grace = app.new_browser();
    let started = email_step(&grace, GRACE, "").await;
    let other = with_param(&location(&started), "client_id", OTHER_CLIENT_ID);
    let back = provider.sign_in(&other, GRACE).await;
    let refused = grace.client.get(&back).send().await.unwrap();
    assert_eq!(refused.status(), 403);

    // The request's nonce changed: the ID token carries another nonce than the one
    // this browser's sign-in expects.
    let started = email_step(&grace, GRACE, "").await;
    let forged = with_param(&location(&started), "nonce", "another-nonce");
    let back = provider.sign_in(&forged, GRACE).await;
    let refused = grace.client.get(&back).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let page = refused.text().await.unwrap();
    assert!(page.contains("ID token did not pass the checks"), "{page}");
    assert_eq!(accounts_of(&app, GRACE).await, 0);
}

async fn addresses_the_provider_has_not_verified_or_that_are_elsewhere_are_refused(
    backend: Backend,
) {
    let Some((app, provider)) = connected(backend, &[], true, false, &["una@acme.test"]).await
    else {
        return;
    };

    let una = app.new_browser();
    let refused = sign_in_through(&una, &provider, "una@acme.test", "una@acme.test").await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("has not verified"));

    // Started as a colleague, signed in at the provider as someone of another domain.
    let mallory = app.new_browser();
    let refused = sign_in_through(&mallory, &provider, GRACE, "mallory@evil.test").await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("which is not on a domain")
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE email_normalized LIKE '%@evil.test'"
        )
        .await
            + accounts_of(&app, "una@acme.test").await,
        0
    );
}

async fn owners_alone_configure_and_the_secret_is_never_shown(backend: Backend) {
    let Some((app, provider)) = connected(backend, &[], true, false, &[]).await else {
        return;
    };
    let (status, page) = app.get_html(&sso_settings()).await;
    assert_eq!(status, 200);
    assert!(
        !page.contains(CLIENT_SECRET),
        "the secret is not shown back"
    );
    assert!(page.contains(&format!("{}/sso/callback", app.address)));
    // Saving without a secret keeps it; the audit says what changed, never the secret.
    let mut fields = provider_fields(&provider.issuer, false, false);
    fields.retain(|(k, _)| *k != "client_secret");
    assert_eq!(app.post_form(&sso_settings(), &fields).await.status(), 303);
    let change = scalar_text(
        &app.state.db,
        "SELECT after_value FROM audit_events WHERE action = 'sso.changed'",
    )
    .await;
    assert!(!change.contains(CLIENT_SECRET), "{change}");
    assert!(change.contains("\"jit_enabled\":false"), "{change}");
    // Test connection shows what discovery found.
    let tested = app
        .post_form(
            &sso_settings(),
            &[("issuer", provider.issuer.as_str()), ("action", "test")],
        )
        .await;
    let tested = tested.text().await.unwrap();
    assert!(tested.contains("The connection works"), "{tested}");
    assert!(tested.contains(&format!("{}/jwks", provider.issuer)));

    // A Member and an Admin may neither see nor change it.
    for (email, role) in [
        ("mo@example.com", Role::Member),
        ("al@example.com", Role::Admin),
    ] {
        app.add_member(ORG_SLUG, email, "Someone", role).await;
        let someone = app.browser_for(email).await;
        let (status, _) = someone.get_html(&sso_settings()).await;
        assert_eq!(status, 403, "{role:?}");
        let changed = someone
            .post_form(
                &sso_settings(),
                &provider_fields("https://evil.example", true, false),
            )
            .await;
        assert_eq!(changed.status(), 403, "{role:?}");
        let removed = someone
            .post_form(&format!("{}/remove", sso_settings()), &[])
            .await;
        assert_eq!(removed.status(), 403, "{role:?}");
        let tested = someone
            .post_form(
                &sso_settings(),
                &[("issuer", provider.issuer.as_str()), ("action", "test")],
            )
            .await;
        assert_eq!(tested.status(), 403, "{role:?} cannot make Roster call out");
    }
    assert_eq!(
        scalar_text(&app.state.db, "SELECT issuer FROM org_sso").await,
        provider.issuer
    );

    // Bad input is named in its field and nothing is saved.
    let bad = app
        .post_form(
            &sso_settings(),
            &[
                ("provider_name", "Acme\u{0}IdP"),
                ("issuer", "not a url"),
                ("client_id", &"x".repeat(300)),
                ("default_role", "owner"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    for field in ["provider_name", "issuer", "client_id", "default_role"] {
        assert!(page.contains(&format!("id=\"{field}-error\"")), "{field}");
    }
    assert!(page.contains("not a url"), "what was typed is kept");

    // Removed: people sign in with passwords again.
    assert_eq!(
        app.post_form(&format!("{}/remove", sso_settings()), &[])
            .await
            .status(),
        303
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM org_sso").await, 0);
    let grace = app.new_browser();
    let step = email_step(&grace, GRACE, "").await;
    assert_eq!(step.status(), 200, "the password step");
}

async fn addresses_roster_must_not_call_are_refused(backend: Backend) {
    let dns = DnsServer::start(&["acme.test"]).await;
    dns.publish_a("idp.acme.test", std::net::Ipv4Addr::LOCALHOST)
        .await;
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            "--allow-private-addresses=false",
            "--dns-resolver",
            &dns.addr(),
        ],
    )
    .await
    else {
        return;
    };
    app.set_up().await;
    let Some(provider) = OidcProvider::start(&app, &[]).await else {
        return;
    };
    let port = provider.issuer.rsplit(':').next().unwrap().to_string();
    for (issuer, expected) in [
        (provider.issuer.clone(), "must start with https://"),
        (
            format!("https://127.0.0.1:{port}"),
            "private, loopback or reserved address",
        ),
        (
            format!("https://[::ffff:127.0.0.1]:{port}"),
            "private, loopback or reserved address",
        ),
        (
            "https://169.254.169.254".to_string(),
            "private, loopback or reserved address",
        ),
        // A name whose answer is loopback: refused once resolved.
        (
            format!("https://idp.acme.test:{port}"),
            "private, loopback or reserved address",
        ),
    ] {
        let answer = app
            .post_form(&sso_settings(), &provider_fields(&issuer, true, false))
            .await;
        assert_eq!(answer.status(), 422, "{issuer}");
        let page = answer.text().await.unwrap();
        assert!(page.contains(expected), "{issuer}: {page}");
        assert!(page.contains("id=\"issuer-error\""), "{issuer}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM org_sso").await, 0);
    // The sign-in page's form may lead to a provider over HTTPS only; other pages'
    // forms stay on Roster.
    let csp = |response: &reqwest::Response| {
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string()
    };
    let sign_in = csp(&app.new_browser().get("/sign-in").await);
    assert!(sign_in.contains("form-action 'self' https:;"), "{sign_in}");
    let settings = csp(&app.get(&sso_settings()).await);
    assert!(settings.contains("form-action 'self';"), "{settings}");
}

async fn parallel_joins_respect_the_member_limit(backend: Backend) {
    let Some((app, provider)) = connected(backend, &[], true, false, &[]).await else {
        return;
    };
    // Room for one more member.
    exec_sql(&app.state.db, "UPDATE organizations SET max_members = 2").await;
    let (grace, hal) = (app.new_browser(), app.new_browser());
    let mut backs = Vec::new();
    for (browser, email) in [(&grace, GRACE), (&hal, "hal@acme.test")] {
        let started = email_step(browser, email, "").await;
        backs.push(provider.sign_in(&location(&started), email).await);
    }

    let (a, b) = tokio::join!(
        grace.client.get(&backs[0]).send(),
        hal.client.get(&backs[1]).send()
    );

    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(
        statuses,
        [303, 403],
        "one joins, the other is told there is no room"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM memberships").await, 2);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM users").await,
        2,
        "the refused one leaves no account behind"
    );
}

crate::on_both_backends!(
    parallel_joins_respect_the_member_limit,
    a_colleague_joins_by_signing_in,
    without_jit_a_stranger_needs_an_invitation,
    a_password_account_is_linked_at_its_first_sso_sign_in,
    require_sso_bars_passwords_but_not_an_instance_admins,
    tampered_and_replayed_callbacks_are_refused,
    tokens_for_another_client_or_nonce_are_refused,
    addresses_the_provider_has_not_verified_or_that_are_elsewhere_are_refused,
    owners_alone_configure_and_the_secret_is_never_shown,
    addresses_roster_must_not_call_are_refused
);
