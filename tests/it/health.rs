use crate::helpers::*;

async fn health_and_readiness_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let health = app.get("/healthz").await;
    let ready = app.get("/readyz").await;

    assert_eq!(health.status(), 200);
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

async fn unknown_pages_are_a_404_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let (status, html) = app.get_html("/no/such/page").await;

    assert_eq!(status, 404);
    assert_eq!(texts(&html, "h1"), vec!["Page not found"]);
}

async fn htmx_errors_come_back_as_a_flash_message(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let response = app
        .client
        .get(app.url("/no/such/page"))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["HX-Retarget"], "#flash");
    let html = response.text().await.unwrap();
    assert!(!html.contains("<html"), "a fragment, not a page: {html}");
    assert_eq!(texts(&html, "p.flash-error").len(), 1);
}

async fn shutdown_waits_for_the_server_to_finish(backend: Backend) {
    let Some(mut app) = TestApp::spawn(backend).await else {
        return;
    };
    assert_eq!(app.get("/healthz").await.status(), 200);

    app.stop().await;

    assert!(
        app.client.get(app.url("/healthz")).send().await.is_err(),
        "nothing listens after stop"
    );
}

crate::on_both_backends!(
    health_and_readiness_answer,
    unknown_pages_are_a_404_page,
    htmx_errors_come_back_as_a_flash_message,
    shutdown_waits_for_the_server_to_finish,
);

async fn a_server_error_renders_a_500_page_and_an_htmx_flash(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    // Break storage under the running server so that the next query fails.
    exec_sql(
        &app.state.db,
        "ALTER TABLE memberships RENAME TO memberships_gone",
    )
    .await;

    let (status, html) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let htmx = app
        .client
        .get(app.url(&format!("/orgs/{ORG_SLUG}/members")))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();

    assert_eq!(status, 500);
    assert_eq!(texts(&html, "h1"), vec!["Something went wrong"]);
    assert!(
        !html.contains("memberships"),
        "internal causes are never shown"
    );
    assert_eq!(htmx.status(), 500);
    assert_eq!(htmx.headers()["HX-Retarget"], "#flash");
}

async fn a_refused_htmx_request_explains_itself_in_the_flash_area(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    let response = app
        .client
        .post(app.url("/sign-out"))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", "forged")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["HX-Retarget"], "#flash");
    assert!(texts(&response.text().await.unwrap(), ".flash-error")[0].contains("Reload the page"));
}

crate::on_both_backends!(
    a_server_error_renders_a_500_page_and_an_htmx_flash,
    a_refused_htmx_request_explains_itself_in_the_flash_area
);
