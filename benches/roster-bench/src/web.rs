//! A browser's part: signing in, reading a page's CSRF token, uploading and confirming
//! a CSV file.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::cookie::{CookieStore, Jar};
use reqwest::redirect::Policy;
use reqwest::{StatusCode, Url};

pub struct Browser {
    client: reqwest::Client,
    jar: Arc<Jar>,
    base: String,
}

/// The value of the first `csrf_token` form field of a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let (_, rest) = html.split_once(r#"name="csrf_token" value=""#)?;
    rest.split_once('"').map(|(token, _)| token.to_string())
}

impl Browser {
    pub fn new(base: &str) -> anyhow::Result<Browser> {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .timeout(Duration::from_secs(120))
            .build()?;
        Ok(Browser {
            client,
            jar,
            base: base.to_string(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The `Cookie` header this browser sends, for wrk.
    pub fn cookie_header(&self) -> anyhow::Result<String> {
        let url = Url::parse(&self.base)?;
        let value = self
            .jar
            .cookies(&url)
            .ok_or_else(|| anyhow::anyhow!("no session cookie"))?;
        Ok(format!("Cookie: {}", value.to_str()?))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<(StatusCode, String)> {
        let response = self.client.get(self.url(path)).send().await?;
        let status = response.status();
        Ok((status, response.text().await?))
    }

    /// Signs in through the sign-in form and stops there.
    pub async fn sign_in_only(&self, email: &str, password: &str) -> anyhow::Result<()> {
        self.submit_sign_in(email, password, "/").await
    }

    async fn submit_sign_in(&self, email: &str, password: &str, next: &str) -> anyhow::Result<()> {
        let (_, form) = self.get("/sign-in").await?;
        let csrf = csrf_in(&form).ok_or_else(|| anyhow::anyhow!("no CSRF token on /sign-in"))?;
        let response = self
            .client
            .post(self.url("/sign-in"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", email),
                ("password", password),
                ("next", next),
            ])
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == StatusCode::SEE_OTHER,
            "sign-in answered {}",
            response.status()
        );
        Ok(())
    }

    /// GET with extra headers, as a script would send them.
    pub async fn get_with(
        &self,
        path: &str,
        header: (&str, &str),
    ) -> anyhow::Result<(StatusCode, String)> {
        let response = self
            .client
            .get(self.url(path))
            .header(header.0, header.1)
            .send()
            .await?;
        let status = response.status();
        Ok((status, response.text().await?))
    }

    /// Signs in through the sign-in form, then opens `page`; returns the session's CSRF
    /// token.
    pub async fn sign_in(&self, email: &str, password: &str, page: &str) -> anyhow::Result<String> {
        self.submit_sign_in(email, password, page).await?;
        let (status, html) = self.get(page).await?;
        anyhow::ensure!(
            status == StatusCode::OK,
            "{page} answered {status} after sign-in"
        );
        csrf_in(&html).ok_or_else(|| anyhow::anyhow!("no CSRF token on {page}"))
    }

    /// Uploads a CSV file and opens its preview (the upload redirects to it); returns how
    /// long both took and the confirmation form's path.
    pub async fn preview_csv(
        &self,
        slug: &str,
        csrf: &str,
        csv: String,
    ) -> anyhow::Result<(Duration, String)> {
        let form = reqwest::multipart::Form::new().text("role", "member").part(
            "file",
            reqwest::multipart::Part::text(csv)
                .file_name("people.csv")
                .mime_str("text/csv")?,
        );
        let started = Instant::now();
        let response = self
            .client
            .post(self.url(&format!("/orgs/{slug}/invitations/csv?csrf_token={csrf}")))
            .multipart(form)
            .send()
            .await?;
        let status = response.status();
        anyhow::ensure!(
            status == StatusCode::SEE_OTHER,
            "the CSV upload answered {status}"
        );
        let preview = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| anyhow::anyhow!("the CSV upload did not redirect"))?
            .to_string();
        response.bytes().await?;
        let (status, html) = self.get(&preview).await?;
        let took = started.elapsed();
        anyhow::ensure!(
            status == StatusCode::OK,
            "the CSV preview answered {status}"
        );
        let action = format!(r#"action="/orgs/{slug}/invitations/csv/"#);
        let confirm = html
            .split_once(&action)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(id, _)| format!("/orgs/{slug}/invitations/csv/{id}"))
            .ok_or_else(|| anyhow::anyhow!("the CSV preview has no confirmation form"))?;
        Ok((took, confirm))
    }

    /// Confirms a previewed CSV file; returns how long until every invitation was
    /// stored with its email queued (the answer comes after the commit).
    pub async fn confirm_csv(&self, confirm: &str, csrf: &str) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let response = self
            .client
            .post(self.url(confirm))
            .form(&[("csrf_token", csrf)])
            .send()
            .await?;
        let status = response.status();
        response.bytes().await?;
        let took = started.elapsed();
        anyhow::ensure!(
            status == StatusCode::SEE_OTHER,
            "the CSV confirmation answered {status}"
        );
        Ok(took)
    }
}
