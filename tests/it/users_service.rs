//! The instance users service's refusals, called directly (no HTTP).

use crate::helpers::*;
use roster::actor::Person;
use roster::domain::{Email, Role};
use roster::users::{self, Change, Error, NewOrg, Refusal};

/// The member `email` as a person acting outside any organization.
async fn person(app: &TestApp, email: &str) -> Person {
    let actor = app.acting(email).await;
    Person {
        user: actor.user().unwrap().clone(),
        audit: actor.audit,
    }
}

async fn refuses_non_admins_oneself_the_last_admin_and_a_wrong_confirmation(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let bea = app
        .add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let admin = person(&app, ADMIN_EMAIL).await;
    let member = person(&app, "bea@example.com").await;
    let ada = admin.user.id;

    let by_member = users::set_status(&app.state, &member, ada, false).await;
    let yourself = users::set_status(&app.state, &admin, ada, false).await;
    let last_admin = users::set_instance_admin(&app.state, &admin, ada, false).await;
    let mismatch = users::delete(&app.state, &admin, bea, "someone@example.com").await;
    let unknown = users::delete(&app.state, &admin, bea + 1000, "x").await;
    let new_org = NewOrg {
        name: "Looms".into(),
        owner: Email::parse("nobody@example.com").unwrap(),
    };
    let no_owner = users::create_org(&app.state, &admin, &new_org).await;

    assert!(matches!(by_member, Err(Error::NotAdmin)), "{by_member:?}");
    assert!(
        matches!(
            &yourself,
            Err(Error::Refused {
                refusal: Refusal::Yourself,
                change: Change::Deactivate,
                ..
            })
        ),
        "{yourself:?}"
    );
    assert!(
        matches!(
            &last_admin,
            Err(Error::Refused {
                refusal: Refusal::LastAdmin,
                ..
            })
        ),
        "{last_admin:?}"
    );
    assert!(
        matches!(
            &mismatch,
            Err(Error::Refused {
                refusal: Refusal::Mismatch,
                ..
            })
        ),
        "{mismatch:?}"
    );
    assert_eq!(
        mismatch.unwrap_err().to_string(),
        "That is not bea@example.com. Type the account’s email address exactly to delete it."
    );
    assert!(matches!(unknown, Err(Error::NotFound)), "{unknown:?}");
    match no_owner {
        Err(Error::Fields(errors)) => assert!(errors.get("owner_email").is_some()),
        other => panic!("expected a field message, got {other:?}"),
    }
    // Nothing was written by any of them.
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM users WHERE status = 'active'"
        )
        .await,
        2
    );
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM organizations").await,
        1
    );
}

async fn refuses_to_leave_an_organization_without_an_owner(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let bea = person(&app, "bea@example.com").await;
    let admin = person(&app, ADMIN_EMAIL).await;
    users::set_instance_admin(&app.state, &admin, bea.user.id, true)
        .await
        .unwrap();

    let outcome = users::set_status(&app.state, &bea, admin.user.id, false).await;

    match outcome {
        Err(Error::Refused {
            refusal: Refusal::LastOwner(orgs),
            ..
        }) => assert_eq!(orgs.len(), 1),
        other => panic!("expected the last Owner refusal, got {other:?}"),
    }
}

crate::on_both_backends!(
    refuses_non_admins_oneself_the_last_admin_and_a_wrong_confirmation,
    refuses_to_leave_an_organization_without_an_owner,
);
