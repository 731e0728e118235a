//! Answers name in `Vary` the htmx headers they were chosen by, so that no cache (nor
//! the browser's back button) serves a fragment for a page or the other way round.

use crate::helpers::*;

/// The header names a response's `Vary` headers list, lowercased.
fn varies_by(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("vary")
        .iter()
        .flat_map(|value| value.to_str().unwrap().split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect()
}

async fn members_answers_vary_by_the_htmx_headers_they_read(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let members = app.url(&format!("/orgs/{ORG_SLUG}/members"));

    let fragment = app
        .client
        .get(&members)
        .header("HX-Request", "true")
        .header("HX-Target", "members-results")
        .send()
        .await
        .unwrap();
    let page = app.client.get(&members).send().await.unwrap();

    for (answer, response) in [("fragment", &fragment), ("page", &page)] {
        assert_eq!(response.status(), 200, "{answer}");
        let vary = varies_by(response);
        assert!(vary.contains(&"hx-request".into()), "{answer}: {vary:?}");
        assert!(vary.contains(&"hx-target".into()), "{answer}: {vary:?}");
    }
}

async fn the_users_list_varies_by_history_restore(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    let restore = app
        .client
        .get(app.url("/admin/users"))
        .header("HX-Request", "true")
        .header("HX-History-Restore-Request", "true")
        .send()
        .await
        .unwrap();

    assert_eq!(restore.status(), 200);
    let vary = varies_by(&restore);
    assert!(vary.contains(&"hx-request".into()), "{vary:?}");
    assert!(
        vary.contains(&"hx-history-restore-request".into()),
        "{vary:?}"
    );
    assert!(restore.text().await.unwrap().starts_with("<!DOCTYPE html>"));
}

crate::on_both_backends!(
    members_answers_vary_by_the_htmx_headers_they_read,
    the_users_list_varies_by_history_restore,
);
