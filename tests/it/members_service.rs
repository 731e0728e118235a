//! The members service's refusals, called directly (no HTTP): each says why, changes
//! nothing, and reads as the person is told.

use roster::domain::Role;
use roster::members::{self, Change, Error};

use crate::helpers::*;
use crate::on_both_backends;

/// A set-up Roster: Ada is the organization's Owner.
async fn app(backend: Backend) -> Option<TestApp> {
    let app = TestApp::spawn(backend).await?;
    app.set_up().await;
    Some(app)
}

async fn audit_events(app: &TestApp) -> i64 {
    scalar_i64(&app.state.db, "SELECT COUNT(*) FROM audit_events").await
}

async fn last_owner_is_kept(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    app.add_member(ORG_SLUG, "grace@example.com", "Grace", Role::Owner)
        .await;
    let grace = app.membership_id("grace@example.com").await;
    // Ada's own account is deactivated: Grace is the only Owner who can sign in.
    exec_sql(
        &app.state.db,
        &format!("UPDATE users SET status = 'deactivated' WHERE email = '{ADMIN_EMAIL}'"),
    )
    .await;
    let ada = app.acting(ADMIN_EMAIL).await;
    let before = audit_events(&app).await;

    let demoted = members::change(&app.state, &ada, grace, &Change::Role(Role::Admin)).await;
    let removed = members::change(
        &app.state,
        &ada,
        grace,
        &Change::Remove {
            typed_email: "grace@example.com".into(),
        },
    )
    .await;

    let err = demoted.unwrap_err();
    assert!(matches!(err, Error::LastOwner { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "grace@example.com is the organization's last active Owner. Make someone else Owner first."
    );
    assert!(matches!(removed, Err(Error::LastOwner { .. })));
    assert_eq!(audit_events(&app).await, before, "nothing was written");
}

async fn the_last_owner_cannot_leave(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let ada = app.acting(ADMIN_EMAIL).await;

    let err = members::leave(&app.state, &ada).await.unwrap_err();

    assert_eq!(
        err.to_string(),
        format!(
            "You are the last active Owner of {ORG_NAME}, so you cannot leave it. Make someone else Owner first."
        )
    );
    assert!(
        members::find(&app.state.db, &ada, ada_membership(&app).await)
            .await
            .is_ok()
    );
}

async fn ada_membership(app: &TestApp) -> i64 {
    app.membership_id(ADMIN_EMAIL).await
}

async fn an_admin_cannot_give_a_role_above_their_own(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    app.add_member(ORG_SLUG, "grace@example.com", "Grace", Role::Admin)
        .await;
    app.add_member(ORG_SLUG, "alan@example.com", "Alan", Role::Member)
        .await;
    let alan = app.membership_id("alan@example.com").await;
    let grace = app.acting("grace@example.com").await;

    let to_owner = members::change(&app.state, &grace, alan, &Change::Role(Role::Owner)).await;
    let ada = ada_membership(&app).await;
    let on_owner = members::change(&app.state, &grace, ada, &Change::Deactivate).await;

    let err = to_owner.unwrap_err();
    assert!(matches!(err, Error::Forbidden), "{err:?}");
    assert_eq!(err.to_string(), "Your role does not allow this change.");
    assert!(matches!(on_owner, Err(Error::Forbidden)));
    let role = scalar_text(
        &app.state.db,
        &format!("SELECT role FROM memberships WHERE id = {alan}"),
    )
    .await;
    assert_eq!(role, "member");
}

async fn nobody_changes_their_own_membership(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    app.add_member(ORG_SLUG, "grace@example.com", "Grace", Role::Owner)
        .await;
    let ada = app.acting(ADMIN_EMAIL).await;
    let own = ada_membership(&app).await;

    for change in [
        Change::Role(Role::Admin),
        Change::Deactivate,
        Change::Remove {
            typed_email: ADMIN_EMAIL.into(),
        },
    ] {
        let err = members::change(&app.state, &ada, own, &change)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Own), "{change:?}: {err:?}");
    }
    let read = members::confirmation_target(&app.state.db, &ada, own, members::Asking::Manage);
    assert!(matches!(read.await, Err(Error::Own)));
}

async fn an_inactive_members_role_does_not_change(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    app.add_member(ORG_SLUG, "alan@example.com", "Alan", Role::Member)
        .await;
    let alan = app.membership_id("alan@example.com").await;
    let ada = app.acting(ADMIN_EMAIL).await;
    members::change(&app.state, &ada, alan, &Change::Deactivate)
        .await
        .unwrap();

    let err = members::change(&app.state, &ada, alan, &Change::Role(Role::Viewer))
        .await
        .unwrap_err();
    let again = members::change(&app.state, &ada, alan, &Change::Deactivate).await;

    assert!(matches!(err, Error::NotActive { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "alan@example.com is inactive. Activate them before changing their role."
    );
    assert_eq!(
        again.unwrap_err().to_string(),
        "Nothing to change: alan@example.com is already like that."
    );
}

async fn removal_needs_the_members_email(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    app.add_member(ORG_SLUG, "alan@example.com", "Alan", Role::Member)
        .await;
    let alan = app.membership_id("alan@example.com").await;
    let ada = app.acting(ADMIN_EMAIL).await;

    let change = Change::Remove {
        typed_email: "alan@example.org".into(),
    };
    let err = members::change(&app.state, &ada, alan, &change)
        .await
        .unwrap_err();

    assert!(matches!(err, Error::EmailMismatch { .. }), "{err:?}");
    assert_eq!(err.to_string(), "Type alan@example.com exactly to confirm.");
    assert!(members::find(&app.state.db, &ada, alan).await.is_ok());
}

async fn seats_are_not_assigned_past_the_limit(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    app.add_member(ORG_SLUG, "alan@example.com", "Alan", Role::Member)
        .await;
    app.add_member(ORG_SLUG, "grace@example.com", "Grace", Role::Member)
        .await;
    let ids = [
        app.membership_id("alan@example.com").await,
        app.membership_id("grace@example.com").await,
    ];
    let ada = app.acting(ADMIN_EMAIL).await;
    let off = members::set_seats(&app.state, &ada, &ids, true).await;
    exec_sql(&app.state.db, "UPDATE organizations SET seats = 1").await;

    let err = members::set_seats(&app.state, &ada, &ids, true)
        .await
        .unwrap_err();
    let none = members::set_seats(&app.state, &ada, &[], true).await;

    assert!(matches!(off, Err(Error::SeatsOff)), "{off:?}");
    assert!(matches!(err, Error::NoRoom { left: 1 }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "No seats were assigned: only 1 seat is left. Revoke seats, or raise the seat limit in the settings (Owners only)."
    );
    assert!(matches!(none, Err(Error::NoneSelected)));
    let used = scalar_i64(
        &app.state.db,
        "SELECT COUNT(*) FROM memberships WHERE has_seat",
    )
    .await;
    assert_eq!(used, 0, "all or none");
}

async fn a_viewer_manages_no_seats(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    app.add_member(ORG_SLUG, "alan@example.com", "Alan", Role::Viewer)
        .await;
    exec_sql(&app.state.db, "UPDATE organizations SET seats = 5").await;
    let alan = app.acting("alan@example.com").await;
    let ids = [ada_membership(&app).await];

    let read = members::seat_targets(&app.state.db, &alan, &ids).await;
    let write = members::set_seats(&app.state, &alan, &ids, true).await;

    assert!(matches!(read, Err(Error::SeatsForbidden)));
    let err = write.unwrap_err();
    assert!(matches!(err, Error::SeatsForbidden), "{err:?}");
    assert_eq!(err.to_string(), "Your role does not allow managing seats.");
}

on_both_backends!(
    last_owner_is_kept,
    the_last_owner_cannot_leave,
    an_admin_cannot_give_a_role_above_their_own,
    nobody_changes_their_own_membership,
    an_inactive_members_role_does_not_change,
    removal_needs_the_members_email,
    seats_are_not_assigned_past_the_limit,
    a_viewer_manages_no_seats,
);
