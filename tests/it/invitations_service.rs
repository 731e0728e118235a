//! The invitations service's refusals, called directly (no HTTP).

use crate::helpers::*;
use roster::actor::Actor;
use roster::db;
use roster::domain::Role;
use roster::domain::invitation::Outcome;
use roster::invitations::{self, Accepting, Closed, Error, Request};

/// The owner, acting, in a set-up instance.
async fn owner(app: &TestApp) -> Actor {
    app.set_up().await;
    app.acting(ADMIN_EMAIL).await
}

/// The one outcome of a refused single-address invitation.
fn refused_outcome(result: Result<invitations::Invited, Error>) -> Outcome {
    match result {
        Err(Error::Refused(plan)) => plan.rows[0].outcome.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The token of the link of an invitation just created (email is off in tests).
async fn invite_link_token(app: &TestApp, actor: &Actor, email: &str) -> String {
    let invited = invitations::invite(
        &app.state,
        actor,
        vec![Request::new(email, Role::Member)],
        false,
    )
    .await
    .unwrap();
    let link = &invited.created[0].link;
    link.rsplit('/').next().unwrap().to_string()
}

async fn an_admin_cannot_invite_an_owner(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    owner(&app).await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Admin)
        .await;
    let admin = app.acting("bea@example.com").await;

    let result = invitations::invite(
        &app.state,
        &admin,
        vec![Request::new("new@example.com", Role::Owner)],
        false,
    )
    .await;

    assert_eq!(
        refused_outcome(result),
        Outcome::RoleNotAllowed(Role::Owner)
    );
}

async fn a_member_cannot_invite_unless_members_may(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    owner(&app).await;
    app.add_member(ORG_SLUG, "cy@example.com", "Cy", Role::Member)
        .await;
    let member = app.acting("cy@example.com").await;

    let result = invitations::invite(
        &app.state,
        &member,
        vec![Request::new("new@example.com", Role::Member)],
        false,
    )
    .await;

    assert!(matches!(result, Err(Error::Forbidden)), "{result:?}");
}

async fn an_address_outside_the_allowed_domains_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = owner(&app).await;
    exec_sql(
        &app.state.db,
        "UPDATE organizations SET allowed_email_domains = 'example.com'",
    )
    .await;

    let result = invitations::invite(
        &app.state,
        &owner,
        vec![Request::new("someone@elsewhere.org", Role::Member)],
        false,
    )
    .await;

    assert_eq!(refused_outcome(result), Outcome::DomainNotAllowed);
}

async fn invitations_over_the_pending_limit_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = owner(&app).await;
    exec_sql(
        &app.state.db,
        "UPDATE organizations SET max_pending_invitations = 1",
    )
    .await;
    invite_link_token(&app, &owner, "first@example.com").await;

    let result = invitations::invite(
        &app.state,
        &owner,
        vec![Request::new("second@example.com", Role::Member)],
        false,
    )
    .await;

    assert_eq!(refused_outcome(result), Outcome::OverLimit);
}

async fn a_revoked_or_expired_link_cannot_be_accepted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = owner(&app).await;
    let revoked = invite_link_token(&app, &owner, "revoked@example.com").await;
    let expired = invite_link_token(&app, &owner, "expired@example.com").await;
    let id = scalar_i64(
        &app.state.db,
        "SELECT id FROM invitations WHERE email_normalized = 'revoked@example.com'",
    )
    .await;
    invitations::manage(&app.state, &owner, &[id], invitations::Manage::Revoke)
        .await
        .unwrap();
    exec_sql(
        &app.state.db,
        "UPDATE invitations SET expires_at = 0 WHERE email_normalized = 'expired@example.com'",
    )
    .await;
    let sign_up = || {
        Accepting::SigningUp(invitations::SignUp {
            name: "New".into(),
            password: "a long enough password".into(),
            password_confirm: "a long enough password".into(),
        })
    };

    let on_revoked = invitations::accept(&app.state, &revoked, sign_up(), "127.0.0.1").await;
    let on_expired = invitations::accept(&app.state, &expired, sign_up(), "127.0.0.1").await;

    assert!(
        matches!(
            on_revoked,
            Err(Error::Closed {
                reason: Closed::Revoked,
                ..
            })
        ),
        "{on_revoked:?}"
    );
    assert!(
        matches!(
            on_expired,
            Err(Error::Closed {
                reason: Closed::Expired,
                ..
            })
        ),
        "{on_expired:?}"
    );
}

async fn a_link_cannot_be_accepted_with_another_account(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = owner(&app).await;
    let token = invite_link_token(&app, &owner, "invitee@example.com").await;
    let someone_else = Accepting::SignedIn {
        user_id: owner.user().unwrap().id,
        email: owner.user().unwrap().email.clone(),
    };

    let result = invitations::accept(&app.state, &token, someone_else, "127.0.0.1").await;

    assert!(matches!(result, Err(Error::WrongAccount)), "{result:?}");
}

async fn a_finished_invitation_cannot_be_revoked_again(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = owner(&app).await;
    invite_link_token(&app, &owner, "once@example.com").await;
    let id = scalar_i64(
        &app.state.db,
        "SELECT id FROM invitations WHERE email_normalized = 'once@example.com'",
    )
    .await;
    let revoke = invitations::Manage::Revoke;
    invitations::manage(&app.state, &owner, &[id], revoke)
        .await
        .unwrap();

    let again = invitations::manage(&app.state, &owner, &[id], revoke).await;
    let unknown = invitations::manage(&app.state, &owner, &[id + 1000], revoke).await;

    assert!(
        matches!(&again, Err(Error::Finished(emails)) if emails == &["once@example.com"]),
        "{again:?}"
    );
    assert!(matches!(unknown, Err(Error::NotFound)), "{unknown:?}");
}

async fn a_previewed_csv_upload_invites_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = owner(&app).await;
    let settings = db::orgs::settings(&app.state.db, owner.org.id)
        .await
        .unwrap();
    let rows =
        roster::domain::invitation::parse_csv(b"email,role\nx@example.com,\nnot-an-address,\n")
            .unwrap();

    let import_id = invitations::upload_csv(
        &app.state,
        &owner,
        &settings,
        "people.csv",
        &rows,
        Role::Member,
    )
    .await
    .unwrap();
    let preview = invitations::csv_preview(&app.state, &owner, &settings, import_id)
        .await
        .unwrap();
    let first = invitations::confirm_csv(&app.state, &owner, import_id)
        .await
        .unwrap();
    let second = invitations::confirm_csv(&app.state, &owner, import_id).await;
    let after = invitations::csv_preview(&app.state, &owner, &settings, import_id).await;

    assert_eq!(preview.plan.invites(), 1);
    assert_eq!(preview.file_name, "people.csv");
    assert_eq!(
        preview.rows.iter().map(|r| r.line).collect::<Vec<_>>(),
        [2, 3],
        "the lines of the file, after its header"
    );
    assert!(matches!(after, Err(Error::NotFound)), "{after:?}");
    assert_eq!(first.created.len(), 1);
    assert_eq!(first.plan.rows.len(), 2);
    assert!(matches!(second, Err(Error::NotFound)), "{second:?}");
}

crate::on_both_backends!(
    a_finished_invitation_cannot_be_revoked_again,
    a_previewed_csv_upload_invites_once,
    an_admin_cannot_invite_an_owner,
    a_member_cannot_invite_unless_members_may,
    an_address_outside_the_allowed_domains_is_refused,
    invitations_over_the_pending_limit_are_refused,
    a_revoked_or_expired_link_cannot_be_accepted,
    a_link_cannot_be_accepted_with_another_account,
);
