//! Verified domains: an Owner adds one, publishes the TXT record on a real DNS server
//! the test starts, and verifies it; what cannot be claimed is refused in words; a
//! domain is verified for one organization at a time; instance admins may mark one
//! verified; everything is audited.

use roster::db;
use roster::domain::Role;

use crate::dns_server::DnsServer;
use crate::helpers::*;

const BEA: &str = "bea@example.com";

async fn with_dns(backend: Backend, dns: &DnsServer) -> Option<TestApp> {
    let app = TestApp::spawn_with(backend, &["--dns-resolver", &dns.addr()]).await?;
    app.set_up().await;
    Some(app)
}

fn settings() -> String {
    format!("/orgs/{ORG_SLUG}/settings")
}

/// The domain's id on the settings page of `slug`.
async fn domain_id(app: &TestApp, slug: &str, domain: &str) -> i64 {
    scalar_i64(
        &app.state.db,
        &format!(
            "SELECT d.id FROM org_domains d JOIN organizations o ON o.id = d.org_id \
             WHERE o.slug = '{slug}' AND d.domain = '{domain}'"
        ),
    )
    .await
}

/// Posts and follows the redirect back to the settings page; the page's messages.
async fn post_and_read(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (String, String) {
    let response = app.post_form(path, fields).await;
    assert_eq!(response.status(), 303, "{path}");
    let to = location(&response);
    let (_, page) = app.get_html(&to).await;
    let flashes = texts(&page, ".flash").join(" ");
    (flashes, page)
}

async fn an_owner_adds_a_domain_and_verifies_it_by_dns(backend: Backend) {
    let dns = DnsServer::start(&["acme.test"]).await;
    let Some(app) = with_dns(backend, &dns).await else {
        return;
    };
    let (flash, page) = post_and_read(
        &app,
        &format!("{}/domains", settings()),
        &[("domain", " Acme.TEST ")],
    )
    .await;
    assert!(flash.contains("Added acme.test"), "{flash}");
    let record = texts(&page, ".dns-record code");
    assert_eq!(record[0], "_roster-challenge.acme.test");
    assert_eq!(record[1], "TXT");
    let value = record[2].clone();
    assert!(value.starts_with("roster-domain-verification="), "{value}");
    let id = domain_id(&app, ORG_SLUG, "acme.test").await;
    let verify = format!("{}/domains/{id}/verify", settings());

    // Not published yet.
    let (flash, page) = post_and_read(&app, &verify, &[]).await;
    assert!(
        flash.contains("No TXT record at _roster-challenge.acme.test yet"),
        "{flash}"
    );
    assert!(texts(&page, "#domains .field-error")[0].contains("No TXT record"));
    // Something else published there.
    dns.publish_txt("_roster-challenge.acme.test", "v=spf1 -all")
        .await;
    let (flash, _) = post_and_read(&app, &verify, &[]).await;
    assert!(
        flash.contains("holds \"v=spf1 -all\", not roster-domain-verification="),
        "{flash}"
    );
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM org_domains WHERE verified_at IS NOT NULL"
        )
        .await,
        0
    );

    dns.publish_txt("_roster-challenge.acme.test", &value).await;
    let (flash, page) = post_and_read(&app, &verify, &[]).await;
    assert!(
        flash.contains("acme.test is verified for Analytical Engines"),
        "{flash}"
    );
    let item = texts(&page, &format!("#domain-{id}"))[0].clone();
    assert!(
        item.contains("Verified") && item.contains("(DNS record)"),
        "{item}"
    );
    assert!(
        texts(&page, ".dns-record").is_empty(),
        "the record is no longer asked for"
    );

    let events = db::audit::recent(&app.state.db, 10).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"domain.added"), "{actions:?}");
    assert!(actions.contains(&"domain.verified"), "{actions:?}");
    let (_, audit) = app.get_html(&format!("/orgs/{ORG_SLUG}/audit")).await;
    assert!(
        audit.contains("verified the domain acme.test (DNS record found)"),
        "the audit log says it in words"
    );

    // Removing it asks first, then audits.
    let remove = format!("{}/domains/{id}/remove", settings());
    let (status, confirm) = app.get_html(&remove).await;
    assert_eq!(status, 200);
    assert!(confirm.contains("single sign-on and just-in-time membership no longer apply"));
    let (flash, _) = post_and_read(&app, &remove, &[]).await;
    assert!(flash.contains("Removed acme.test"), "{flash}");
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM org_domains").await,
        0
    );
}

async fn what_cannot_be_claimed_is_refused_next_to_the_field(backend: Backend) {
    let dns = DnsServer::start(&["acme.test"]).await;
    let Some(app) = with_dns(backend, &dns).await else {
        return;
    };
    let long = format!("{}.test", "a".repeat(300));
    let cases: [(&str, &str); 8] = [
        ("gmail.com", "public email provider"),
        ("co.uk", "public suffix"),
        ("ada@acme.test", "domain alone"),
        ("https://acme.test/", "domain alone"),
        ("192.168.1.1", "not an IP address"),
        ("acme\u{7}.test", "control characters"),
        (&long, "characters"),
        ("", "Enter a domain"),
    ];
    for (typed, message) in cases {
        let response = app
            .post_form(&format!("{}/domains", settings()), &[("domain", typed)])
            .await;
        assert_eq!(response.status(), 422, "{typed:?}");
        let page = response.text().await.unwrap();
        let error = texts(&page, "#domain-error").join(" ");
        assert!(error.contains(message), "{typed:?}: {error}");
        let kept = attrs(&page, "#domain", "value");
        assert_eq!(kept, [typed.trim()], "what was typed is kept");
    }
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM org_domains").await,
        0
    );
    assert!(
        db::audit::recent(&app.state.db, 20)
            .await
            .unwrap()
            .iter()
            .all(|e| !e.action.starts_with("domain.")),
        "nothing was audited"
    );

    post_and_read(
        &app,
        &format!("{}/domains", settings()),
        &[("domain", "acme.test")],
    )
    .await;
    let response = app
        .post_form(
            &format!("{}/domains", settings()),
            &[("domain", "ACME.test")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(texts(&page, "#domain-error")[0].contains("acme.test is already in the list"));
}

/// A second organization, with Bea as its Owner; its slug.
async fn second_org(app: &TestApp) -> String {
    let bea = app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    let bea_user = scalar_i64(
        &app.state.db,
        &format!("SELECT user_id FROM memberships WHERE id = {bea}"),
    )
    .await;
    let mut tx = app.state.db.begin().await.unwrap();
    let other = db::orgs::insert(&mut tx, "Difference Engines", app.state.clock.now())
        .await
        .unwrap();
    db::memberships::insert(
        &mut tx,
        other.id,
        bea_user,
        Role::Owner,
        None,
        app.state.clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    other.slug
}

async fn a_domain_is_verified_for_one_organization_at_a_time(backend: Backend) {
    let dns = DnsServer::start(&["acme.test"]).await;
    let Some(app) = with_dns(backend, &dns).await else {
        return;
    };
    let other = second_org(&app).await;
    let bea = app.browser_for(BEA).await;
    post_and_read(
        &app,
        &format!("{}/domains", settings()),
        &[("domain", "acme.test")],
    )
    .await;
    post_and_read(
        &bea,
        &format!("/orgs/{other}/settings/domains"),
        &[("domain", "acme.test")],
    )
    .await;
    // Both publish their challenge; both ask at once: one wins.
    for slug in [ORG_SLUG, other.as_str()] {
        let challenge = scalar_text(
            &app.state.db,
            &format!(
                "SELECT d.challenge FROM org_domains d JOIN organizations o ON o.id = d.org_id \
                 WHERE o.slug = '{slug}'"
            ),
        )
        .await;
        dns.publish_txt(
            "_roster-challenge.acme.test",
            &format!("roster-domain-verification={challenge}"),
        )
        .await;
    }
    let ours = domain_id(&app, ORG_SLUG, "acme.test").await;
    let theirs = domain_id(&app, &other, "acme.test").await;
    let (ours_path, theirs_path) = (
        format!("{}/domains/{ours}/verify", settings()),
        format!("/orgs/{other}/settings/domains/{theirs}/verify"),
    );
    let (a, b) = tokio::join!(
        app.post_form(&ours_path, &[]),
        bea.post_form(&theirs_path, &[]),
    );
    assert_eq!(
        (a.status(), b.status()),
        (303.try_into().unwrap(), 303.try_into().unwrap())
    );
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM org_domains WHERE verified_at IS NOT NULL"
        )
        .await,
        1,
        "one organization holds it"
    );
    let (_, ours_page) = app.get_html(&settings()).await;
    let (_, theirs_page) = bea.get_html(&format!("/orgs/{other}/settings")).await;
    let loser = if ours_page.contains("is verified for another organization") {
        ours_page
    } else {
        theirs_page
    };
    assert!(
        loser.contains("acme.test is verified for another organization"),
        "the other is told why"
    );
}

async fn only_owners_manage_domains_and_only_instance_admins_mark_them(backend: Backend) {
    let dns = DnsServer::start(&["acme.test"]).await;
    let Some(app) = with_dns(backend, &dns).await else {
        return;
    };
    let other = second_org(&app).await;
    app.add_member(ORG_SLUG, "cy@example.com", "Cy", Role::Admin)
        .await;
    let cy = app.browser_for("cy@example.com").await;
    let bea = app.browser_for(BEA).await;
    post_and_read(
        &app,
        &format!("{}/domains", settings()),
        &[("domain", "acme.test")],
    )
    .await;
    let id = domain_id(&app, ORG_SLUG, "acme.test").await;

    // An Admin is not an Owner.
    assert_eq!(cy.get(&settings()).await.status(), 403);
    for path in [
        format!("{}/domains", settings()),
        format!("{}/domains/{id}/verify", settings()),
        format!("{}/domains/{id}/mark-verified", settings()),
        format!("{}/domains/{id}/remove", settings()),
    ] {
        let response = cy.post_form(&path, &[("domain", "cy.test")]).await;
        assert_eq!(response.status(), 403, "{path}");
    }
    // Another organization's Owner cannot reach this one's domain through their own.
    for path in [
        format!("/orgs/{other}/settings/domains/{id}/verify"),
        format!("/orgs/{other}/settings/domains/{id}/remove"),
    ] {
        assert_eq!(bea.post_form(&path, &[]).await.status(), 404, "{path}");
    }
    assert_eq!(
        bea.get(&format!("/orgs/{other}/settings/domains/{id}/remove"))
            .await
            .status(),
        404
    );
    // An Owner who is no instance admin cannot skip DNS, and is not offered to.
    post_and_read(
        &bea,
        &format!("/orgs/{other}/settings/domains"),
        &[("domain", "bea.test")],
    )
    .await;
    let theirs = domain_id(&app, &other, "bea.test").await;
    let (_, page) = bea.get_html(&format!("/orgs/{other}/settings")).await;
    assert!(!page.contains("Mark verified"));
    let response = bea
        .post_form(
            &format!("/orgs/{other}/settings/domains/{theirs}/mark-verified"),
            &[],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM org_domains WHERE verified_at IS NOT NULL"
        )
        .await,
        0
    );

    // The instance admin may, and it is audited as such.
    let (flash, page) = post_and_read(
        &app,
        &format!("{}/domains/{id}/mark-verified", settings()),
        &[],
    )
    .await;
    assert!(flash.contains("acme.test is verified"), "{flash}");
    assert!(texts(&page, &format!("#domain-{id}"))[0].contains("marked by an instance admin"));
    let event = db::audit::recent(&app.state.db, 1).await.unwrap().remove(0);
    assert_eq!(event.action, "domain.verified");
    assert_eq!(event.actor_email.as_deref(), Some(ADMIN_EMAIL));
}

async fn a_resolver_that_does_not_answer_is_said_in_words(backend: Backend) {
    // A port nobody listens on.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let Some(app) = TestApp::spawn_with(backend, &["--dns-resolver", &addr]).await else {
        return;
    };
    app.set_up().await;
    post_and_read(
        &app,
        &format!("{}/domains", settings()),
        &[("domain", "acme.test")],
    )
    .await;
    let id = domain_id(&app, ORG_SLUG, "acme.test").await;
    let (flash, _) = post_and_read(&app, &format!("{}/domains/{id}/verify", settings()), &[]).await;
    assert!(
        flash.contains("The DNS lookup of _roster-challenge.acme.test failed"),
        "{flash}"
    );
}

crate::on_both_backends!(
    an_owner_adds_a_domain_and_verifies_it_by_dns,
    what_cannot_be_claimed_is_refused_next_to_the_field,
    a_domain_is_verified_for_one_organization_at_a_time,
    only_owners_manage_domains_and_only_instance_admins_mark_them,
    a_resolver_that_does_not_answer_is_said_in_words,
);
