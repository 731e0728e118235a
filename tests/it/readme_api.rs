//! The README's "Automating Roster" examples, run as written with curl against a real
//! server, so that they keep working.

use crate::helpers::*;
use roster::domain::Role;

/// The `sh` code blocks of the README's "Automating Roster" section, without the line
/// that sets the variables (the test sets them).
fn examples() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = readme
        .split("\n## Automating Roster\n")
        .nth(1)
        .expect("an Automating Roster section")
        .split("\n## ")
        .next()
        .unwrap();
    section
        .split("```sh\n")
        .skip(1)
        .map(|block| {
            block
                .split("```")
                .next()
                .unwrap()
                .lines()
                .filter(|line| !line.starts_with("export "))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|block| !block.trim().is_empty())
        .collect()
}

async fn the_readme_curl_examples_work_as_written(backend: Backend) {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var("CI").is_err(), "curl is needed in CI");
        eprintln!("SKIPPED: curl is not installed");
        return;
    }
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "grace@example.com", "Grace Example", Role::Member)
        .await;
    exec_sql(&app.state.db, "UPDATE organizations SET seats = 10").await;
    exec_sql(
        &app.state.db,
        "UPDATE memberships SET has_seat = TRUE WHERE user_id = (SELECT id FROM users WHERE email_normalized = 'ada@example.com')",
    )
    .await;
    let token = app.create_token(ORG_SLUG, "README").await;
    let member = app.membership_id("grace@example.com").await.to_string();
    let blocks = examples();
    assert_eq!(blocks.len(), 2, "the README's two blocks of examples");

    let mut invitation = String::new();
    let mut team = String::new();
    for block in &blocks {
        let output = tokio::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", block])
            .env("ROSTER", &app.address)
            .env("ORG", ORG_SLUG)
            .env("TOKEN", &token)
            .env("MEMBER", &member)
            .env("INVITATION", &invitation)
            .env("TEAM", &team)
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "{block}\nfailed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        invitation = scalar_i64(
            &app.state.db,
            "SELECT COALESCE(MAX(id), 0) FROM invitations WHERE email_normalized = 'alan@example.com'",
        )
        .await
        .to_string();
        team = scalar_i64(&app.state.db, "SELECT COALESCE(MAX(id), 0) FROM teams")
            .await
            .to_string();
    }

    let pending = scalar_i64(
        &app.state.db,
        "SELECT COUNT(*) FROM invitations WHERE state = 'pending'",
    )
    .await;
    assert_eq!(
        pending, 1,
        "Katherine's stays pending; Alan's was resent, then revoked"
    );
    let grace = scalar_i64(
        &app.state.db,
        "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE u.email_normalized = 'grace@example.com'",
    )
    .await;
    assert_eq!(grace, 0, "the last example removed Grace");
    let teams = scalar_text(&app.state.db, "SELECT name FROM teams").await;
    assert_eq!(teams, "Platform team", "created, then renamed");
}

crate::on_both_backends!(the_readme_curl_examples_work_as_written);
