//! A real OpenID provider on loopback: the certified `oidc-provider` package from the
//! npm registry (tests/tools/oidc-provider.mjs), with its development login and consent
//! pages. Any login and password sign in; the login is the account's email address.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::*;

/// The client Roster is registered as.
pub const CLIENT_ID: &str = "roster";
pub const CLIENT_SECRET: &str = "the provider's secret for roster";
/// Another application at the same provider, with the same redirect address.
pub const OTHER_CLIENT_ID: &str = "another-app";

pub struct OidcProvider {
    pub issuer: String,
    _child: Child,
}

impl OidcProvider {
    /// Starts a provider for `app`'s callback; `unverified` addresses come with
    /// `email_verified: false`. None (a loud skip) outside CI when the package is not
    /// installed.
    pub async fn start(app: &TestApp, unverified: &[&str]) -> Option<OidcProvider> {
        let script = crate::quality::tool("oidc-provider")?
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("oidc-provider.mjs");
        let callback = app.url("/sso/callback");
        let config = serde_json::json!({
            "clients": [
                {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [callback]},
                {"client_id": OTHER_CLIENT_ID, "client_secret": "other", "redirect_uris": [callback]},
            ],
            "unverified": unverified,
        });
        let mut child = Command::new("node")
            .arg(&script)
            .arg(config.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("the provider starts in time")
            .unwrap()
            .expect("the provider prints its address");
        let issuer = first
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_string();
        // The provider goes on writing (its development pages log): a closed pipe would
        // end it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Some(OidcProvider {
            issuer,
            _child: child,
        })
    }

    /// Signs in at the provider, from the authorization address Roster sent the
    /// browser to: logs in as `login` and consents, in a browser of its own (the
    /// provider's cookies). Returns the address the provider sends the browser back to.
    pub async fn sign_in(&self, authorization_url: &str, login: &str) -> String {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut next = authorization_url.to_string();
        for _ in 0..12 {
            if !next.starts_with(&self.issuer) {
                return next;
            }
            let response = browser.get(&next).send().await.unwrap();
            if response.status().is_redirection() {
                next = absolute(&self.issuer, &location(&response));
                continue;
            }
            let status = response.status();
            let page = response.text().await.unwrap();
            assert_eq!(status, 200, "the provider's page: {page}");
            let action = attrs(&page, "form", "action")
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("a form on the provider's page: {page}"));
            let fields: Vec<(&str, &str)> = if page.contains("name=\"login\"") {
                vec![("prompt", "login"), ("login", login), ("password", "any")]
            } else {
                vec![("prompt", "consent")]
            };
            let answer = browser
                .post(absolute(&self.issuer, &action))
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_redirection(), "{}", answer.status());
            next = absolute(&self.issuer, &location(&answer));
        }
        panic!("the provider did not send the browser back");
    }
}

fn absolute(issuer: &str, to: &str) -> String {
    if to.starts_with("http") {
        to.to_string()
    } else {
        format!("{issuer}{to}")
    }
}
