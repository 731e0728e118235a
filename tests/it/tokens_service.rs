//! The API tokens service's refusals, called directly (no HTTP).

use crate::helpers::*;
use roster::actor::Person;
use roster::domain::Role;
use roster::tokens::{self, Error, NewTokenForm};

async fn person(app: &TestApp, email: &str) -> Person {
    let actor = app.acting(email).await;
    Person {
        user: actor.user().unwrap().clone(),
        audit: actor.audit,
    }
}

fn form(name: &str, org: &str, expires: &str) -> NewTokenForm {
    NewTokenForm {
        token_name: name.into(),
        org: org.into(),
        expires: expires.into(),
    }
}

async fn refuses_bad_fields_and_others_tokens(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    app.add_member(ORG_SLUG, "cy@example.com", "Cy", Role::Member)
        .await;
    let bea = person(&app, "bea@example.com").await;
    let cy = person(&app, "cy@example.com").await;

    let fields = tokens::create(&app.state, &bea, &form("", "no-such-org", "3")).await;
    tokens::create(&app.state, &bea, &form("deploy", ORG_SLUG, "30"))
        .await
        .unwrap();
    let id = scalar_i64(&app.state.db, "SELECT id FROM api_tokens").await;
    let by_cy = tokens::revoke(&app.state, &cy, id, None).await;

    match fields {
        Err(Error::Fields(errors)) => {
            assert!(errors.get("token_name").is_some());
            assert!(errors.get("org").is_some());
            assert!(errors.get("expires").is_some());
        }
        other => panic!("expected field messages, got {other:?}"),
    }
    assert!(matches!(by_cy, Err(Error::NotFound)), "{by_cy:?}");
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM api_tokens").await,
        1
    );
}

async fn authenticates_only_a_live_token_of_an_active_member_in_its_organization(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let bea = person(&app, "bea@example.com").await;
    let secret = tokens::create(&app.state, &bea, &form("deploy", ORG_SLUG, "30"))
        .await
        .unwrap()
        .secret;
    let authenticate = |secret: String, slug: &'static str| {
        let state = app.state.clone();
        async move { tokens::authenticate(&state, &secret, slug, "192.0.2.1".into()).await }
    };

    let ok = authenticate(secret.clone(), ORG_SLUG).await.unwrap();
    let unknown = authenticate("roster_nothing".into(), ORG_SLUG).await;
    let other_org = authenticate(secret.clone(), "elsewhere").await;
    exec_sql(
        &app.state.db,
        "UPDATE memberships SET status = 'inactive' WHERE role = 'member'",
    )
    .await;
    let inactive = authenticate(secret.clone(), ORG_SLUG).await;
    exec_sql(&app.state.db, "UPDATE memberships SET status = 'active'").await;
    exec_sql(&app.state.db, "UPDATE organizations SET seats = 5").await;
    let no_seat = authenticate(secret.clone(), ORG_SLUG).await;
    exec_sql(&app.state.db, "UPDATE organizations SET seats = NULL").await;
    exec_sql(&app.state.db, "UPDATE api_tokens SET expires_at = 1").await;
    let expired = authenticate(secret, ORG_SLUG).await;

    assert_eq!(ok.actor.user_id().unwrap(), bea.user.id);
    assert_eq!(ok.actor.role, Role::Member);
    assert_eq!(ok.actor.audit.ip.as_deref(), Some("192.0.2.1"));
    assert!(matches!(unknown, Err(Error::Unknown)), "{unknown:?}");
    assert!(
        matches!(other_org, Err(Error::OtherOrganization)),
        "{other_org:?}"
    );
    assert!(
        matches!(inactive, Err(Error::MemberInactive)),
        "{inactive:?}"
    );
    assert!(matches!(no_seat, Err(Error::NoSeat)), "{no_seat:?}");
    assert!(matches!(expired, Err(Error::Expired)), "{expired:?}");
}

crate::on_both_backends!(
    refuses_bad_fields_and_others_tokens,
    authenticates_only_a_live_token_of_an_active_member_in_its_organization,
);
