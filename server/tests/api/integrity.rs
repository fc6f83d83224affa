//! Integrity modes (HAUL_S3_CHECKSUM): what each signs into part URLs and checks at completion,
//! with real bytes PUT to the URLs, and stores that refuse S3's checksum headers (as Backblaze
//! B2 does) or answer checksums their own way (through the fault proxy).

use app::upload::retry::DIGEST_REFUSALS;
use base64::{engine::general_purpose::STANDARD, Engine};
use md5::{Digest as _, Md5};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    fault::{is_complete, is_head, Fault, FaultProxy, Rewrite},
    helpers::{assert_no_violations, digest, sha256, spawn_app_via, stack, test_bytes, TestApp},
    upload::{id, part_of, ARGS},
};

const MIB: usize = 1024 * 1024;
const PART: usize = 5 * MIB;

/// An app whose uploads are checked with `mode`, reaching S3 through `endpoint` when given.
async fn app_checking(mode: &str, endpoint: Option<&str>, extra: &[&str]) -> TestApp {
    let mut args = ARGS.to_vec();
    args.extend(["--s3-checksum", mode]);
    args.extend_from_slice(extra);
    spawn_app_via(endpoint, &args).await
}

pub(crate) fn md5(bytes: &[u8]) -> String {
    STANDARD.encode(Md5::digest(bytes))
}

/// The SHA-256 composite of `bytes` cut into `PART`s, as Haul records it.
pub(crate) fn composite(bytes: &[u8]) -> String {
    let digests: Vec<[u8; 32]> = bytes
        .chunks(PART)
        .map(|part| app::backend::checksum::parse(&digest(part)).unwrap())
        .collect();
    app::backend::checksum::recorded(&digests)
}

fn header_names(part: &Value) -> Vec<String> {
    part["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0].as_str().unwrap().to_ascii_lowercase())
        .collect()
}

impl TestApp {
    /// Signs parts with their SHA-256 and MD5, as the browser does for an `md5` file.
    pub(crate) async fn sign_with_md5(
        &self,
        file_id: &str,
        parts: &[(i64, &[u8])],
    ) -> (u16, Value) {
        let parts: Vec<Value> = parts
            .iter()
            .map(|(n, bytes)| json!({ "part_number": n, "sha256": digest(bytes), "md5": md5(bytes) }))
            .collect();
        self.sign_json(file_id, parts).await
    }

    /// PUTs `body` to a signed part: the status and S3's answer.
    pub(crate) async fn put_answer(&self, part: &Value, body: Vec<u8>) -> (u16, String) {
        let mut request = self.client.put(part["url"].as_str().unwrap()).body(body);
        for header in part["headers"].as_array().unwrap() {
            request = request.header(header[0].as_str().unwrap(), header[1].as_str().unwrap());
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// PUTs each of the `signed` parts its share of `bytes`; each must be stored.
    pub(crate) async fn put_all(&self, signed: &Value, bytes: &[u8]) {
        for part in signed.as_array().unwrap() {
            let number = part["part_number"].as_i64().unwrap();
            let body = part_of(bytes, PART, number).to_vec();
            let (status, answer) = self.put_answer(part, body).await;
            assert_eq!(status, 200, "{answer}");
        }
    }

    /// Starts `bytes` as `name`, signs every part with SHA-256 and MD5 and PUTs them.
    pub(crate) async fn upload_md5(&self, name: &str, bytes: &[u8]) -> String {
        let (status, started) = self.start(name, bytes.len(), "").await;
        assert_eq!(status, 200, "{started}");
        let file_id = id(&started);
        let count = bytes.len().div_ceil(PART) as i64;
        let parts: Vec<(i64, &[u8])> = (1..=count).map(|n| (n, part_of(bytes, PART, n))).collect();
        let (status, signed) = self.sign_with_md5(&file_id, &parts).await;
        assert_eq!(status, 200, "{signed}");
        self.put_all(&signed, bytes).await;
        file_id
    }
}

#[tokio::test]
async fn md5_mode_signs_content_md5_and_records_the_sha256_composite() {
    let app = app_checking("md5", None, &[]).await;
    app.signed_up_user().await;
    let bytes = test_bytes(11 * MIB + 3, 61);
    let (status, started) = app.start("md5.bin", bytes.len(), "").await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["file"]["integrity"], "md5");
    let file_id = id(&started);

    // Without the MD5 a part cannot be signed.
    let (status, error) = app.sign(&file_id, &[(1, part_of(&bytes, PART, 1))]).await;
    assert_eq!(status, 422, "{error}");
    assert!(error.to_string().contains("MD5"), "{error}");

    let parts: Vec<(i64, &[u8])> = (1..=3).map(|n| (n, part_of(&bytes, PART, n))).collect();
    let (status, signed) = app.sign_with_md5(&file_id, &parts).await;
    assert_eq!(status, 200, "{signed}");
    for part in signed.as_array().unwrap() {
        let names = header_names(part);
        assert_eq!(names, ["content-md5"], "{part}");
        let url = part["url"].as_str().unwrap().to_ascii_lowercase();
        assert!(url.contains("content-md5"), "Content-MD5 is signed: {url}");
    }
    // Other bytes of the same length are refused by the store, with a digest code.
    let second = &signed.as_array().unwrap()[1];
    let (status, answer) = app.put_answer(second, test_bytes(PART, 62)).await;
    assert_eq!(status, 400, "{answer}");
    let code = app::upload::retry::error_code(&answer).unwrap_or_default();
    assert!(DIGEST_REFUSALS.contains(&code), "{answer}");

    app.put_all(&signed, &bytes).await;
    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["checksum"], composite(&bytes).as_str());
    assert_eq!(file["integrity"], "md5");
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
    // The embedded store gives AWS's multipart ETag, which completion compared with the MD5s.
    let md5s: Vec<[u8; 16]> = bytes.chunks(PART).map(|p| Md5::digest(p).into()).collect();
    let object_key: String =
        sqlx::query_scalar("select object_key from file where file_id = $1::uuid")
            .bind(&file_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let head = app.storage.head(&object_key, false).await.unwrap().unwrap();
    assert_eq!(
        head.etag.as_deref(),
        Some(app::backend::checksum::multipart_etag(&md5s).as_str())
    );
    assert_no_violations(&app).await;
}

#[tokio::test]
async fn none_mode_checks_sizes_only_and_records_no_checksum() {
    let app = app_checking("none", None, &[]).await;
    app.signed_up_user().await;
    let bytes = test_bytes(6 * MIB, 63);
    let (_, started) = app.start("none.bin", bytes.len(), "").await;
    assert_eq!(started["file"]["integrity"], "none");
    let file_id = id(&started);
    // No digests are asked for, and none are signed.
    let parts = vec![json!({ "part_number": 1 }), json!({ "part_number": 2 })];
    let (status, signed) = app.sign_json(&file_id, parts).await;
    assert_eq!(status, 200, "{signed}");
    for part in signed.as_array().unwrap() {
        assert!(header_names(part).is_empty(), "{part}");
    }
    // The length is still signed: a longer body is refused.
    let first = &signed.as_array().unwrap()[0];
    let (status, _) = app.put_answer(first, test_bytes(PART + 1, 64)).await;
    assert_ne!(status, 200);
    app.put_all(&signed, &bytes).await;
    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["checksum"], Value::Null);
    assert_eq!(file["integrity"], "none");
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
    // A 0-byte file too.
    let (status, empty) = app.start("empty.bin", 0, "").await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["file"]["status"], "complete");
    assert_no_violations(&app).await;
}

#[tokio::test]
async fn sha256_urls_sign_the_checksum_but_not_the_sdk_algorithm_header() {
    let app = app_checking("sha256", None, &[]).await;
    app.signed_up_user().await;
    let bytes = test_bytes(1000, 65);
    let (_, started) = app.start("sha.bin", bytes.len(), "").await;
    assert_eq!(started["file"]["integrity"], "sha256");
    let file_id = id(&started);
    let (status, signed) = app.sign(&file_id, &[(1, &bytes)]).await;
    assert_eq!(status, 200, "{signed}");
    let part = &signed[0];
    assert_eq!(header_names(part), ["x-amz-checksum-sha256"], "{part}");
    let url = part["url"].as_str().unwrap();
    assert!(!url.contains("x-amz-sdk-checksum-algorithm"), "{url}");
    assert_eq!(app.put_answer(part, bytes.clone()).await.0, 200);
    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["checksum"], digest(&bytes).as_str());
}

#[tokio::test]
async fn a_composite_without_its_count_or_none_at_all_still_completes_with_the_recorded_one() {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let app = app_checking("sha256", Some(&proxy.endpoint), &[]).await;
    app.signed_up_user().await;
    for (n, rewrite) in [Rewrite::ChecksumWithoutCount, Rewrite::NoChecksum]
        .into_iter()
        .enumerate()
    {
        let bytes = test_bytes(11 * MIB, 66 + n as u64);
        let (_, started) = app.start(&format!("{n}.bin"), bytes.len(), "").await;
        let file_id = id(&started);
        app.upload_parts(&file_id, &bytes, PART, None).await;
        proxy.fail(is_head, Fault::Rewrite(rewrite));
        let (status, file) = app.complete(&file_id).await;
        proxy.heal();
        assert_eq!(status, 200, "{rewrite:?}: {file}");
        assert_eq!(file["checksum"], composite(&bytes).as_str(), "{rewrite:?}");
    }
}

#[tokio::test]
async fn md5_mode_fails_a_file_whose_etag_is_not_the_md5_of_its_parts() {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let app = app_checking("md5", Some(&proxy.endpoint), &[]).await;
    app.signed_up_user().await;
    let bytes = test_bytes(6 * MIB, 68);
    let file_id = app.upload_md5("lied.bin", &bytes).await;
    proxy.fail(is_head, Fault::Rewrite(Rewrite::OtherMultipartEtag));
    let (status, error) = app.complete(&file_id).await;
    proxy.heal();
    assert_eq!(status, 422, "{error}");
    assert!(error.to_string().contains("ETag"), "{error}");
    let (_, page) = app.json("/api/list_files", &[]).await;
    assert_eq!(page["files"][0]["status"], "failed");
    assert_eq!(app.usage().await, (0, 0));
}

/// Backblaze B2, as its users report it: 400 InvalidArgument "Unsupported header" for any
/// `x-amz-checksum-*` and for `x-amz-sdk-checksum-algorithm`.
#[tokio::test]
async fn a_store_refusing_s3_checksum_headers_runs_haul_in_md5_mode() {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    proxy.refuse_checksum_headers();

    // sha256, set by hand: the bucket is still set up (CORS and lifecycle carry Content-MD5,
    // not the SDK's CRC32), and a start says in words that the store refuses it.
    let app = app_checking("sha256", Some(&proxy.endpoint), &[]).await;
    let seen = proxy.seen();
    let headers = proxy.headers_seen();
    for setup in ["?cors", "?lifecycle"] {
        let at = seen
            .iter()
            .position(|(method, target)| method == Method::PUT && target.ends_with(setup))
            .unwrap_or_else(|| panic!("no {setup} request: {seen:?}"));
        assert!(
            headers[at].contains(&"content-md5".to_owned()),
            "{setup}: {:?}",
            headers[at]
        );
        assert!(
            !headers[at]
                .iter()
                .any(|h| h.starts_with("x-amz-checksum-") || h == "x-amz-sdk-checksum-algorithm"),
            "{setup}: {:?}",
            headers[at]
        );
    }
    app.signed_up_user().await;
    let (status, refused) = app.start("b2.bin", 6 * MIB, "").await;
    assert_eq!(status, 502, "{refused}");
    let words = refused["StorageRefused"].as_str().unwrap_or_default();
    assert!(words.contains("InvalidArgument"), "{refused}");
    assert!(words.contains("HAUL_S3_CHECKSUM"), "{refused}");
    assert_eq!(app.usage().await, (0, 0));

    // md5: uploads go through, the store checks each part's MD5.
    let app = app_checking("md5", Some(&proxy.endpoint), &[]).await;
    app.signed_up_user().await;
    let bytes = test_bytes(11 * MIB, 69);
    let file_id = app.upload_md5("b2.bin", &bytes).await;
    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["checksum"], composite(&bytes).as_str());
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
    let (status, empty) = app.start("empty.bin", 0, "").await;
    assert_eq!(status, 200, "{empty}");
    assert_no_violations(&app).await;

    // auto, with the probe at start: it finds what the store enforces.
    let app = app_checking("auto", Some(&proxy.endpoint), &["--s3-probe", "true"]).await;
    app.signed_up_user().await;
    let (status, started) = app.start("auto.bin", 6 * MIB, "").await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["file"]["integrity"], "md5");
}

#[tokio::test]
async fn the_probe_picks_sha256_on_a_store_that_enforces_it() {
    let app = app_checking("auto", None, &["--s3-probe", "true"]).await;
    app.signed_up_user().await;
    let (_, started) = app.start("auto.bin", 6 * MIB, "").await;
    assert_eq!(started["file"]["integrity"], "sha256");
}

#[tokio::test]
async fn a_digest_refusal_in_any_stores_spelling_fails_the_file_not_the_store() {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let app = app_checking("sha256", Some(&proxy.endpoint), &[]).await;
    app.signed_up_user().await;
    let bytes = test_bytes(1000, 70);
    let refusals = DIGEST_REFUSALS
        .iter()
        .map(|code| (*code, "The checksum does not match."))
        .chain([(
            "InvalidArgument",
            "Unsupported header 'x-amz-checksum-sha256'.",
        )]);
    for (n, (code, message)) in refusals.enumerate() {
        let (_, started) = app.start(&format!("{n}.bin"), bytes.len(), "").await;
        let file_id = id(&started);
        app.upload_parts(&file_id, &bytes, PART, None).await;
        proxy.fail(is_complete, Fault::Refuse(400, code, message));
        let (status, error) = app.complete(&file_id).await;
        proxy.heal();
        assert_eq!(status, 422, "{code}: {error}");
        assert!(error.to_string().contains(code), "{error}");
    }
    assert_eq!(app.usage().await, (0, 0));
    // A store that has not implemented what a start asks: 502 in its words, nothing recorded.
    proxy.fail(
        |method, target| method == Method::POST && target.contains("uploads"),
        Fault::Refuse(
            501,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented.",
        ),
    );
    let (status, refused) = app.start("late.bin", bytes.len(), "").await;
    proxy.heal();
    assert_eq!(status, 502, "{refused}");
    assert!(refused.to_string().contains("NotImplemented"), "{refused}");
    let (_, page) = app.json("/api/list_files", &[]).await;
    let failed = page["files"].as_array().unwrap();
    assert_eq!(failed.len(), DIGEST_REFUSALS.len() + 1, "{page}");
}

#[tokio::test]
async fn a_reported_refusal_fails_only_the_callers_upload_in_progress() {
    let app = app_checking("sha256", None, &[]).await;
    app.signed_up_user().await;
    let bytes = test_bytes(6 * MIB, 71);
    let (_, started) = app.start("refused.bin", bytes.len(), "").await;
    let file_id = id(&started);
    let report = |app: &TestApp, part: &'static str| {
        let (app, file_id) = (app.clone_client(), file_id.clone());
        async move {
            app.json(
                "/api/report_refusal",
                &[
                    ("file_id", &file_id),
                    ("part_number", part),
                    ("refusal", "400 InvalidArgument \"Unsupported header\""),
                ],
            )
            .await
        }
    };
    // Someone else's upload answers like a missing one.
    let other = app.other_browser();
    other.signed_up_user().await;
    assert_eq!(report(&other, "1").await.0, 404);
    // A part the upload does not have.
    assert_eq!(report(&app, "3").await.0, 422);
    let (_, page) = app.json("/api/list_files", &[]).await;
    assert_eq!(page["files"][0]["status"], "uploading");

    let (status, failed) = report(&app, "2").await;
    assert_eq!(status, 422, "{failed}");
    let reason = failed["Invalid"][0]["message"].as_str().unwrap();
    assert!(reason.contains("Unsupported header"), "{reason}");
    assert!(reason.contains("HAUL_S3_CHECKSUM"), "{reason}");
    let (_, page) = app.json("/api/list_files", &[]).await;
    assert_eq!(page["files"][0]["status"], "failed");
    assert_eq!(page["files"][0]["failure"].as_str().unwrap(), reason);
    assert_eq!(app.usage().await, (0, 0));
    // Again: the same answer, nothing more happens.
    assert_eq!(report(&app, "2").await, (status, failed.clone()));
    assert_no_violations(&app).await;
}

impl TestApp {
    /// This browser, as a value a test's closure can own.
    fn clone_client(&self) -> TestApp {
        let mut app = self.other_browser();
        app.client = self.client.clone();
        app.cookies = self.cookies.clone();
        app
    }
}
