//! A real headless Chromium for tests, driven over WebDriver: each `Browser` has its own
//! chromedriver on a free port and its own fresh profile, and both go when it drops.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, ORG_NAME, ORG_SLUG, TestApp};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long to wait for a page, a driver or a condition before failing.
const PATIENCE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(25);

/// True when running in CI, where a missing tool fails the test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A chromedriver process (and the Chromium it starts), killed on drop.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    async fn spawn() -> Chromedriver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            // Its own process group, so that drop ends Chromium's processes with it.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let mut driver = Chromedriver { child, port };
        let deadline = Instant::now() + PATIENCE;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited before answering: {status}");
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer");
            tokio::time::sleep(POLL).await;
        }
        driver
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// One browser session on one running Roster.
pub struct Browser {
    client: Client,
    base: String,
    // Dropped in this order: the driver (and Chromium) first, then its profile.
    _driver: Chromedriver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A fresh headless Chromium pointed at `app`; None (after saying so loudly) when
    /// chromedriver is not installed outside CI. In CI (CI=true) that fails the test.
    pub async fn start(app: &TestApp) -> Option<Browser> {
        Self::start_with(app, &[]).await
    }

    /// As `start`, with more Chromium arguments (e.g. a dark colour scheme).
    pub async fn start_with(app: &TestApp, extra: &[&str]) -> Option<Browser> {
        if !std::path::Path::new(CHROMEDRIVER).exists() {
            assert!(!in_ci(), "{CHROMEDRIVER} is required in CI");
            eprintln!("\n*** SKIPPED browser test: chromedriver not installed ***\n");
            return None;
        }
        let driver = Chromedriver::spawn().await;
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--window-size=1280,900",
        ];
        let profile_arg = format!("--user-data-dir={}", profile.path().display());
        args.push(&profile_arg);
        args.extend_from_slice(extra);
        let capabilities: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        }))
        .unwrap();
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session with Chromium");
        Some(Browser {
            client,
            base: app.address.clone(),
            _driver: driver,
            _profile: profile,
        })
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens a path on Roster (or a full URL).
    pub async fn goto(&self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        self.client.goto(&url).await.unwrap();
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Waits until the page shown is `path`.
    pub async fn wait_for_path(&self, path: &str) {
        let deadline = Instant::now() + PATIENCE;
        while self.path().await != path {
            if Instant::now() > deadline {
                panic!(
                    "expected to reach {path}, still on {}:\n{}",
                    self.path().await,
                    self.text().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the page shows `text`.
    pub async fn wait_for_text(&self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            // While a page is being replaced, reading it may fail: that is "not yet".
            let shown = self.shown_text().await.unwrap_or_default();
            if shown.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "expected {text:?} on {}, which shows:\n{shown}",
                self.path().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// All the text the page shows.
    pub async fn text(&self) -> String {
        self.shown_text().await.unwrap()
    }

    async fn shown_text(&self) -> Result<String, fantoccini::error::CmdError> {
        let script = "return document.body ? document.body.innerText : '';";
        let text = self.client.execute(script, vec![]).await?;
        Ok(text.as_str().unwrap_or_default().to_string())
    }

    /// The text of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.unwrap() {
            texts.push(element.text().await.unwrap());
        }
        texts
    }

    /// The form field whose `<label>` reads `label`.
    pub async fn field(&self, label: &str) -> Element {
        let xpath = format!("//*[@id=//label[normalize-space()='{label}']/@for]");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no field labelled {label:?}: {e}"))
    }

    /// Replaces what the field labelled `label` holds with `text`, as if typed.
    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.field(label).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// What the field labelled `label` holds.
    pub async fn value(&self, label: &str) -> String {
        let field = self.field(label).await;
        field.prop("value").await.unwrap().unwrap_or_default()
    }

    /// The text shown right after the field labelled `label`, up to the next field.
    pub async fn message_next_to(&self, label: &str) -> String {
        let field = self.field(label).await;
        let script = "const parts = [];
            for (let e = arguments[0].nextElementSibling;
                 e && !['LABEL', 'INPUT', 'BUTTON', 'FIELDSET'].includes(e.tagName);
                 e = e.nextElementSibling) parts.push(e.innerText);
            return parts.join(' ');";
        let text = self
            .client
            .execute(script, vec![serde_json::to_value(&field).unwrap()])
            .await
            .unwrap();
        text.as_str().unwrap_or_default().to_string()
    }

    /// Clicks the button, link or disclosure whose text reads `text`.
    pub async fn click(&self, text: &str) {
        let xpath =
            format!("(//button|//a|//summary|//input[@type='submit'])[normalize-space()='{text}']");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("nothing to click reading {text:?}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Presses one key on the keyboard, wherever the focus is.
    pub async fn press(&self, key: Key) {
        self.type_keys(&key.to_string()).await;
    }

    /// Types `text` on the keyboard, wherever the focus is.
    pub async fn type_keys(&self, text: &str) {
        let mut keys = KeyActions::new("keyboard".into());
        for c in text.chars() {
            keys = keys
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.client.perform_actions(keys).await.unwrap();
    }

    /// What has the keyboard focus, by the name assistive technology gives it: its
    /// aria-label, else its label, else its text.
    pub async fn focused(&self) -> String {
        let script = "const e = document.activeElement;
            const name = e.getAttribute('aria-label')
                || (e.labels && e.labels.length ? e.labels[0].innerText : e.innerText);
            return (name || e.tagName).trim();";
        let name = self.client.execute(script, vec![]).await.unwrap();
        name.as_str().unwrap_or_default().to_string()
    }

    /// Presses Tab until `name` has the focus; returns what got it on the way, in order.
    pub async fn tab_to(&self, name: &str) -> Vec<String> {
        let mut reached = Vec::new();
        for _ in 0..40 {
            self.press(Key::Tab).await;
            reached.push(self.focused().await);
            if reached.last().is_some_and(|n| n == name) {
                return reached;
            }
        }
        panic!("Tab never reached {name:?}; it reached {reached:?}");
    }

    /// Waits until `script` (a JavaScript expression) is true on the page shown.
    pub async fn wait_until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            // While a page is being replaced, running a script may fail: that is "not yet".
            let done = self
                .client
                .execute(&format!("return !!({script});"), vec![])
                .await
                .is_ok_and(|v| v.as_bool() == Some(true));
            if done {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "expected {what} on {}, which shows:\n{}",
                self.path().await,
                self.text().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for a dialog to be open as a modal, and returns its heading and the items
    /// it lists.
    pub async fn open_dialog(&self) -> (String, Vec<String>) {
        self.wait_until(
            "an open modal dialog",
            "document.querySelector('dialog[open]') && document.querySelector('dialog[open]').matches(':modal')",
        )
        .await;
        let heading = self.texts("dialog[open] h2").await.remove(0);
        let listed = self.texts("dialog[open] li").await;
        (heading, listed)
    }

    pub async fn wait_for_no_dialog(&self) {
        self.wait_until("no dialog", "!document.querySelector('dialog')")
            .await;
    }

    /// Completes first-run set-up in this browser, as the admin of `helpers`.
    pub async fn set_up(&self, app: &TestApp) {
        let url = app
            .setup_url
            .as_deref()
            .expect("a fresh Roster offers set-up");
        self.goto(url).await;
        self.fill("Email", ADMIN_EMAIL).await;
        self.fill("Name", "Ada Lovelace").await;
        self.fill("Password", ADMIN_PASSWORD).await;
        self.fill("Password again", ADMIN_PASSWORD).await;
        self.fill("Organization name", ORG_NAME).await;
        self.click("Create account and organization").await;
    }

    /// Signs in as the admin of `helpers` and waits for the Members page.
    pub async fn sign_in_as_admin(&self) {
        self.goto("/sign-in").await;
        self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        self.wait_for_path(&format!("/orgs/{ORG_SLUG}/members"))
            .await;
    }

    /// Signs in on the sign-in page, which must be showing: the email step, then the
    /// password step.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.fill("Email", email).await;
        self.click("Continue").await;
        self.wait_for_text("Use another address").await;
        self.fill("Password", password).await;
        self.click("Sign in").await;
    }

    /// Ends the WebDriver session (Chromium quits); the driver goes on drop.
    pub async fn close(self) {
        let Browser { client, .. } = self;
        let _ = client.close().await;
    }
}
