//! Abandoned uploads are aborted and their quota released; S3's orphans are cleaned up.

use std::time::Duration;

use app::backend::sweeper::{sweep, Sweep, Swept};

use crate::helpers::{assert_no_violations, spawn_app_with, test_bytes, TestApp};

const MIB: usize = 1024 * 1024;
const HOUR: Duration = Duration::from_secs(3600);

/// Uploads older than `upload_ttl` are abandoned; unowned bytes older than `grace` removed.
pub fn ttl(upload_ttl: Duration, grace: Duration) -> Sweep {
    Sweep { upload_ttl, grace }
}

async fn app() -> TestApp {
    // No background sweeps during the test: it sweeps itself, when it chooses.
    spawn_app_with(&["--part-size", "5MiB", "--sweep-interval", "1d"]).await
}

async fn start(app: &TestApp, name: &str) -> String {
    let size = (11 * MIB).to_string();
    let response = app
        .call(
            "/api/start_upload",
            &[("name", name), ("size", &size), ("content_type", "")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let started: serde_json::Value = response.json().await.unwrap();
    started["file"]["id"].as_str().unwrap().to_owned()
}

async fn listed(app: &TestApp) -> serde_json::Value {
    app.call("/api/list_files", &[]).await.json().await.unwrap()
}

#[tokio::test]
async fn uploads_past_the_ttl_are_aborted_and_release_their_quota() {
    let app = app().await;
    app.signed_up_user().await;
    let file_id = start(&app, "left.bin").await;
    let key: String = sqlx::query_scalar("select object_key from file where file_id = $1::uuid")
        .bind(&file_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let upload_id: String =
        sqlx::query_scalar("select s3_upload_id from file where file_id = $1::uuid")
            .bind(&file_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    // One part arrived before the tab was closed.
    let part = test_bytes(5 * MIB, 1);
    let (status, signed) = app.sign(&file_id, &[(1, &part)]).await;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(app.put_part(&signed[0], part).await, 200);

    // Within the TTL: untouched.
    assert_eq!(
        sweep(&app.state, ttl(HOUR, HOUR)).await.unwrap(),
        Some(Swept::default())
    );
    assert_eq!(listed(&app).await["usage"]["reserved_bytes"], 11 * MIB);

    // Past it: aborted in S3, gone from the list, quota free.
    let swept = sweep(&app.state, ttl(Duration::ZERO, HOUR)).await.unwrap();
    assert_eq!(
        swept,
        Some(Swept {
            abandoned: 1,
            ..Swept::default()
        })
    );
    let page = listed(&app).await;
    assert_eq!(page["files"], serde_json::json!([]));
    assert_eq!(page["usage"]["reserved_bytes"], 0);
    assert!(app
        .storage
        .list_parts(&key, &upload_id)
        .await
        .unwrap()
        .is_none());
    // A client coming back late is told, and nothing is charged.
    let response = app
        .call("/api/complete_upload", &[("file_id", &file_id)])
        .await;
    assert_eq!(response.status(), 422);
    assert_no_violations(&app).await;
}

#[tokio::test]
async fn multipart_uploads_no_file_knows_of_are_aborted() {
    let app = app().await;
    app.signed_up_user().await;
    let live = start(&app, "live.bin").await;
    let orphan = app
        .storage
        .create_multipart("u/nobody/orphan", "application/octet-stream", true)
        .await
        .unwrap();

    // Only the orphan is aborted: the live upload is younger than its TTL.
    let swept = sweep(&app.state, ttl(HOUR, HOUR)).await.unwrap();
    assert_eq!(swept, Some(Swept::default()), "nothing is old enough yet");
    let open: Vec<String> = app
        .storage
        .open_uploads("u/")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.upload_id)
        .collect();
    assert!(open.contains(&orphan));

    // With a zero TTL the orphan goes; so does the live one, as abandoned, not as an orphan.
    let swept = sweep(&app.state, ttl(Duration::ZERO, Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(
        swept,
        Some(Swept {
            abandoned: 1,
            orphans: 1,
            ..Swept::default()
        })
    );
    assert!(app.storage.open_uploads("u/").await.unwrap().is_empty());
    let response = app
        .call("/api/complete_upload", &[("file_id", &live)])
        .await;
    assert_eq!(response.status(), 422);
    assert_no_violations(&app).await;
}
