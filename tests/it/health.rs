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
