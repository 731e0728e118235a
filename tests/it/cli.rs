use crate::helpers::*;

fn roster(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .output()
        .unwrap()
}

async fn migrate_prepares_an_empty_database(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };

    let output = roster(&["migrate", "--database-url", &db.url]);

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let app = TestApp::spawn_on(db, &[]).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
}

async fn an_unreachable_database_stops_start_up_naming_the_setting(backend: Backend) {
    let url = match backend {
        Backend::Sqlite => "sqlite:///nonexistent-dir/roster.db".to_string(),
        Backend::Postgres => "postgres://postgres@127.0.0.1:1/nowhere".to_string(),
    };

    let output = roster(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"]);

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--database-url"), "{stderr}");
}

crate::on_both_backends!(
    migrate_prepares_an_empty_database,
    an_unreachable_database_stops_start_up_naming_the_setting
);

#[test]
fn a_bad_setting_stops_start_up_with_a_line_naming_it() {
    let output = roster(&["--bind", "not-an-address"]);

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error:") && first.contains("--bind"),
        "{stderr}"
    );
}

#[test]
fn help_lists_every_setting_with_its_environment_variable() {
    let output = roster(&["--help"]);

    let help = String::from_utf8_lossy(&output.stdout);
    for name in [
        "ROSTER_DATABASE_URL",
        "ROSTER_BIND",
        "ROSTER_BASE_URL",
        "ROSTER_SMTP_URL",
        "ROSTER_SMTP_FROM",
        "ROSTER_SECURE_COOKIES",
        "RUST_LOG",
    ] {
        assert!(help.contains(name), "{name} missing from --help");
    }
}
