//! The accounts service's refusals, called directly (no HTTP).

use crate::helpers::*;
use roster::accounts::{self, Error, PasswordChange};
use roster::auth::throttle;
use roster::db;
use roster::domain::Email;

async fn admin(app: &TestApp) -> db::users::User {
    db::users::find_by_email(&app.state.db, &Email::parse(ADMIN_EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap()
}

async fn signing_in_refuses_wrong_credentials_then_throttles(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let email = Email::parse(ADMIN_EMAIL).unwrap();
    let unknown = Email::parse("nobody@example.com").unwrap();

    let wrong = accounts::sign_in(&app.state, &email, "not it", "192.0.2.1", None).await;
    let nobody = accounts::sign_in(&app.state, &unknown, "not it", "192.0.2.1", None).await;

    assert!(matches!(wrong, Err(Error::WrongCredentials)), "{wrong:?}");
    assert!(matches!(nobody, Err(Error::WrongCredentials)), "{nobody:?}");
    for _ in 1..throttle::PER_ACCOUNT_AND_ADDRESS.hits {
        let _ = accounts::sign_in(&app.state, &email, "not it", "192.0.2.1", None).await;
    }
    let throttled = accounts::sign_in(&app.state, &email, ADMIN_PASSWORD, "192.0.2.1", None).await;
    assert!(
        matches!(throttled, Err(Error::Throttled(_))),
        "{throttled:?}"
    );
    let elsewhere = accounts::sign_in(&app.state, &email, ADMIN_PASSWORD, "192.0.2.2", None).await;
    let Ok(accounts::SignInStep::SignedIn(signed_in)) = elsewhere else {
        panic!("signed in without a second factor: {elsewhere:?}");
    };
    assert_eq!(signed_in.user.email, ADMIN_EMAIL);
}

async fn a_password_change_with_a_wrong_current_password_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let user = admin(&app).await;
    let change = PasswordChange {
        current: "not my password".into(),
        new: "a brand new passphrase".into(),
        confirm: "a brand new passphrase".into(),
    };

    let refused = accounts::change_password(&app.state, &user, "192.0.2.1", &change).await;

    match refused {
        Err(Error::Invalid(errors)) => assert_eq!(
            errors.get("current_password"),
            Some(accounts::WRONG_CURRENT_PASSWORD)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(admin(&app).await.password_hash, user.password_hash);
}

async fn an_unchanged_name_writes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let user = admin(&app).await;

    let changed = accounts::change_name(&app.state, &user, "192.0.2.1", &user.name).await;

    assert!(!changed.unwrap());
}

crate::on_both_backends!(
    signing_in_refuses_wrong_credentials_then_throttles,
    a_password_change_with_a_wrong_current_password_changes_nothing,
    an_unchanged_name_writes_nothing,
);
