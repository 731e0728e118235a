//! Test harness: a fresh database per test on each backend, the real server on a random
//! port, and an HTTP client that keeps cookies like a browser.

use std::sync::OnceLock;

use reqwest::redirect::Policy;
use roster::clock::Clock;
use roster::config::{Cli, Config};
use roster::db;
use roster::domain::{Email, Role};
use roster::startup::Application;
use roster::state::AppState;
use sqlx::Connection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::smtp_sink::SmtpSink;

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend, each as its own `#[tokio::test]`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )*
    };
}

/// Tracing for tests, printed only when `TEST_LOG` is set.
fn init_tracing() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = roster::telemetry::init(if filter.is_empty() { "info" } else { &filter });
        }
    });
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    /// A fresh, empty database; None (after saying so loudly) when PostgreSQL is not
    /// reachable outside CI. In CI (CI=true) an unreachable PostgreSQL fails the test.
    pub async fn create(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("roster.db").display());
                Some(TestDb {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                })
            }
            Backend::Postgres => {
                let mut admin = match sqlx::PgConnection::connect(PG_ADMIN_URL).await {
                    Ok(conn) => conn,
                    Err(err) => {
                        if std::env::var("CI").is_ok_and(|v| v == "true") {
                            panic!("PostgreSQL at {PG_ADMIN_URL} is required in CI: {err}");
                        }
                        eprintln!(
                            "\n*** SKIPPED on PostgreSQL: {PG_ADMIN_URL} is not reachable ({err}). ***\n"
                        );
                        return None;
                    }
                };
                let name = format!("roster_test_{}", rand::random::<u64>());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
                Some(TestDb {
                    url,
                    _dir: None,
                    pg_name: Some(name),
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside async: use a small runtime of its own on another thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(PG_ADMIN_URL).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Roster's configuration for a test, as if given on the command line.
pub fn config(database_url: &str, extra: &[&str]) -> Config {
    let mut args = vec![
        "roster",
        "--database-url",
        database_url,
        "--bind",
        "127.0.0.1:0",
    ];
    // Tests never ask the machine's DNS: domain verification asks a closed port on
    // loopback unless the test starts its own server (`dns_server`).
    if !extra.contains(&"--dns-resolver") {
        args.extend_from_slice(&["--dns-resolver", "127.0.0.1:9"]);
    }
    // The identity provider and webhook receivers the tests start are on loopback.
    if !extra
        .iter()
        .any(|a| a.starts_with("--allow-private-addresses"))
    {
        args.push("--allow-private-addresses");
    }
    args.extend_from_slice(extra);
    <Cli as clap::Parser>::try_parse_from(args).unwrap().config
}

/// The first account that `TestApp::set_up` creates.
pub const ADMIN_EMAIL: &str = "ada@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery";
pub const ORG_NAME: &str = "Analytical Engines";
pub const ORG_SLUG: &str = "analytical-engines";
/// The password of every account made by `TestApp::add_member`.
pub const MEMBER_PASSWORD: &str = "member's long password";

/// A running Roster with its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub setup_url: Option<String>,
    db: Option<TestDb>,
    db_url: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// Roster without SMTP.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, &[]).await
    }

    /// Roster with extra command-line settings (e.g. `--smtp-url`).
    pub async fn spawn_with(backend: Backend, extra: &[&str]) -> Option<TestApp> {
        init_tracing();
        let db = TestDb::create(backend).await?;
        Some(Self::spawn_on(db, extra).await)
    }

    /// Roster on an existing test database.
    pub async fn spawn_on(db: TestDb, extra: &[&str]) -> TestApp {
        let url = db.url.clone();
        Self::serve(&url, extra, Some(db), new_client()).await
    }

    /// A second Roster on the same database, reached by this same browser, as behind a
    /// load balancer (cookies are kept per host, whatever the port).
    pub async fn another_instance(&self) -> TestApp {
        self.another_instance_with(&[]).await
    }

    /// `another_instance` with extra command-line settings.
    pub async fn another_instance_with(&self, extra: &[&str]) -> TestApp {
        Self::serve(&self.db_url, extra, None, self.client.clone()).await
    }

    /// Starts Roster on `db_url`; `db`, if given, is dropped with it.
    async fn serve(
        db_url: &str,
        extra: &[&str],
        db: Option<TestDb>,
        client: reqwest::Client,
    ) -> TestApp {
        let app = Application::build(config(db_url, extra), Clock::default())
            .await
            .unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let setup_url = app.setup_url().map(str::to_string);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        TestApp {
            address,
            client,
            state,
            setup_url,
            db,
            db_url: db_url.to_string(),
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Stops the server as Ctrl-C would, and waits for it.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    /// Stops the server and hands over its database, for a restart on it.
    pub async fn stop_and_take_db(mut self) -> TestDb {
        self.stop().await;
        self.db.take().expect("the first TestApp owns its database")
    }

    pub fn db_url(&self) -> &str {
        &self.db_url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_html(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// The CSRF token of this client's session (from a page's meta tag).
    pub async fn csrf_token(&self) -> String {
        // The start page leads to a page with the token, signed in or not.
        let mut path = "/".to_string();
        for _ in 0..3 {
            let response = self.get(&path).await;
            if response.status() == 303 {
                path = location(&response);
                continue;
            }
            return meta_csrf(&response.text().await.unwrap());
        }
        panic!("no page with a CSRF token reached from /");
    }

    /// Submits a form as a browser would: urlencoded, with the session's CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    /// Completes first-run set-up as the admin; the client is then signed in.
    pub async fn set_up(&self) -> reqwest::Response {
        let setup_url = self
            .setup_url
            .clone()
            .expect("a fresh Roster offers set-up");
        let token = setup_url.split("token=").nth(1).unwrap().to_string();
        let page = self.client.get(&setup_url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let response = self
            .post_form(
                "/setup",
                &[
                    ("token", &token),
                    ("email", ADMIN_EMAIL),
                    ("name", "Ada Lovelace"),
                    ("password", ADMIN_PASSWORD),
                    ("password_confirm", ADMIN_PASSWORD),
                    ("organization", ORG_NAME),
                ],
            )
            .await;
        assert_eq!(response.status(), 303, "set-up should redirect");
        response
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form("/sign-in", &[("email", email), ("password", password)])
            .await
    }

    /// Adds an active member with `role` to the organization `slug`, with an account
    /// whose password is `MEMBER_PASSWORD` (arrangement directly in storage).
    pub async fn add_member(&self, slug: &str, email: &str, name: &str, role: Role) -> i64 {
        static HASH: OnceLock<String> = OnceLock::new();
        let hash = HASH.get_or_init(|| roster::domain::password::hash(MEMBER_PASSWORD));
        let org = db::orgs::find_by_slug(&self.state.db, slug)
            .await
            .unwrap()
            .expect("organization exists");
        let now = self.state.clock.now();
        let mut tx = self.state.db.begin().await.unwrap();
        let email = Email::parse(email).unwrap();
        let user_id = db::users::insert(&mut tx, &email, name, hash, false, now)
            .await
            .unwrap();
        db::memberships::insert(&mut tx, org.id, user_id, role, None, now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        user_id
    }

    /// The member `email` of the test organization acting, with their role as stored
    /// (for calling a service directly, without HTTP).
    pub async fn acting(&self, email: &str) -> roster::actor::Actor {
        let db = &self.state.db;
        let org = db::orgs::find_by_slug(db, ORG_SLUG).await.unwrap().unwrap();
        let user = db::users::find_by_email(db, &Email::parse(email).unwrap())
            .await
            .unwrap()
            .unwrap();
        let role = scalar_text(
            db,
            &format!(
                "SELECT role FROM memberships WHERE user_id = {} AND org_id = {}",
                user.id, org.id
            ),
        )
        .await
        .parse()
        .unwrap();
        let audit = db::audit::Actor {
            user_id: Some(user.id),
            email: Some(user.email.clone()),
            ip: None,
        };
        roster::actor::Actor::member(org, user, role, audit)
    }

    /// The id of the membership of the account `email` (its only one, in tests).
    pub async fn membership_id(&self, email: &str) -> i64 {
        scalar_i64(
            &self.state.db,
            &format!(
                "SELECT m.id FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE u.email_normalized = '{}'",
                email.to_lowercase()
            ),
        )
        .await
    }

    /// A new browser signed in as a member added with `add_member`.
    pub async fn browser_for(&self, email: &str) -> TestApp {
        let browser = self.new_browser();
        let response = browser.sign_in(email, MEMBER_PASSWORD).await;
        assert_eq!(response.status(), 303, "{email} signs in");
        browser
    }

    /// Creates an API token on the Account page of this client's signed-in person, for
    /// the organization `slug`; returns the secret the page shows once.
    pub async fn create_token(&self, slug: &str, name: &str) -> String {
        let response = self
            .post_form(
                "/account/tokens",
                &[("token_name", name), ("org", slug), ("expires", "30")],
            )
            .await;
        assert_eq!(response.status(), 200, "the token is created");
        let page = response.text().await.unwrap();
        let doc = scraper::Html::parse_document(&page);
        let selector = scraper::Selector::parse("#new-token").unwrap();
        doc.select(&selector)
            .next()
            .and_then(|e| e.value().attr("value"))
            .expect("the page shows the new token")
            .to_string()
    }

    /// Calls the JSON API with a bearer token: (status, body as JSON, or Null when empty).
    pub async fn api(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = reqwest::Client::new()
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, json)
    }

    /// Turns seats on with `n` seats, as the Owner.
    pub async fn turn_seats_on(&self, n: &str) -> reqwest::Response {
        self.post_form(
            &format!("/orgs/{ORG_SLUG}/settings"),
            &[
                ("name", ORG_NAME),
                ("lifetime_value", "7"),
                ("lifetime_unit", "days"),
                ("max_pending_invitations", "50"),
                ("max_members", "1000"),
                ("allowed_email_domains", ""),
                ("seats_enabled", "on"),
                ("seats", n),
            ],
        )
        .await
    }

    /// A second client with its own cookies, as another browser would be.
    pub fn new_browser(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            client: new_client(),
            state: self.state.clone(),
            setup_url: self.setup_url.clone(),
            db: None,
            db_url: self.db_url.clone(),
            stop: None,
            server: None,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Reads the CSRF token from a page's `<meta name="csrf-token">`.
pub fn meta_csrf(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(r#"meta[name="csrf-token"]"#).unwrap();
    doc.select(&selector)
        .next()
        .and_then(|m| m.value().attr("content"))
        .unwrap_or_default()
        .to_string()
}

/// The text of every element matching `css` on a page.
pub fn texts(html: &str, css: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(css).unwrap();
    doc.select(&selector)
        .map(|e| {
            e.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The attribute `attr` of every element matching `css` on a page.
pub fn attrs(html: &str, css: &str, attr: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(css).unwrap();
    doc.select(&selector)
        .filter_map(|e| e.value().attr(attr).map(str::to_string))
        .collect()
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Writes `n` messages to the outbox (arrangement directly in storage), the i-th to
/// `person{i}@example.com` with the subject `message {i}`; returns their ids in order.
pub async fn queue_messages(app: &TestApp, n: usize) -> Vec<i64> {
    let mut tx = app.state.db.begin().await.unwrap();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let message = db::outbox::NewMessage {
            recipient: format!("person{i}@example.com"),
            subject: format!("message {i}"),
            text_body: "text".into(),
            html_body: "<p>html</p>".into(),
        };
        ids.push(
            db::outbox::enqueue(&mut tx, &message, app.state.clock.now())
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    ids
}

/// An outbox worker on `app`'s database, with a connection pool of its own, that
/// delivers to `smtp_url`: as another instance's worker would.
pub async fn smtp_worker(app: &TestApp, smtp_url: &str) -> roster::email::worker::Worker {
    let db = db::Db::connect(app.db_url()).await.unwrap();
    let config = config(app.db_url(), &["--smtp-url", smtp_url]);
    let state = AppState::new(db, config, app.state.clock.clone())
        .await
        .unwrap();
    roster::email::worker::Worker::for_state(&state)
}

/// Runs a statement directly against the test's database (to arrange or break state).
pub async fn exec_sql(db: &roster::db::Db, sql: &str) {
    match db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        roster::db::Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
    }
    .unwrap();
}

/// Reads one number from the test's database.
pub async fn scalar_i64(db: &roster::db::Db, sql: &str) -> i64 {
    match db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        roster::db::Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

/// Reads one piece of text from the test's database.
pub async fn scalar_text(db: &roster::db::Db, sql: &str) -> String {
    match db {
        roster::db::Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        roster::db::Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

/// The `Set-Cookie` line of `response` for the cookie `name`, if it sets one.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// The value a `Set-Cookie` line gives its cookie.
pub fn cookie_value(line: &str) -> &str {
    line.split(';')
        .next()
        .and_then(|c| c.split_once('='))
        .map_or("", |(_, v)| v)
}

/// Ends, from a connection of its own, every other PostgreSQL backend of the test
/// database `url` (as a restart or fail-over would), and waits until they are gone.
pub async fn terminate_other_backends(url: &str) {
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    for _ in 0..100 {
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if others == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("PostgreSQL did not end the other backends of {url}");
}

/// The body of a CSV download named `file`, after checking it is one: its type, its
/// name, and streamed (no length known up front).
pub async fn csv_download(response: reqwest::Response, file: &str) -> String {
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let disposition = response.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.contains(file), "{disposition}");
    assert!(
        response.headers().get("content-length").is_none(),
        "streamed, not built in memory first"
    );
    response.text().await.unwrap()
}

/// Roster set up with SMTP whose server then goes down (after set-up's own email), so
/// that what is sent next waits in the outbox, retried every second; the sink can be
/// started again.
pub async fn set_up_with_smtp_down(backend: Backend) -> Option<(SmtpSink, TestApp)> {
    let mut sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(
        backend,
        &["--smtp-url", &sink.url(), "--email-retry-secs", "1"],
    )
    .await?;
    app.set_up().await;
    sink.wait_for(1).await;
    sink.stop().await;
    Some((sink, app))
}
