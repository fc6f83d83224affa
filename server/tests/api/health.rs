use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

/// /readyz's status and body.
async fn readiness(app: &crate::helpers::TestApp) -> (u16, serde_json::Value) {
    let response = app.get("/readyz").await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn readyz_reports_database_and_storage_ready() {
    let app = spawn_app().await;
    assert_eq!(
        readiness(&app).await,
        (
            200,
            serde_json::json!({ "database": "ok", "storage": "ok" })
        )
    );
}

#[tokio::test]
async fn readyz_reports_a_missing_bucket() {
    let app = spawn_app().await;
    app.storage
        .client()
        .delete_bucket()
        .bucket(app.storage.bucket())
        .send()
        .await
        .unwrap();
    assert_eq!(
        readiness(&app).await,
        (
            503,
            serde_json::json!({ "database": "ok", "storage": "unavailable" })
        )
    );
}

#[tokio::test]
async fn home_page_is_rendered_on_the_server() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Heavy uploads, straight to S3"), "{html}");
    // The hydration script is referenced, so the browser can take over.
    assert!(html.contains("/pkg/haul.js"), "{html}");
}

#[tokio::test]
async fn unknown_page_is_a_404() {
    let app = spawn_app().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
}
