//! The organization settings service's refusals, called directly (no HTTP).

use crate::helpers::*;
use roster::db;
use roster::domain::Role;
use roster::orgs::{self, Error};

async fn only_owners_change_settings_and_never_below_the_seats_assigned(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Admin)
        .await;
    let admin = app.acting("bea@example.com").await;
    let owner = app.acting(ADMIN_EMAIL).await;
    assert_eq!(app.turn_seats_on("2").await.status(), 303);
    exec_sql(&app.state.db, "UPDATE memberships SET has_seat = TRUE").await;
    let mut tx = app.state.db.begin().await.unwrap();
    let mut settings = db::orgs::settings_for_update(&mut tx, owner.org.id)
        .await
        .unwrap();
    drop(tx);

    let by_admin = orgs::update_settings(&app.state, &admin, &settings).await;
    settings.seats = Some(1);
    let below = orgs::update_settings(&app.state, &owner, &settings).await;

    assert!(matches!(by_admin, Err(Error::Forbidden)), "{by_admin:?}");
    assert!(
        matches!(below, Err(Error::SeatsBelowAssigned { assigned: 2 })),
        "{below:?}"
    );
}

crate::on_both_backends!(only_owners_change_settings_and_never_below_the_seats_assigned,);
