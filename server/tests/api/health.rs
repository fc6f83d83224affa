use sqlx::Connection;

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

/// The test stack lives in a static that is never dropped: at exit, an `atexit` hook stops its
/// PostgreSQL and weed and removes its folder (over a GiB after a full run). This runs one
/// test in a child process of this binary and looks at what it left.
#[tokio::test]
async fn the_test_stack_is_stopped_and_removed_when_the_binary_exits() {
    let child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "health::healthz_answers_ok", "--test-threads=1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its stack's folder is named after its process id.
    let dir = std::path::Path::new(crate::helpers::TEST_ROOT).join(child.id().unwrap().to_string());
    let output = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}"
    );
    assert!(!dir.exists(), "{} is left", dir.display());
    // Nor is any process of that stack still running (weed and PostgreSQL name it).
    let needle = dir.to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(!cmdline.contains(&needle), "still running: {cmdline}");
    }
}

/// Each test's database goes when the test's app is dropped, so a run holds only the running
/// tests' databases; an app beside it or another browser on it shares it and leaves it.
#[tokio::test]
async fn a_tests_database_is_dropped_with_its_app_and_not_with_those_sharing_it() {
    let app = spawn_app().await;
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut admin = sqlx::PgConnection::connect_with(
        &crate::helpers::stack()
            .await
            .postgres
            .connect_options("postgres"),
    )
    .await
    .unwrap();
    let mut exists = async || -> bool {
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(&database)
            .fetch_one(&mut admin)
            .await
            .unwrap()
    };

    drop(crate::helpers::spawn_beside(&app, &[]).await);
    drop(app.other_browser());
    assert!(
        exists().await,
        "{database} was dropped with an app sharing it"
    );
    // Still usable by its own app.
    assert_eq!(app.get("/healthz").await.status(), 200);

    drop(app);
    assert!(
        !exists().await,
        "{database} is left after its app was dropped"
    );
}
