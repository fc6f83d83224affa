//! The upload protocol end to end: bytes really go to the pre-signed URLs.

use app::{
    backend::{
        audit::Actor,
        files, uploads,
        users::{self, Change},
    },
    model::Role,
};
use serde_json::{json, Value};

use crate::helpers::{
    assert_no_violations, digest, header, sha256, spawn_app_with, test_bytes, TestApp,
};

const MIB: usize = 1024 * 1024;
/// Small parts (S3's minimum) keep multipart tests quick.
const PART: &str = "5MiB";

/// 5 MiB parts, files up to 1 GiB, a 64 MiB quota.
pub(crate) const ARGS: &[&str] = &[
    "--part-size",
    PART,
    "--max-file-size",
    "1GiB",
    "--default-quota",
    "64MiB",
];

pub(crate) async fn app() -> TestApp {
    spawn_app_with(ARGS).await
}

impl TestApp {
    pub(crate) async fn json(&self, endpoint: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self.call(endpoint, form).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn start(&self, name: &str, size: usize, content_type: &str) -> (u16, Value) {
        let size = size.to_string();
        self.json(
            "/api/start_upload",
            &[
                ("name", name),
                ("size", &size),
                ("content_type", content_type),
            ],
        )
        .await
    }

    /// Signs parts given as (number, base64 SHA-256), as a client may send them.
    pub(crate) async fn sign_digests(
        &self,
        file_id: &str,
        parts: &[(i64, String)],
    ) -> (u16, Value) {
        let parts: Vec<Value> = parts
            .iter()
            .map(|(number, sha256)| json!({ "part_number": number, "sha256": sha256 }))
            .collect();
        self.sign_json(file_id, parts).await
    }

    /// Signs `parts` given as the JSON objects `sign_parts` takes.
    pub(crate) async fn sign_json(&self, file_id: &str, parts: Vec<Value>) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/api/sign_parts"))
            .json(&json!({ "file_id": file_id, "parts": parts }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Signs parts given as (number, bytes the part will hold).
    pub(crate) async fn sign(&self, file_id: &str, parts: &[(i64, &[u8])]) -> (u16, Value) {
        let parts: Vec<(i64, String)> = parts.iter().map(|(n, b)| (*n, digest(b))).collect();
        self.sign_digests(file_id, &parts).await
    }

    /// PUTs `body` to a part `sign_parts` returned, with the headers signed into its URL.
    pub(crate) async fn put_part(&self, part: &Value, body: Vec<u8>) -> u16 {
        let mut request = self.client.put(part["url"].as_str().unwrap()).body(body);
        for header in part["headers"].as_array().unwrap() {
            request = request.header(header[0].as_str().unwrap(), header[1].as_str().unwrap());
        }
        request.send().await.unwrap().status().as_u16()
    }

    pub(crate) async fn complete(&self, file_id: &str) -> (u16, Value) {
        self.json("/api/complete_upload", &[("file_id", file_id)])
            .await
    }

    /// Sends every part (in reverse order, all at once) and returns nothing; panics on failure.
    pub(crate) async fn upload_parts(
        &self,
        file_id: &str,
        bytes: &[u8],
        part_size: usize,
        skip: Option<i64>,
    ) {
        let count = bytes.len().div_ceil(part_size) as i64;
        let parts: Vec<(i64, &[u8])> = (1..=count)
            .rev()
            .filter(|n| Some(*n) != skip)
            .map(|n| (n, part_of(bytes, part_size, n)))
            .collect();
        let (status, signed) = self.sign(file_id, &parts).await;
        assert_eq!(status, 200, "{signed}");
        let puts = signed.as_array().unwrap().iter().map(|part| {
            let number = part["part_number"].as_i64().unwrap();
            let chunk = part_of(bytes, part_size, number).to_vec();
            async move { self.put_part(part, chunk).await }
        });
        for status in futures::future::join_all(puts).await {
            assert_eq!(status, 200);
        }
    }

    /// The file's pre-signed download URL, fetched: its answer, which must be 200.
    pub(crate) async fn download(&self, file_id: &str) -> reqwest::Response {
        let (status, url) = self
            .json("/api/download_url", &[("file_id", file_id)])
            .await;
        assert_eq!(status, 200, "{url}");
        let response = reqwest::get(url.as_str().unwrap()).await.unwrap();
        assert_eq!(response.status(), 200);
        response
    }

    pub(crate) async fn object(&self, file_id: &str) -> Vec<u8> {
        let response = self.download(file_id).await;
        response.bytes().await.unwrap().to_vec()
    }

    pub(crate) async fn usage(&self) -> (i64, i64) {
        let (_, page) = self.json("/api/list_files", &[]).await;
        (
            page["usage"]["used_bytes"].as_i64().unwrap(),
            page["usage"]["reserved_bytes"].as_i64().unwrap(),
        )
    }
}

/// Part `number` (from 1) of `bytes` cut into `part_size` pieces.
pub(crate) fn part_of(bytes: &[u8], part_size: usize, number: i64) -> &[u8] {
    let start = (number as usize - 1) * part_size;
    &bytes[start..(start + part_size).min(bytes.len())]
}

pub(crate) fn id(value: &Value) -> String {
    value["file"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_small_file_goes_up_as_one_part_and_comes_back_identical() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = test_bytes(MIB + 7, 10);
    let (status, started) = app
        .start("notes.bin", bytes.len(), "application/octet-stream")
        .await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["part_count"], 1);
    app.upload_parts(&id(&started), &bytes, 5 * MIB, None).await;

    let (status, file) = app.complete(&id(&started)).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["status"], "complete");
    assert_eq!(sha256(&app.object(&id(&started)).await), sha256(&bytes));
    assert_eq!(app.usage().await, (bytes.len() as i64, 0));
}

#[tokio::test]
async fn a_multipart_file_sent_out_of_order_in_parallel_is_assembled_exactly() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = test_bytes(3 * 5 * MIB + 12345, 11);
    let (status, started) = app.start("big.bin", bytes.len(), "").await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["part_count"], 4);
    let file_id = id(&started);
    assert_eq!(app.usage().await, (0, bytes.len() as i64));

    app.upload_parts(&file_id, &bytes, 5 * MIB, None).await;
    let (status, parts) = app
        .json("/api/uploaded_parts", &[("file_id", &file_id)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(parts.as_array().unwrap().len(), 4);

    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
    assert_eq!(app.usage().await, (bytes.len() as i64, 0));

    // Completing again answers the same and moves no bytes twice.
    let (status, again) = app.complete(&file_id).await;
    assert_eq!(status, 200);
    assert_eq!(again, file);
    assert_eq!(app.usage().await, (bytes.len() as i64, 0));
}

/// A part that has not arrived is no wrong file: completion names it (409, `PartsMissing`),
/// and the upload stays as it was, its quota reserved, for the part to be sent.
#[tokio::test]
async fn complete_with_a_missing_part_names_it_and_can_finish_later() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = test_bytes(2 * 5 * MIB + 1, 12);
    let (_, started) = app.start("gap.bin", bytes.len(), "").await;
    let file_id = id(&started);
    app.upload_parts(&file_id, &bytes, 5 * MIB, Some(2)).await;

    let (status, error) = app.complete(&file_id).await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(
        error,
        json!({ "PartsMissing": { "parts": [2], "part_count": 3 } })
    );
    let (_, page) = app.json("/api/list_files", &[]).await;
    assert_eq!(page["files"][0]["status"], "uploading");
    assert_eq!(app.usage().await, (0, bytes.len() as i64));

    // Nothing is lost: send the missing part and finish.
    let part = &bytes[5 * MIB..10 * MIB];
    let (_, signed) = app.sign(&file_id, &[(2, part)]).await;
    assert_eq!(app.put_part(&signed[0], part.to_vec()).await, 200);
    let (status, _) = app.complete(&file_id).await;
    assert_eq!(status, 200);
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
}

/// A store may list a part once per PUT of it (SeaweedFS does): a part sent again counts
/// once in what `uploaded_parts` answers, in the admin's view of what landed, and in the list
/// completion hands to S3.
#[tokio::test]
async fn a_part_sent_several_times_counts_once() {
    let app = app().await;
    let (email, _) = app.signed_up_user().await;
    let user = users::find_by_email(&app.db, &app::validate::email(&email).unwrap())
        .await
        .unwrap()
        .unwrap();
    users::change(
        &app.db,
        user.id,
        Change::Role(Role::Admin),
        &Actor::system(),
    )
    .await
    .unwrap();
    let bytes = test_bytes(11 * MIB, 26);
    let (_, started) = app.start("resent.bin", bytes.len(), "").await;
    let file_id = id(&started);
    let parts: Vec<(i64, &[u8])> = (1..=3).map(|n| (n, part_of(&bytes, 5 * MIB, n))).collect();
    let (status, signed) = app.sign(&file_id, &parts).await;
    assert_eq!(status, 200, "{signed}");
    // Part 1 three times, part 2 once, part 3 twice, one PUT after the other.
    for part in signed.as_array().unwrap() {
        let number = part["part_number"].as_i64().unwrap();
        let times = [3, 1, 2][number as usize - 1];
        for _ in 0..times {
            let body = part_of(&bytes, 5 * MIB, number).to_vec();
            assert_eq!(app.put_part(part, body).await, 200);
        }
    }
    let (key, upload_id): (String, String) =
        sqlx::query_as("select object_key, s3_upload_id from file where file_id = $1::uuid")
            .bind(&file_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let listed = app.storage.list_parts(&key, &upload_id).await.unwrap();
    let numbers: Vec<i32> = listed.unwrap().iter().map(|p| p.number).collect();
    // What the store itself lists: each PUT (SeaweedFS), or each part (AWS, MinIO).
    assert!(
        numbers == [1, 1, 1, 2, 3, 3] || numbers == [1, 2, 3],
        "{numbers:?}"
    );

    let (status, uploaded) = app
        .json("/api/uploaded_parts", &[("file_id", &file_id)])
        .await;
    assert_eq!(status, 200, "{uploaded}");
    let uploaded: Vec<(i64, u64)> = uploaded
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["part_number"].as_i64().unwrap(),
                p["size"].as_u64().unwrap(),
            )
        })
        .collect();
    let mib = MIB as u64;
    assert_eq!(uploaded, [(1, 5 * mib), (2, 5 * mib), (3, mib)]);
    let (status, landed) = app
        .json("/api/admin/landed_parts", &[("file_id", &file_id)])
        .await;
    assert_eq!(status, 200, "{landed}");
    assert_eq!(
        landed,
        json!({ "landed_parts": 3, "landed_bytes": 11 * MIB, "part_count": 3 })
    );

    // What completion hands to S3 (SeaweedFS takes duplicates; AWS refuses them).
    let row = files::find(&app.db, uuid::Uuid::parse_str(&file_id).unwrap())
        .await
        .unwrap();
    let (parts, _) = uploads::landed(&app.state, &row, &upload_id).await.unwrap();
    let numbers: Vec<i32> = parts.unwrap().iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 2, 3]);

    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(
        file["checksum"],
        composite_of(&[
            &bytes[..5 * MIB],
            &bytes[5 * MIB..10 * MIB],
            &bytes[10 * MIB..]
        ])
        .as_str()
    );
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
    assert_eq!(app.usage().await, (bytes.len() as i64, 0));
}

#[tokio::test]
async fn parts_longer_or_shorter_than_planned_are_refused_by_s3() {
    let app = app().await;
    app.signed_up_user().await;
    // A 6 MiB file: part 1 of 5 MiB, part 2 of 1 MiB.
    let bytes = test_bytes(6 * MIB, 3);
    let (_, started) = app.start("exact.bin", bytes.len(), "").await;
    let file_id = id(&started);
    let (_, signed) = app
        .sign(
            &file_id,
            &[
                (1, part_of(&bytes, 5 * MIB, 1)),
                (2, part_of(&bytes, 5 * MIB, 2)),
            ],
        )
        .await;
    let (one, two) = (&signed[0], &signed[1]);
    // 300 MiB into part 1 of a 6 MiB file, one byte too many, one too few: all refused.
    for (part, len) in [
        (one, 300 * MIB),
        (one, 5 * MIB + 1),
        (one, 5 * MIB - 1),
        (two, MIB + 1),
        (two, 5 * MIB),
    ] {
        let status = app.put_part(part, test_bytes(len, 1)).await;
        assert_eq!(status, 403, "{len} bytes");
    }
    let (_, parts) = app
        .json("/api/uploaded_parts", &[("file_id", &file_id)])
        .await;
    assert_eq!(parts, serde_json::json!([]));
    // The planned lengths go through, and the file completes.
    app.upload_parts(&file_id, &bytes, 5 * MIB, None).await;
    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
}

#[tokio::test]
async fn bad_declarations_are_refused_and_write_nothing() {
    let app = app().await;
    app.signed_up_user().await;
    let long = "n".repeat(10_000);
    let cases: [(&str, &str, &str, &str); 7] = [
        ("invoice\u{3164}.png", "10", "image/png", "name"),
        ("../../etc/passwd", "10", "", "name"),
        ("invoice\u{202E}fdp.exe", "10", "", "name"),
        (&long, "10", "", "name"),
        ("ok.bin", "10", "multipart/form-data", "content_type"),
        ("ok.bin", "2147483648", "", "size"),
        ("ok.bin", "67108865", "", "size"),
    ];
    for (name, size, content_type, field) in cases {
        let (status, error) = app
            .json(
                "/api/start_upload",
                &[
                    ("name", name),
                    ("size", size),
                    ("content_type", content_type),
                ],
            )
            .await;
        assert_eq!(status, 422, "{name:.20} {size} {content_type}: {error}");
        assert_eq!(error["Invalid"][0]["field"], field, "{error}");
    }
    let negative = app
        .call(
            "/api/start_upload",
            &[("name", "ok.bin"), ("size", "-1"), ("content_type", "")],
        )
        .await;
    assert_eq!(negative.status(), 400);
    let (_, page) = app.json("/api/list_files", &[]).await;
    assert_eq!(page["files"], json!([]));
    assert_eq!(app.usage().await, (0, 0));
}

#[tokio::test]
async fn forged_part_numbers_are_refused() {
    let app = app().await;
    app.signed_up_user().await;
    let (_, started) = app.start("parts.bin", 11 * MIB, "").await;
    let file_id = id(&started);
    let some = digest(b"some part");
    // A negative number is not even a part number (400); the others are refused by name.
    for (numbers, expected) in [
        (vec![0], 422),
        (vec![10_001], 422),
        (vec![-1], 400),
        (vec![4], 422),
        (vec![], 422),
    ] {
        let parts: Vec<(i64, String)> = numbers.iter().map(|&n| (n, some.clone())).collect();
        let (status, error) = app.sign_digests(&file_id, &parts).await;
        assert_eq!(status, expected, "{numbers:?}: {error}");
    }
    let too_many: Vec<(i64, String)> = (1..=101).map(|n| (n, some.clone())).collect();
    assert_eq!(app.sign_digests(&file_id, &too_many).await.0, 422);
}

#[tokio::test]
async fn two_concurrent_starts_cannot_both_squeeze_past_the_quota() {
    let app = app().await;
    app.signed_up_user().await;
    // 40 MiB each against a 64 MiB quota: only one fits.
    let size = 40 * MIB;
    let (a, b) = tokio::join!(app.start("a.bin", size, ""), app.start("b.bin", size, ""));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 422], "{} / {}", a.1, b.1);
    assert_eq!(app.usage().await, (0, size as i64));
    assert_no_violations(&app).await;
}

#[tokio::test]
async fn abort_frees_the_quota_and_deleting_frees_it_too() {
    let app = app().await;
    app.signed_up_user().await;
    let (_, started) = app.start("cancel.bin", 11 * MIB, "").await;
    let file_id = id(&started);
    assert_eq!(
        app.json("/api/abort_upload", &[("file_id", &file_id)])
            .await
            .0,
        200
    );
    assert_eq!(app.usage().await, (0, 0));
    assert_eq!(
        app.json("/api/abort_upload", &[("file_id", &file_id)])
            .await
            .0,
        200
    );

    let bytes = test_bytes(2 * MIB, 5);
    let (_, started) = app.start("keep.bin", bytes.len(), "").await;
    let file_id = id(&started);
    app.upload_parts(&file_id, &bytes, 5 * MIB, None).await;
    app.complete(&file_id).await;
    assert_eq!(app.usage().await, (bytes.len() as i64, 0));

    let key: String = sqlx::query_scalar("select object_key from file where file_id = $1::uuid")
        .bind(&file_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(app.storage.object_size(&key).await.unwrap().is_some());

    assert_eq!(
        app.json("/api/delete_file", &[("file_id", &file_id)])
            .await
            .0,
        200
    );
    assert_eq!(app.usage().await, (0, 0));
    assert_eq!(
        app.json("/api/download_url", &[("file_id", &file_id)])
            .await
            .0,
        404
    );
    assert!(
        app.storage.object_size(&key).await.unwrap().is_none(),
        "the object must be gone"
    );
}

#[tokio::test]
async fn another_users_file_answers_404_on_every_endpoint() {
    let app = app().await;
    app.signed_up_user().await;
    let (_, started) = app.start("mine.bin", 11 * MIB, "").await;
    let file_id = id(&started);

    let (intruder, _) = crate::helpers::browser(&app.origin);
    let email = format!("{}@example.com", crate::helpers::unique_name("intruder"));
    let response = intruder
        .post(app.url("/api/sign_up"))
        .form(&[
            ("email", email.as_str()),
            ("password", "long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let form = [("file_id", file_id.as_str())];
    for endpoint in [
        "get_file",
        "uploaded_parts",
        "complete_upload",
        "abort_upload",
        "download_url",
        "delete_file",
    ] {
        let response = intruder
            .post(app.url(&format!("/api/{endpoint}")))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{endpoint}");
    }
    let rename = intruder
        .post(app.url("/api/rename_file"))
        .form(&[("file_id", file_id.as_str()), ("name", "stolen.bin")])
        .send()
        .await
        .unwrap();
    assert_eq!(rename.status(), 404);
    let sign = intruder
        .post(app.url("/api/sign_parts"))
        .json(
            &json!({ "file_id": file_id, "parts": [{ "part_number": 1, "sha256": digest(b"x") }] }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sign.status(), 404);
    // A malformed id answers the same.
    assert_eq!(
        app.json("/api/complete_upload", &[("file_id", "not-a-uuid")])
            .await
            .0,
        404
    );
    // And the owner's file is untouched.
    let (_, page) = app.json("/api/list_files", &[]).await;
    assert_eq!(page["files"][0]["name"], "mine.bin");
}

/// A file deleted while it is renamed answers 404, not the gone file's details. The delete is
/// injected between the rename's read and its write: a trigger makes the write find no row.
#[tokio::test]
async fn renaming_a_file_deleted_meanwhile_answers_404() {
    let app = app().await;
    app.signed_up_user().await;
    let (_, started) = app.start("before.bin", 10, "").await;
    let file_id = id(&started);
    sqlx::raw_sql(
        "create function gone() returns trigger language plpgsql as $$ begin return null; end $$;
         create trigger gone before update on file for each row execute function gone();",
    )
    .execute(&app.db)
    .await
    .unwrap();

    let (status, body) = app
        .json(
            "/api/rename_file",
            &[("file_id", &file_id), ("name", "after.bin")],
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_no_violations(&app).await;
}

#[tokio::test]
async fn files_are_listed_newest_first_in_pages_and_can_be_renamed() {
    let app = app().await;
    app.signed_up_user().await;
    for n in 0..53 {
        let (status, _) = app.start(&format!("f{n:02}.bin"), 10, "").await;
        assert_eq!(status, 200);
    }
    let (_, first) = app.json("/api/list_files", &[]).await;
    let files = first["files"].as_array().unwrap();
    assert_eq!(files.len(), 50);
    assert_eq!(files[0]["name"], "f52.bin");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app.json("/api/list_files", &[("cursor", cursor)]).await;
    let names: Vec<&str> = second["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["f02.bin", "f01.bin", "f00.bin"]);
    assert_eq!(second["next_cursor"], Value::Null);

    let id = files[0]["id"].as_str().unwrap();
    let (status, renamed) = app
        .json(
            "/api/rename_file",
            &[("file_id", id), ("name", " été 2024.bin ")],
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "été 2024.bin");
    let (status, _) = app
        .json("/api/rename_file", &[("file_id", id), ("name", "a/b")])
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn downloads_are_attachments_under_the_exact_name() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = b"<html><script>alert(1)</script></html>".to_vec();
    let (_, started) = app.start("page été.html", bytes.len(), "text/html").await;
    let file_id = id(&started);
    app.upload_parts(&file_id, &bytes, 5 * MIB, None).await;
    assert_eq!(app.complete(&file_id).await.0, 200);
    let response = app.download(&file_id).await;
    let disposition = header(&response, "content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''page%20%C3%A9t%C3%A9.html"),
        "{disposition}"
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
}

#[tokio::test]
async fn upload_endpoints_need_a_session() {
    let app = app().await;
    let (status, _) = app.start("x.bin", 10, "").await;
    assert_eq!(status, 401);
    assert_eq!(app.json("/api/list_files", &[]).await.0, 401);
}

#[tokio::test]
async fn a_zero_byte_file_completes_lists_and_downloads_empty() {
    let app = app().await;
    app.signed_up_user().await;
    let (status, started) = app.start("empty.txt", 0, "text/plain").await;
    assert_eq!(status, 200, "{started}");
    // Nothing to send: it is complete at once, and completing again answers the same.
    assert_eq!(started["file"]["status"], "complete");
    let file_id = id(&started);
    let (status, file) = app.complete(&file_id).await;
    assert_eq!((status, &file["status"]), (200, &json!("complete")));
    let (_, page) = app.json("/api/list_files", &[]).await;
    assert_eq!(page["files"][0]["status"], "complete");
    assert_eq!(page["files"][0]["size_bytes"], 0);
    assert_eq!(app.object(&file_id).await, Vec::<u8>::new());
    assert_eq!(app.usage().await, (0, 0));
    // Its completion is an event, once, as for any upload (webhooks get it).
    let kinds: Vec<String> =
        sqlx::query_scalar("select kind from event where file_id = $1::text::uuid")
            .bind(&file_id)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(kinds, ["upload.completed"]);
    // And it can be deleted like any file.
    assert_eq!(
        app.json("/api/delete_file", &[("file_id", &file_id)])
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn malformed_cursors_are_bad_requests() {
    let app = app().await;
    app.signed_up_user().await;
    let id = uuid::Uuid::new_v4();
    for cursor in [
        format!("170141183460469231731687303715884105727_{id}"),
        format!("-170141183460469231731687303715884105728_{id}"),
        format!("99999999999999999999999999999999999999999_{id}"),
        // About 5950 BC: a time the server's calendar holds and PostgreSQL does not.
        format!("-250000000000000000_{id}"),
        "12_not-a-uuid".to_owned(),
        "garbage".to_owned(),
    ] {
        let (status, body) = app.json("/api/list_files", &[("cursor", &cursor)]).await;
        assert_eq!(status, 400, "{cursor}: {body}");
    }
}

#[tokio::test]
async fn invisible_and_line_breaking_characters_in_names_are_refused() {
    let app = app().await;
    app.signed_up_user().await;
    for name in [
        "soft\u{AD}hyphen.pdf",
        "tag\u{E0041}.pdf",
        "line\u{2028}sep.pdf",
        "para\u{2029}sep.pdf",
        "word\u{2060}joiner.pdf",
        "hangul\u{3164}filler.pdf",
        "braille\u{2800}blank.pdf",
        "zero\u{200D}width-joiner.pdf",
        "\u{301}lone-mark.pdf",
        "\u{FE0F}lone-selector.pdf",
        "\u{3164}",
    ] {
        let (status, body) = app.start(name, 10, "").await;
        assert_eq!(status, 422, "{name:?}: {body}");
        assert!(body["Invalid"][0]["field"] == "name", "{body}");
    }
    let (status, started) = app.start("fine.pdf", 10, "").await;
    assert_eq!(status, 200);
    let (status, _) = app
        .json(
            "/api/rename_file",
            &[("file_id", &id(&started)), ("name", "re\u{AD}named.pdf")],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(app.usage().await, (0, 10));
}

#[tokio::test]
async fn invisible_names_are_refused_and_punctuation_is_kept_through_download() {
    let app = app().await;
    app.signed_up_user().await;
    let (status, error) = app.start("invoice\u{3164}.pdf", 10, "").await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["Invalid"][0]["field"], "name", "{error}");
    assert_eq!(
        error["Invalid"][0]["message"],
        "File names cannot contain invisible characters (U+3164, a Hangul filler, at position 8)."
    );
    let (_, page) = app.json("/api/list_files", &[]).await;
    assert_eq!(page["files"], json!([]));
    assert_eq!(app.usage().await, (0, 0));

    // Names Linux and macOS allow come back as they are, on the page and in the download.
    let cases = [
        (
            "what?.txt",
            r#"attachment; filename="what?.txt"; filename*=UTF-8''what%3F.txt"#,
        ),
        (
            "Q&A <draft> \"v2\" | final*.pdf",
            r#"attachment; filename="Q&A <draft> _v2_ | final*.pdf"; filename*=UTF-8''Q&A%20%3Cdraft%3E%20%22v2%22%20|%20final%2A.pdf"#,
        ),
    ];
    let mut ids = Vec::new();
    for (seed, (name, disposition)) in cases.into_iter().enumerate() {
        let bytes = test_bytes(1000, seed as u64);
        let (status, started) = app.start(name, bytes.len(), "text/plain").await;
        assert_eq!(status, 200, "{name}: {started}");
        assert_eq!(started["file"]["name"], name);
        let file_id = id(&started);
        app.upload_parts(&file_id, &bytes, 5 * MIB, None).await;
        assert_eq!(app.complete(&file_id).await.0, 200);
        let response = app.download(&file_id).await;
        assert_eq!(header(&response, "content-disposition"), disposition);
        assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
        ids.push(file_id);
    }
    let html = app.get("/files").await.text().await.unwrap();
    assert!(html.contains("what?.txt"), "{html}");
    assert!(html.contains("Q&amp;A &lt;draft&gt;"), "{html}");
    assert!(!html.contains("<draft>"), "{html}");

    // Renaming follows the same rule.
    for (name, message) in [
        (
            "what\u{3164}.txt",
            "File names cannot contain invisible characters (U+3164, a Hangul filler, at position 5).",
        ),
        ("\u{2800}", "A file name needs at least one visible character."),
    ] {
        let (status, error) = app
            .json("/api/rename_file", &[("file_id", &ids[0]), ("name", name)])
            .await;
        assert_eq!(status, 422, "{error}");
        assert_eq!(error["Invalid"][0]["field"], "name", "{error}");
        assert_eq!(error["Invalid"][0]["message"], message);
    }
    let (status, renamed) = app
        .json(
            "/api/rename_file",
            &[("file_id", &ids[0]), ("name", "a:b?.txt")],
        )
        .await;
    assert_eq!(
        (status, &renamed["name"]),
        (200, &json!("a:b?.txt")),
        "{renamed}"
    );
}

/// What S3 reports for an object assembled from these parts, computed here from the bytes.
fn composite_of(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut digests = Vec::new();
    for part in parts {
        digests.extend_from_slice(&Sha256::digest(part));
    }
    let whole = app::backend::checksum::of_bytes(&digests);
    format!("{whole}-{}", parts.len())
}

#[tokio::test]
async fn the_recorded_checksum_is_the_composite_of_the_parts() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = test_bytes(11 * MIB + 3, 21);
    let (_, started) = app.start("three.bin", bytes.len(), "").await;
    let file_id = id(&started);
    app.upload_parts(&file_id, &bytes, 5 * MIB, None).await;

    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    let expected = composite_of(&bytes.chunks(5 * MIB).collect::<Vec<_>>());
    assert_eq!(file["checksum"], expected.as_str());
    let (_, page) = app.json("/api/list_files", &[]).await;
    assert_eq!(page["files"][0]["checksum"], expected.as_str());
    // Completing again answers the same recorded value.
    assert_eq!(
        app.complete(&file_id).await.1["checksum"],
        expected.as_str()
    );
}

#[tokio::test]
async fn a_one_part_file_records_its_full_sha256() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = test_bytes(1000, 22);
    let (_, started) = app.start("small.txt", bytes.len(), "text/plain").await;
    let file_id = id(&started);
    app.upload_parts(&file_id, &bytes, 5 * MIB, None).await;
    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["checksum"], digest(&bytes).as_str());

    // An empty file is complete at once, with the SHA-256 of nothing.
    let (status, empty) = app.start("empty.txt", 0, "text/plain").await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["file"]["checksum"], digest(b"").as_str());
}

#[tokio::test]
async fn forged_checksums_are_refused() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = test_bytes(6 * MIB, 23);
    let (_, started) = app.start("forged.bin", bytes.len(), "").await;
    let file_id = id(&started);
    let short = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode([7u8; 31])
    };
    let hex = sha256(b"x");
    for forged in ["", "not base64!", short.as_str(), hex.as_str()] {
        let (status, error) = app.sign_digests(&file_id, &[(1, forged.to_owned())]).await;
        assert_eq!(status, 422, "{forged:?}: {error}");
        assert_eq!(error["Invalid"][0]["field"], "parts", "{error}");
    }

    // A part keeps the checksum it was first signed with.
    let one = part_of(&bytes, 5 * MIB, 1);
    assert_eq!(app.sign(&file_id, &[(1, one)]).await.0, 200);
    assert_eq!(app.sign(&file_id, &[(1, one)]).await.0, 200);
    let (status, error) = app.sign(&file_id, &[(1, b"other bytes")]).await;
    assert_eq!(status, 422, "{error}");
    assert!(error.to_string().contains("changed"), "{error}");
}

/// The file is read and the digests recorded in one statement, before the call is checked
/// against the file: a call refused for any of its parts must still record none of them.
#[tokio::test]
async fn a_refused_sign_records_no_digest_of_its_parts() {
    let app = app().await;
    app.signed_up_user().await;
    let (_, started) = app.start("refused.bin", 11 * MIB, "").await;
    let file_id = id(&started);
    let (first, other) = (digest(b"first bytes"), digest(b"other bytes"));
    let refused: [(&str, Vec<(i64, String)>); 3] = [
        (
            "a part past the file's last",
            vec![(1, first.clone()), (4, first.clone())],
        ),
        (
            "a part twice with two checksums",
            vec![(2, first.clone()), (2, other.clone())],
        ),
        (
            "a checksum that is no SHA-256",
            vec![(3, first.clone()), (1, "not base64!".into())],
        ),
    ];
    for (what, parts) in refused {
        let (status, error) = app.sign_digests(&file_id, &parts).await;
        assert_eq!(status, 422, "{what}: {error}");
    }
    // Had any part kept `first`, signing it with another checksum would be refused.
    for number in 1..=3 {
        let (status, error) = app.sign_digests(&file_id, &[(number, other.clone())]).await;
        assert_eq!(status, 200, "part {number}: {error}");
    }
    let (status, error) = app.sign_digests(&file_id, &[(2, first)]).await;
    assert_eq!(status, 422, "{error}");
    assert!(error.to_string().contains("changed"), "{error}");
}

#[tokio::test]
async fn parts_that_do_not_match_their_recorded_checksums_fail_the_file_with_the_reason() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = test_bytes(11 * MIB, 24);
    let (_, started) = app.start("lied.bin", bytes.len(), "").await;
    let file_id = id(&started);
    app.upload_parts(&file_id, &bytes, 5 * MIB, None).await;
    // The record of part 2 no longer matches what S3 holds.
    sqlx::query("update file_part set sha256 = $2 where file_id = $1::uuid and part_number = 2")
        .bind(&file_id)
        .bind(vec![9u8; 32])
        .execute(&app.db)
        .await
        .unwrap();

    let (status, error) = app.complete(&file_id).await;
    assert_eq!(status, 422, "{error}");
    assert!(error.to_string().contains("BadDigest"), "{error}");
    let (_, page) = app.json("/api/list_files", &[]).await;
    assert_eq!(page["files"][0]["status"], "failed");
    assert!(page["files"][0]["failure"]
        .as_str()
        .unwrap()
        .contains("BadDigest"));
    assert_eq!(app.usage().await, (0, 0));
}

/// An upload begun before checksums existed (its multipart upload has no checksum algorithm):
/// it carries on and completes without one.
#[tokio::test]
async fn an_upload_begun_before_checksums_completes_without_one() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = test_bytes(6 * MIB, 25);
    let (_, started) = app.start("old.bin", bytes.len(), "").await;
    let file_id = id(&started);
    // What the previous version left: a multipart upload without checksums, and a row that
    // predates migration 0004.
    let (key, new_upload): (String, String) =
        sqlx::query_as("select object_key, s3_upload_id from file where file_id = $1::uuid")
            .bind(&file_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    app.storage
        .abort_multipart(&key, &new_upload)
        .await
        .unwrap();
    let legacy = app
        .storage
        .client()
        .create_multipart_upload()
        .bucket(app.storage.bucket())
        .key(&key)
        .send()
        .await
        .unwrap();
    sqlx::query(
        "update file set s3_upload_id = $2, part_checksums = false where file_id = $1::uuid",
    )
    .bind(&file_id)
    .bind(legacy.upload_id().unwrap())
    .execute(&app.db)
    .await
    .unwrap();

    let (status, signed) = app
        .sign(
            &file_id,
            &[
                (1, part_of(&bytes, 5 * MIB, 1)),
                (2, part_of(&bytes, 5 * MIB, 2)),
            ],
        )
        .await;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed[0]["headers"], json!([]), "no checksum is signed");
    app.upload_parts(&file_id, &bytes, 5 * MIB, None).await;
    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["checksum"], Value::Null);
    assert_eq!(sha256(&app.object(&file_id).await), sha256(&bytes));
}

#[tokio::test]
async fn two_concurrent_signs_of_a_part_with_different_checksums_record_one() {
    let app = app().await;
    app.signed_up_user().await;
    let (_, started) = app.start("race.bin", 6 * MIB, "").await;
    let file_id = id(&started);
    let (a, b) = (test_bytes(5 * MIB, 31), test_bytes(5 * MIB, 32));
    let parts_a: [(i64, &[u8]); 1] = [(1, &a)];
    let parts_b: [(i64, &[u8]); 1] = [(1, &b)];
    let ((status_a, _), (status_b, _)) =
        tokio::join!(app.sign(&file_id, &parts_a), app.sign(&file_id, &parts_b));
    let mut statuses = [status_a, status_b];
    statuses.sort();
    assert_eq!(statuses, [200, 422]);
    let recorded: Vec<u8> = sqlx::query_scalar(
        "select sha256 from file_part where file_id = $1::uuid and part_number = 1",
    )
    .bind(&file_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let winner = if status_a == 200 { &a } else { &b };
    assert_eq!(
        digest(winner),
        app::backend::checksum::encode(&recorded.try_into().unwrap())
    );
    assert_no_violations(&app).await;
}
