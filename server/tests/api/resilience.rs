//! Nothing lost, nothing leaked: races, S3 faults and old URLs, each injected (DESIGN §7).
//! After each, the invariants hold: object = row = bytes, quota = sum of rows.

use std::time::{Duration, Instant};

use app::backend::{files, lease, sweeper::sweep};
use serde_json::Value;

use crate::{
    fault::{is_complete, is_list_parts, Fault, FaultProxy},
    helpers::{assert_no_violations, sha256, spawn_app_via, stack, test_bytes, TestApp},
    sweeper::ttl,
    upload::{app, id, ARGS},
};

const MIB: usize = 1024 * 1024;
const HOUR: Duration = Duration::from_secs(3600);

/// An app whose S3 traffic passes a fault proxy, with short S3 timeouts so a hang ends soon.
pub(crate) async fn app_behind_proxy() -> (TestApp, FaultProxy) {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let mut args = ARGS.to_vec();
    args.extend([
        "--s3-attempt-timeout",
        "1s",
        "--s3-timeout",
        "2s",
        "--s3-complete-timeout",
        "2s",
    ]);
    let app = spawn_app_via(Some(&proxy.endpoint), &args).await;
    (app, proxy)
}

/// An app behind a fault proxy with the default S3 timeouts, so a request the proxy holds
/// waits for the test; and a signed-up user.
async fn patient_app_behind_proxy() -> (TestApp, FaultProxy) {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let app = spawn_app_via(Some(&proxy.endpoint), ARGS).await;
    app.signed_up_user().await;
    (app, proxy)
}

/// A started upload of `bytes` with every part in S3, not completed yet.
pub(crate) async fn sent(app: &TestApp, name: &str, bytes: &[u8]) -> String {
    let (status, started) = app.start(name, bytes.len(), "").await;
    assert_eq!(status, 200, "{started}");
    let file_id = id(&started);
    app.upload_parts(&file_id, bytes, 5 * MIB, None).await;
    file_id
}

/// The file's status, object key and multipart upload id.
pub(crate) async fn row(app: &TestApp, file_id: &str) -> (String, String, Option<String>) {
    sqlx::query_as("select status, object_key, s3_upload_id from file where file_id = $1::uuid")
        .bind(file_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// The quota the rows account for equals what the user row says.
async fn assert_quota_matches_rows(app: &TestApp) {
    let (used, reserved): (i64, i64) = sqlx::query_as(
        "select coalesce(sum(size_bytes) filter (where status = 'complete'), 0)::bigint,
                coalesce(sum(size_bytes) filter (where status = 'uploading'), 0)::bigint
         from file",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(app.usage().await, (used, reserved));
}

#[tokio::test]
async fn ten_concurrent_completes_leave_one_complete_object() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = test_bytes(20 * 5 * MIB / 2, 70);
    let file_id = sent(&app, "twice.bin", &bytes).await;

    let answers = futures::future::join_all((0..10).map(|_| app.complete(&file_id))).await;
    for (status, file) in &answers {
        assert_eq!(*status, 200, "{file}");
        assert_eq!(file["status"], "complete");
    }
    assert_eq!(row(&app, &file_id).await.0, "complete");
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
    assert_eq!(app.usage().await, (bytes.len() as i64, 0));
    assert_quota_matches_rows(&app).await;
    assert_no_violations(&app).await;
}

#[tokio::test]
async fn storage_faults_during_completion_leave_the_upload_to_retry() {
    let (app, proxy) = app_behind_proxy().await;
    app.signed_up_user().await;
    for (n, fault) in [
        Fault::Status(500),
        Fault::Status(503),
        Fault::ErrorIn200,
        Fault::Hang,
    ]
    .into_iter()
    .enumerate()
    {
        let bytes = test_bytes(11 * MIB, 80 + n as u64);
        let file_id = sent(&app, &format!("fault-{n}.bin"), &bytes).await;
        proxy.fail(is_complete, fault);
        let hits = proxy.hits();
        let (status, error) = app.complete(&file_id).await;
        assert!(proxy.hits() > hits, "{fault:?} was never injected");
        assert_eq!(status, 503, "{fault:?}: {error}");
        assert!(
            error.to_string().to_lowercase().contains("storage"),
            "{fault:?}: {error}"
        );
        // Nothing was decided: still uploading, parts kept, quota still reserved.
        assert_eq!(row(&app, &file_id).await.0, "uploading", "{fault:?}");
        let (_, parts) = app
            .json("/api/uploaded_parts", &[("file_id", &file_id)])
            .await;
        assert_eq!(
            parts.as_array().map(Vec::len),
            Some(3),
            "{fault:?}: {parts}"
        );

        proxy.heal();
        let (status, file) = app.complete(&file_id).await;
        assert_eq!(status, 200, "{fault:?}: {file}");
        assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
    }
    assert_quota_matches_rows(&app).await;
    assert_no_violations(&app).await;
}

/// A part signed and sent while `complete_upload` lists the parts (a second tab resuming the
/// file, say) has its digest recorded before it can be sent: the listing finds it with its
/// digest, and the file completes. (Digests read before the listing failed the file: "stored
/// without a checksum".)
#[tokio::test]
async fn a_part_sent_while_completion_lists_the_parts_is_held_to_its_digest() {
    let (app, proxy) = patient_app_behind_proxy().await;
    let bytes = test_bytes(8 * MIB, 90);
    let (status, started) = app.start("late.bin", bytes.len(), "").await;
    assert_eq!(status, 200, "{started}");
    let file_id = id(&started);
    app.upload_parts(&file_id, &bytes, 5 * MIB, Some(2)).await;

    proxy.fail(is_list_parts, Fault::Hold);
    let late_part = proxy.while_held(async {
        let part = &bytes[5 * MIB..];
        let signed = signed_part(&app, &file_id, 2, part).await;
        assert_eq!(app.put_part(&signed, part.to_vec()).await, 200);
    });
    let ((status, file), ()) = tokio::join!(app.complete(&file_id), late_part);
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["status"], "complete");
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
    assert_quota_matches_rows(&app).await;
    assert_no_violations(&app).await;
}

/// A completion whose lease ran out while it listed the parts (a store slower than the lease)
/// and was taken by another caller asks S3 to assemble nothing: the file is the new holder's.
#[tokio::test]
async fn a_completion_that_lost_its_lease_while_listing_assembles_nothing() {
    let (app, proxy) = patient_app_behind_proxy().await;
    let bytes = test_bytes(8 * MIB, 91);
    let file_id = sent(&app, "slow.bin", &bytes).await;
    let uuid = uuid::Uuid::parse_str(&file_id).unwrap();

    proxy.fail(is_list_parts, Fault::Hold);
    let takeover = proxy.while_held(async {
        // The lease runs out, as after a listing slower than it, and another caller takes it.
        sqlx::query("update file set lease_until = now() - interval '1 second' where file_id = $1")
            .bind(uuid)
            .execute(&app.db)
            .await
            .unwrap();
        files::claim(&app.db, uuid, HOUR).await.unwrap().unwrap().1
    });
    let ((status, body), lease) = tokio::join!(app.complete(&file_id), takeover);
    assert_eq!(status, 409, "{body}");
    assert!(
        !proxy
            .seen()
            .iter()
            .any(|(method, target)| is_complete(method, target)),
        "S3 was asked to assemble under a lease taken by another"
    );
    assert_eq!(row(&app, &file_id).await.0, "uploading");

    lease::release(&app.db, lease).await.unwrap();
    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
    assert_quota_matches_rows(&app).await;
    assert_no_violations(&app).await;
}

/// `sign_parts` reads the file and records the digests in one statement. A file deleted before
/// it (by its owner, an admin or the sweeper) is not found; one deleted as it runs breaks the
/// digests' foreign key, which is told apart from a database error: either way the call
/// answers like a missing file (404) rather than a 500, and records nothing.
#[tokio::test]
async fn digests_for_a_file_deleted_meanwhile_are_not_recorded_and_say_so() {
    let app = app().await;
    app.signed_up_user().await;
    let (status, started) = app.start("gone.bin", 1000, "").await;
    assert_eq!(status, 200, "{started}");
    let file_id = id(&started);
    let uuid = uuid::Uuid::parse_str(&file_id).unwrap();
    let owner: uuid::Uuid = sqlx::query_scalar("select owner_id from file where file_id = $1")
        .bind(uuid)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let (status, body) = app.json("/api/delete_file", &[("file_id", &file_id)]).await;
    assert_eq!(status, 200, "{body}");

    let given = files::GivenDigests {
        numbers: vec![1],
        sha256s: vec![Some(vec![7u8; 32])],
        md5s: vec![None],
        writable: true,
        md5s_differ: false,
    };
    let recorded = files::sign_target(&app.db, owner, uuid, &given).await;
    assert!(
        matches!(recorded, Err(app::backend::Error::NotFound)),
        "{:?}",
        recorded.err()
    );
    let left: i64 = sqlx::query_scalar("select count(*) from file_part where file_id = $1")
        .bind(uuid)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_no_violations(&app).await;
}

/// Part `number`, to hold `body`, signed.
async fn signed_part(app: &TestApp, file_id: &str, number: i64, body: &[u8]) -> Value {
    let (status, signed) = app.sign(file_id, &[(number, body)]).await;
    assert_eq!(status, 200, "{signed}");
    signed[0].clone()
}

/// PUTs `body` again, with its signed headers, to every part signed before the file ended.
async fn put_again(app: &TestApp, parts: &[Value], body: &[u8]) -> Vec<u16> {
    let mut statuses = Vec::new();
    for part in parts {
        statuses.push(app.put_part(part, body.to_vec()).await);
    }
    statuses
}

/// Part 1 of a one-part file holding `body`, signed.
async fn signed_parts(app: &TestApp, file_id: &str, body: &[u8]) -> Vec<Value> {
    let (status, signed) = app.sign(file_id, &[(1, body)]).await;
    assert_eq!(status, 200, "{signed}");
    signed.as_array().unwrap().clone()
}

#[tokio::test]
async fn old_upload_urls_write_nothing_after_complete_abort_or_delete() {
    let app = app().await;
    app.signed_up_user().await;
    let small = test_bytes(1000, 90);

    // Complete: the object cannot be replaced through its old URL.
    let (_, started) = app.start("done.bin", small.len(), "").await;
    let done = id(&started);
    let urls = signed_parts(&app, &done, &small).await;
    app.upload_parts(&done, &small, 5 * MIB, None).await;
    assert_eq!(app.complete(&done).await.0, 200);
    for status in put_again(&app, &urls, &small).await {
        assert!(status >= 400, "a PUT after completion answered {status}");
    }
    assert_eq!(app.object(&done).await, small, "the object was replaced");

    // Abort, and delete of an uploading and of a complete file: nothing reappears.
    let mut ended = Vec::new();
    for (name, end) in [
        ("aborted.bin", "/api/abort_upload"),
        ("deleted-early.bin", "/api/delete_file"),
        ("deleted-late.bin", "/api/delete_file"),
    ] {
        let (_, started) = app.start(name, small.len(), "").await;
        let file_id = id(&started);
        let urls = signed_parts(&app, &file_id, &small).await;
        if name == "deleted-late.bin" {
            app.upload_parts(&file_id, &small, 5 * MIB, None).await;
            assert_eq!(app.complete(&file_id).await.0, 200);
        }
        let key = row(&app, &file_id).await.1;
        assert_eq!(app.json(end, &[("file_id", &file_id)]).await.0, 200);
        for status in put_again(&app, &urls, &small).await {
            assert!(
                status >= 400,
                "{name}: a PUT after the end answered {status}"
            );
        }
        ended.push(key);
    }
    for key in &ended {
        assert_eq!(app.storage.object_size(key).await.unwrap(), None, "{key}");
    }
    assert!(app.storage.open_uploads("u/").await.unwrap().is_empty());
    assert_quota_matches_rows(&app).await;
    assert_no_violations(&app).await;
}

#[tokio::test]
async fn the_sweeper_removes_objects_no_row_owns_and_keeps_the_rest() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = test_bytes(1000, 91);
    let kept = sent(&app, "kept.bin", &bytes).await;
    assert_eq!(app.complete(&kept).await.0, 200);
    // Bytes that reached the app's prefix with no row: a delete whose S3 call failed.
    app.storage
        .put_empty("u/nobody/stray", "application/octet-stream", true)
        .await
        .unwrap();

    let swept = sweep(&app.state, ttl(HOUR, HOUR)).await.unwrap().unwrap();
    assert_eq!(swept.stray_objects, 0, "younger than the grace: kept");
    let swept = sweep(&app.state, ttl(HOUR, Duration::ZERO))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(swept.stray_objects, 1);
    assert_eq!(
        app.storage.object_size("u/nobody/stray").await.unwrap(),
        None
    );
    assert_eq!(sha256(&app.object(&kept).await), sha256(&bytes));
    assert_no_violations(&app).await;
}

#[tokio::test]
async fn the_sweeper_leaves_a_file_whose_completion_is_in_progress() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = test_bytes(6 * MIB, 92);
    let file_id = sent(&app, "busy.bin", &bytes).await;
    let uuid = uuid::Uuid::parse_str(&file_id).unwrap();
    // A completion holds the lease (as complete_upload does while S3 assembles).
    let (_, lease) = files::claim(&app.db, uuid, HOUR).await.unwrap().unwrap();

    let swept = sweep(&app.state, ttl(Duration::ZERO, Duration::ZERO))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(swept.abandoned, 0);
    assert_eq!(row(&app, &file_id).await.0, "uploading");
    // Meanwhile a second completion, an abort and a delete are told to come back: the file
    // is busy (409), which is not an outage.
    assert_eq!(app.complete_quickly(&file_id).await, 409);
    assert_eq!(
        app.json("/api/abort_upload", &[("file_id", &file_id)])
            .await
            .0,
        409
    );
    assert_eq!(
        app.json("/api/delete_file", &[("file_id", &file_id)])
            .await
            .0,
        409
    );

    lease::release(&app.db, lease).await.unwrap();
    assert_eq!(app.complete(&file_id).await.0, 200);
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
    assert_no_violations(&app).await;
}

impl TestApp {
    /// `complete_upload`, expecting it to give up waiting for another holder (20 s at most).
    async fn complete_quickly(&self, file_id: &str) -> u16 {
        let started = Instant::now();
        let status = self.complete(file_id).await.0;
        assert!(started.elapsed() < Duration::from_secs(30));
        status
    }
}

#[tokio::test]
async fn one_file_whose_bytes_cannot_be_removed_does_not_stop_the_sweep() {
    let (app, proxy) = app_behind_proxy().await;
    app.signed_up_user().await;
    let (_, a) = app.start("stuck.bin", 6 * MIB, "").await;
    let (_, b) = app.start("fine.bin", 6 * MIB, "").await;
    let stuck_key = row(&app, &id(&a)).await.1;
    let (_, fine_key, fine_upload) = row(&app, &id(&b)).await;
    // S3 refuses everything about the first file.
    let path = format!("/{}", stuck_key);
    proxy.fail(
        move |_, target: &str| target.contains(&path),
        Fault::Status(500),
    );

    let swept = sweep(&app.state, ttl(Duration::ZERO, HOUR))
        .await
        .unwrap()
        .unwrap();
    // The stuck file is left as it is: S3 cannot say whether its parts were assembled (a
    // file to complete, not to discard), so it waits for the next sweep.
    assert_eq!(swept.abandoned, 1);
    assert!(swept.failures >= 1, "{swept:?}");
    assert_eq!(
        app.storage
            .list_parts(&fine_key, &fine_upload.unwrap())
            .await
            .unwrap(),
        None,
        "the second file was cleaned up"
    );
    assert_eq!(app.usage().await, (0, 6 * MIB as i64));

    // Once S3 answers again, the next sweep removes what was left.
    proxy.heal();
    let swept = sweep(&app.state, ttl(Duration::ZERO, Duration::ZERO))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(swept.abandoned, 1, "{swept:?}");
    assert_eq!(swept.failures, 0, "{swept:?}");
    assert!(app.storage.open_uploads("u/").await.unwrap().is_empty());
    assert_eq!(app.usage().await, (0, 0));
    assert_no_violations(&app).await;
}

#[tokio::test]
async fn a_stalled_storage_does_not_take_the_site_down() {
    let (app, proxy) = app_behind_proxy().await;
    let (email, password) = app.signed_up_user().await;
    proxy.fail(|_, _| true, Fault::Hang);

    let started = Instant::now();
    let ready = app.get("/readyz").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["storage"], "unavailable");
    assert_eq!(body["database"], "ok");

    // More stalled uploads than the database pool has connections: none holds one.
    let starts = (0..24).map(|n| {
        let app = &app;
        async move { app.start(&format!("stalled-{n}.bin"), 6 * MIB, "").await }
    });
    let (starts, _) = tokio::join!(futures::future::join_all(starts), async {
        // Meanwhile sign-in, `me` and listing answer.
        let (other, _) = crate::helpers::browser(&app.origin);
        let signed_in = other
            .post(app.url("/api/sign_in"))
            .form(&[("email", email.as_str()), ("password", password.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 200);
        assert_eq!(app.me().await.as_deref(), Some(email.as_str()));
        assert_eq!(app.json("/api/list_files", &[]).await.0, 200);
    });
    for (status, error) in starts {
        assert_eq!(status, 503, "{error}");
        assert!(error.to_string().contains("storage"), "{error}");
    }
    assert_eq!(
        app.usage().await,
        (0, 0),
        "nothing reserved for failed starts"
    );
    proxy.heal();
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_no_violations(&app).await;
}
