//! `server storage check` and the probe at start, against the embedded store and through a
//! proxy that makes it behave like stores that cannot run Haul.

use std::time::Duration;

use app::backend::storage::Storage;
use axum::http::Method;
use server::{
    settings::ChecksumSetting,
    storage_check::{self, Findings, Level, Row, PREFIX, WRONG_SHA256_PART},
};

use crate::{
    fault::{Fault, FaultProxy},
    helpers::{args_beside, spawn_app, spawn_app_via, stack, TestApp},
};

fn line<'a>(rows: &'a [Row], check: &str) -> &'a Row {
    rows.iter().find(|row| row.check == check).unwrap()
}

/// No scratch key is left: no upload open, no object under the prefix.
async fn nothing_left(storage: &Storage) {
    assert!(storage.open_uploads(PREFIX).await.unwrap().is_empty());
    let (objects, _) = storage.objects_page(PREFIX, None).await.unwrap();
    assert!(objects.is_empty(), "{objects:?}");
}

async fn probed(storage: &Storage, origin: &str) -> Vec<Row> {
    let findings = storage_check::probe(storage, origin).await.unwrap();
    storage_check::rows(&findings, origin)
}

/// The rows with HAUL_S3_CHECKSUM=sha256 set by hand, and with auto: a store without working
/// SHA-256 checksums fails the first, and runs Haul in md5 mode with the second.
fn sha256_fails_and_auto_uses_md5(findings: &Findings, origin: &str) -> Vec<Row> {
    let rows = storage_check::rows_for(findings, origin, ChecksumSetting::Sha256);
    assert!(!storage_check::safe(&rows));
    let integrity = line(&rows, "integrity (HAUL_S3_CHECKSUM)");
    assert_eq!(
        (integrity.level, integrity.found.as_str()),
        (Level::Fail, "sha256 not enforced")
    );
    assert!(integrity
        .advice
        .as_ref()
        .unwrap()
        .contains("auto (on this store: md5)"));
    let auto = storage_check::rows_for(findings, origin, ChecksumSetting::Auto);
    let table = storage_check::table(&auto);
    assert!(storage_check::safe(&auto), "{table}");
    assert_eq!(
        line(&auto, "integrity (HAUL_S3_CHECKSUM)").found,
        "auto uses md5"
    );
    rows
}

#[tokio::test]
async fn the_embedded_store_passes_every_line() {
    let app = spawn_app().await;
    let rows = probed(&app.storage, &app.origin).await;
    let table = storage_check::table(&rows);
    assert!(storage_check::safe(&rows), "{table}");
    for check in [
        "signed Content-Length",
        "SHA-256 of a part",
        "composite checksum in HeadObject",
        "UploadPart after completion",
        "UploadPart after abort",
        "CORS preflight of a part PUT",
        "ETag exposed to the page",
        "lifecycle: abort incomplete uploads",
    ] {
        assert_eq!(line(&rows, check).level, Level::Ok, "{table}");
    }
    assert_eq!(
        line(&rows, "SHA-256 of a part").found,
        "sha256 enforced (BadDigest)"
    );
    nothing_left(&app.storage).await;
}

#[tokio::test]
async fn a_store_refusing_the_checksum_header_runs_haul_with_md5_only() {
    // Backblaze B2's documented answer to x-amz-checksum-sha256.
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let app = spawn_app_via(Some(&proxy.endpoint), &[]).await;
    proxy.fail(
        |method, target| method == Method::PUT && target.contains("x-amz-checksum-sha256"),
        Fault::Refuse(
            400,
            "InvalidArgument",
            "Unsupported header 'x-amz-checksum-sha256' received for this API call.",
        ),
    );
    let findings = storage_check::probe(&app.storage, &app.origin)
        .await
        .unwrap();
    let rows = sha256_fails_and_auto_uses_md5(&findings, &app.origin);
    let sha = line(&rows, "SHA-256 of a part");
    assert_eq!(sha.level, Level::Fail);
    assert!(sha.found.contains("400 InvalidArgument"), "{}", sha.found);
    assert!(sha.found.contains("Unsupported header"), "{}", sha.found);
    assert!(sha
        .advice
        .as_ref()
        .unwrap()
        .contains("HAUL_S3_CHECKSUM=auto"));
    assert!(proxy.hits() > 0);
    proxy.heal();
    nothing_left(&app.storage).await;
}

#[tokio::test]
async fn a_store_ignoring_a_wrong_sha256_runs_haul_with_md5_only() {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let app = spawn_app_via(Some(&proxy.endpoint), &[]).await;
    let part = format!("partNumber={WRONG_SHA256_PART}&");
    proxy.fail(
        move |method, target| {
            method == Method::PUT
                && target.contains(&part)
                && target.contains("x-amz-checksum-sha256")
        },
        Fault::Accept,
    );
    let findings = storage_check::probe(&app.storage, &app.origin)
        .await
        .unwrap();
    let rows = sha256_fails_and_auto_uses_md5(&findings, &app.origin);
    let sha = line(&rows, "SHA-256 of a part");
    assert_eq!(
        (sha.level, sha.found.as_str()),
        (Level::Fail, "sha256 ignored")
    );
    assert!(sha.meaning.as_ref().unwrap().contains("corrupted"));
    assert_eq!(proxy.hits(), 1);
    proxy.heal();
    nothing_left(&app.storage).await;
}

#[tokio::test]
async fn a_store_failing_completion_of_sha256_uploads_keeps_no_scratch_upload() {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let app = spawn_app_via(Some(&proxy.endpoint), &[]).await;
    proxy.fail(
        crate::fault::is_complete,
        Fault::Refuse(
            400,
            "InvalidPart",
            "One or more of the specified parts could not be found.",
        ),
    );
    let findings = storage_check::probe(&app.storage, &app.origin)
        .await
        .unwrap();
    let rows = sha256_fails_and_auto_uses_md5(&findings, &app.origin);
    let composite = line(&rows, "composite checksum in HeadObject");
    assert_eq!(composite.level, Level::Fail);
    assert!(
        composite.found.starts_with("completion refused"),
        "{}",
        composite.found
    );
    assert!(
        composite.found.contains("InvalidPart"),
        "{}",
        composite.found
    );
    proxy.heal();
    // The upload completion left open was aborted.
    nothing_left(&app.storage).await;
}

#[tokio::test]
async fn a_store_refusing_put_bucket_cors_starts_with_a_warning() {
    // MinIO's community edition: PutBucketCors is NotImplemented. With HAUL_S3_SETUP_BUCKET
    // (the test apps' setting) the server used to stop at start.
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    proxy.fail(
        |method, target| method == Method::PUT && target.contains("?cors"),
        Fault::Refuse(
            501,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
        ),
    );
    let app = spawn_app_via(Some(&proxy.endpoint), &[]).await;
    assert_eq!(proxy.hits(), 1);
    // It started; the probe says what CORS does: SeaweedFS, like MinIO, answers every
    // origin by default.
    proxy.heal();
    let rows = probed(&app.storage, &app.origin).await;
    assert_eq!(line(&rows, "CORS preflight of a part PUT").level, Level::Ok);
    // A store whose preflight refuses the origin: uploads would fail in the browser.
    proxy.fail(
        |method, _| method == Method::OPTIONS,
        Fault::Refuse(
            403,
            "AccessForbidden",
            "CORSResponse: This CORS request is not allowed.",
        ),
    );
    let rows = probed(&app.storage, &app.origin).await;
    assert!(!storage_check::safe(&rows));
    let cors = line(&rows, "CORS preflight of a part PUT");
    assert_eq!(
        (cors.level, cors.found.as_str()),
        (Level::Fail, "cors refused (answered 403)")
    );
    let advice = cors.advice.as_ref().unwrap();
    assert!(advice.contains("MINIO_API_CORS_ALLOW_ORIGIN"), "{advice}");
    assert!(advice.contains("cors.json"), "{advice}");
    proxy.heal();
    nothing_left(&app.storage).await;
}

#[tokio::test]
async fn the_probe_at_start_logs_the_embedded_store_as_safe() {
    let app = crate::helpers::spawn_app_with(&["--s3-probe", "true"]).await;
    let bound = Duration::from_secs(20);
    let findings = storage_check::at_start(&app.storage, &app.origin, bound, ChecksumSetting::Auto)
        .await
        .unwrap();
    let rows = storage_check::rows(&findings, &app.origin);
    assert!(storage_check::safe(&rows));
    assert!(storage_check::summary(&rows).starts_with("content-length enforced, sha256 enforced"));
    nothing_left(&app.storage).await;
}

/// `server storage check` with `app`'s settings, reaching S3 at `endpoint` when given.
async fn check_command(
    app: &TestApp,
    endpoint: Option<&str>,
    extra: &[&str],
) -> std::process::Output {
    let mut args = args_beside(app, endpoint, "127.0.0.1:0", extra).await;
    args.remove(0);
    args.extend(["storage".to_owned(), "check".to_owned()]);
    tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HAUL_LOG", "off")
        .args(&args)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_command_exits_1_on_an_unsafe_store_and_2_when_it_cannot_run() {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let app = spawn_app_via(Some(&proxy.endpoint), &[]).await;
    proxy.fail(
        move |method, target| {
            method == Method::PUT
                && target.contains(&format!("partNumber={WRONG_SHA256_PART}&"))
                && target.contains("x-amz-checksum-sha256")
        },
        Fault::Accept,
    );
    // With HAUL_S3_CHECKSUM=sha256, which such a store cannot run.
    let sha256 = ["--s3-checksum", "sha256"];
    let output = check_command(&app, Some(&proxy.endpoint), &sha256).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  SHA-256 of a part"), "{stdout}");
    assert!(stdout.contains("sha256 ignored"), "{stdout}");
    assert!(
        stdout
            .trim_end()
            .ends_with("This store cannot run Haul safely: see the FAIL lines."),
        "{stdout}"
    );
    proxy.heal();
    nothing_left(&app.storage).await;

    // Nothing listens there: the check could not run.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let output = check_command(&app, Some(&endpoint), &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
}

#[tokio::test]
async fn a_probe_cut_short_at_start_still_removes_its_scratch_keys() {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let app = spawn_app_via(Some(&proxy.endpoint), &[]).await;
    // The wrong part's PUT never gets an answer: the upload is open when the bound hits.
    let part = format!("partNumber={WRONG_SHA256_PART}&");
    proxy.fail(
        move |method, target| method == Method::PUT && target.contains(&part),
        Fault::Hang,
    );
    let bound = Duration::from_secs(1);
    let findings =
        storage_check::at_start(&app.storage, &app.origin, bound, ChecksumSetting::Auto).await;
    assert_eq!(findings, None);
    assert_eq!(proxy.hits(), 1);
    // The cleanup runs in the background: wait for it (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !app.storage.open_uploads(PREFIX).await.unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "scratch upload left");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nothing_left(&app.storage).await;
}

#[tokio::test]
async fn the_command_exits_0_on_the_embedded_store() {
    let app = spawn_app().await;
    let output = check_command(&app, None, &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("sha256 enforced (BadDigest)"), "{stdout}");
    assert!(
        stdout
            .trim_end()
            .ends_with("This store can run Haul safely."),
        "{stdout}"
    );
    nothing_left(&app.storage).await;
}
