//! Past capacity the API sheds load at once (503 with Retry-After) instead of queueing calls
//! until they time out; clients that retry as the browser and `haul` do lose nothing.

use serde_json::Value;

use crate::{
    fault::{is_complete, Fault, FaultProxy},
    helpers::{assert_no_violations, header, spawn_app_via, stack, test_bytes},
    resilience::{row, sent},
    upload::ARGS,
};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn past_capacity_calls_are_shed_with_retry_after_and_every_upload_completes_on_retry() {
    // One API call at a time, a tenth of a second of waiting for it: a completion held by the
    // store fills the server.
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let mut args = ARGS.to_vec();
    args.extend(["--api-concurrency", "1", "--api-wait", "100ms"]);
    let app = spawn_app_via(Some(&proxy.endpoint), &args).await;
    app.signed_up_user().await;
    let files: Vec<(String, Vec<u8>)> = {
        let mut files = Vec::new();
        for n in 0..4u64 {
            let bytes = test_bytes(MIB + n as usize, 300 + n);
            files.push((sent(&app, &format!("busy-{n}.bin"), &bytes).await, bytes));
        }
        files
    };
    let count_files = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from file")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    let before = count_files().await;

    proxy.fail(is_complete, Fault::Hold);
    let held = app.complete(&files[0].0);
    let meanwhile = async {
        // The held completion has the only slot: every API call is answered 503 at once,
        // whatever it is, and does nothing.
        let calls = [
            app.call("/api/list_files", &[]).await,
            app.call(
                "/api/start_upload",
                &[("name", "shed.bin"), ("size", "1024"), ("content_type", "")],
            )
            .await,
            app.call("/api/complete_upload", &[("file_id", &files[1].0)])
                .await,
            app.call("/api/uploaded_parts", &[("file_id", &files[2].0)])
                .await,
            // A path that is no endpoint: shed too, and counted as "other", not under a
            // name of the caller's choosing.
            app.call("/api/no_such_endpoint_7f3a", &[]).await,
        ];
        let mut shed = Vec::new();
        for response in calls {
            let status = response.status().as_u16();
            let retry_after = header(&response, "retry-after");
            let body: Value = response.json().await.unwrap_or(Value::Null);
            shed.push((status, retry_after, body));
        }
        // Pages and health checks are not counted against the API's slots.
        let page = app.get("/").await.status().as_u16();
        let ready = app.get("/healthz").await.status().as_u16();
        (shed, page, ready)
    };
    let ((status, file), (shed, page, ready)) = tokio::join!(held, proxy.while_held(meanwhile));
    for (status, retry_after, body) in &shed {
        assert_eq!(*status, 503, "{body}");
        assert_eq!(retry_after, "1");
        assert!(
            body["Unavailable"]
                .as_str()
                .is_some_and(|words| words.contains("busy")),
            "{body}"
        );
    }
    assert_eq!((page, ready), (200, 200));
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["status"], "complete");
    // The shed start wrote nothing; the shed completion left its upload as it was.
    assert_eq!(count_files().await, before);
    assert_eq!(row(&app, &files[1].0).await.0, "uploading");

    // The clients try again (after Retry-After): everything completes, nothing is lost.
    for (file_id, bytes) in &files[1..] {
        let (status, file) = app.complete(file_id).await;
        assert_eq!(status, 200, "{file}");
        assert_eq!(file["size_bytes"], bytes.len());
    }
    let (status, page) = app.json("/api/list_files", &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["files"].as_array().map(Vec::len), Some(files.len()));
    let total: usize = files.iter().map(|(_, bytes)| bytes.len()).sum();
    assert_eq!(app.usage().await, (total as i64, 0));
    assert_no_violations(&app).await;
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains("haul_requests_shed_total{endpoint=\"list_files\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("haul_requests_shed_total{endpoint=\"other\"} 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("no_such_endpoint"), "{metrics}");
}
