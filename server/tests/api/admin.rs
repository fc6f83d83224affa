//! The admin dashboard's endpoints against the real stack: who may call them, what the lists
//! return (filters, sorts, pages), what the actions do to S3, the rows and the quotas, and
//! the audit log they leave.

use std::collections::HashSet;

use app::{
    backend::{
        files, lease, uploads,
        users::{self, Change},
    },
    model::{FileStatus, Role},
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    fault::Fault,
    helpers::{assert_no_violations, test_bytes, TestApp},
    upload::{app, id},
};

const MIB: usize = 1024 * 1024;

impl TestApp {
    /// POSTs `body` as JSON to a server function.
    pub(crate) async fn json_body(&self, endpoint: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(endpoint))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// One page of the admin file list.
    async fn admin_files(&self, filter: Value, cursor: Option<&str>) -> (u16, Value) {
        self.json_body(
            "/api/admin/files",
            json!({ "filter": filter, "cursor": cursor }),
        )
        .await
    }

    /// Uploads `bytes` as `name` through the real protocol and returns the file id.
    pub(crate) async fn upload_file(&self, name: &str, bytes: &[u8]) -> String {
        let (status, started) = self
            .start(name, bytes.len(), "application/octet-stream")
            .await;
        assert_eq!(status, 200, "{started}");
        let file_id = id(&started);
        let part_size = started["part_size"].as_u64().unwrap() as usize;
        self.upload_parts(&file_id, bytes, part_size, None).await;
        let (status, done) = self.complete(&file_id).await;
        assert_eq!(status, 200, "{done}");
        file_id
    }
}

/// The app, an admin (signed in on `app`), and a user (signed in on the second browser).
pub(crate) async fn admin_and_user() -> (TestApp, String, TestApp, String) {
    let admin = app().await;
    let (admin_email, _) = admin.signed_up_user().await;
    crate::auth::change(&admin, &admin_email, Change::Role(Role::Admin)).await;
    let user = admin.other_browser();
    let (user_email, _) = user.signed_up_user().await;
    (admin, admin_email, user, user_email)
}

pub(crate) async fn user_id(app: &TestApp, email: &str) -> String {
    users::find_by_email(&app.db, &app::validate::email(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

/// An endpoint, with its JSON body or its form.
type Call = (&'static str, Option<Value>, Vec<(&'static str, String)>);

/// Every admin endpoint, with a body that an admin could send.
fn endpoints(user_id: &str, file_id: &str) -> Vec<Call> {
    let form = |pairs: &[(&'static str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect::<Vec<_>>()
    };
    vec![
        ("/api/admin/overview", None, vec![]),
        (
            "/api/admin/files",
            Some(json!({ "filter": {}, "cursor": null })),
            vec![],
        ),
        (
            "/api/admin/download_url",
            None,
            form(&[("file_id", file_id)]),
        ),
        (
            "/api/admin/delete_files",
            Some(json!({ "file_ids": [file_id] })),
            vec![],
        ),
        (
            "/api/admin/abort_upload",
            None,
            form(&[("file_id", file_id)]),
        ),
        ("/api/admin/users", None, vec![]),
        (
            "/api/admin/set_quota",
            None,
            form(&[("user_id", user_id), ("quota", "1GB")]),
        ),
        (
            "/api/admin/set_role",
            None,
            form(&[("user_id", user_id), ("role", "admin")]),
        ),
        (
            "/api/admin/set_disabled",
            None,
            form(&[("user_id", user_id), ("disabled", "true")]),
        ),
        (
            "/api/admin/delete_user",
            None,
            form(&[("user_id", user_id)]),
        ),
        ("/api/admin/uploads", None, vec![]),
        (
            "/api/admin/landed_parts",
            None,
            form(&[("file_id", file_id)]),
        ),
        (
            "/api/admin/abort_user_uploads",
            None,
            form(&[("user_id", user_id)]),
        ),
        (
            "/api/admin/audit",
            Some(json!({ "filter": {}, "cursor": null })),
            vec![],
        ),
    ]
}

async fn post(app: &TestApp, endpoint: &str, body: &Option<Value>, form: &[(&str, String)]) -> u16 {
    let request = app.client.post(app.url(endpoint));
    let request = match body {
        Some(body) => request.json(body),
        None => request.form(form),
    };
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn every_admin_endpoint_is_403_for_users_and_401_for_strangers() {
    let (_admin, _, user, user_email) = admin_and_user().await;
    let file_id = user.upload_file("mine.bin", &test_bytes(1000, 1)).await;
    let target = user_id(&user, &user_email).await;
    let stranger = user.other_browser();
    for (endpoint, body, form) in endpoints(&target, &file_id) {
        assert_eq!(
            post(&stranger, endpoint, &body, &form).await,
            401,
            "{endpoint}"
        );
        assert_eq!(post(&user, endpoint, &body, &form).await, 403, "{endpoint}");
    }
    // Nothing was done: the file and the account are as they were.
    assert_eq!(user.object(&file_id).await, test_bytes(1000, 1));
    assert_eq!(user.me().await, Some(user_email));
}

#[tokio::test]
async fn a_user_sees_not_allowed_under_admin_and_no_admin_link() {
    let (admin, _, user, _) = admin_and_user().await;
    let page = user.get("/admin/files").await;
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("Not allowed"), "{html}");
    assert!(!html.contains("href=\"/admin\""), "{html}");
    let page = admin.get("/admin").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("href=\"/admin\""), "{html}");
    assert!(html.contains("<svg"), "{html}");
}

/// Seeds `count` file rows for `owner` through SQL (no bytes: for lists only), with names,
/// sizes, statuses and creation times that vary.
async fn seed_files(app: &TestApp, owner: &str, count: i32) {
    let owner = Uuid::parse_str(owner).unwrap();
    sqlx::query(
        "insert into file (file_id, owner_id, object_key, name, content_type, size_bytes, status,
                           part_size, part_count, created_at, completed_at, ended_at)
         select id, $1, 'u/' || $1 || '/' || id, 'seed-' || n || case when n % 7 = 0 then '-report.pdf' else '.bin' end,
                'application/octet-stream', (n * 7919) % 100000,
                (array['complete', 'complete', 'uploading', 'failed', 'aborted'])[1 + n % 5],
                5242880, 1,
                timestamptz '2026-01-01 00:00:00+00' + (n % 300) * interval '1 day'
                    + n * interval '1 second',
                case when n % 5 < 2 then timestamptz '2026-01-02 00:00:00+00' end,
                case when n % 5 <> 2 then timestamptz '2026-01-02 00:00:00+00' end
         from (select gen_random_uuid() as id, n from generate_series(1, $2) n) s",
    )
    .bind(owner)
    .bind(count)
    .execute(&app.db)
    .await
    .unwrap();
    // The owner's counters hold what the rows hold, as the app keeps them.
    sqlx::query(
        "update app_user u set
             used_bytes = (select coalesce(sum(size_bytes), 0) from file
                           where owner_id = u.app_user_id and status = 'complete'),
             reserved_bytes = (select coalesce(sum(size_bytes), 0) from file
                               where owner_id = u.app_user_id and status = 'uploading'),
             complete_files = (select count(*) from file
                               where owner_id = u.app_user_id and status = 'complete')
         where app_user_id = $1",
    )
    .bind(owner)
    .execute(&app.db)
    .await
    .unwrap();
}

/// Every page of the admin file list for `filter`, in order.
async fn all_pages(app: &TestApp, filter: Value) -> Vec<Value> {
    let mut files = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (status, page) = app.admin_files(filter.clone(), cursor.as_deref()).await;
        assert_eq!(status, 200, "{page}");
        files.extend(page["files"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return files,
        }
    }
}

#[tokio::test]
async fn the_file_list_filters_sorts_and_pages_with_no_row_twice_or_missing() {
    let (admin, _, user, user_email) = admin_and_user().await;
    let (other, _) = user.other_browser().signed_up_user().await;
    let user_id = user_id(&user, &user_email).await;
    let other_id = self::user_id(&user, &other).await;
    seed_files(&admin, &user_id, 1500).await;
    seed_files(&admin, &other_id, 1000).await;

    let all = all_pages(&admin, json!({})).await;
    assert_eq!(all.len(), 2500);
    let ids: HashSet<_> = all.iter().map(|f| f["file"]["id"].clone()).collect();
    assert_eq!(ids.len(), 2500, "no row twice");
    let created: Vec<&str> = all
        .iter()
        .map(|f| f["file"]["created_at"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let mine = all_pages(&admin, json!({ "owner": user_email.to_uppercase() })).await;
    assert_eq!(mine.len(), 1500);
    assert!(mine.iter().all(|f| f["owner_email"] == user_email.as_str()));

    let failed = all_pages(&admin, json!({ "status": "failed" })).await;
    assert_eq!(failed.len(), 500);
    assert!(failed.iter().all(|f| f["file"]["status"] == "failed"));

    // n % 7 == 0 of 1..=1500 and 1..=1000: 214 + 142.
    let reports = all_pages(&admin, json!({ "name": "REPORT" })).await;
    assert_eq!(reports.len(), 356);
    assert!(reports
        .iter()
        .all(|f| f["file"]["name"].as_str().unwrap().ends_with("-report.pdf")));

    let largest = all_pages(&admin, json!({ "sort": "largest", "owner": other })).await;
    assert_eq!(largest.len(), 1000);
    let sizes: Vec<u64> = largest
        .iter()
        .map(|f| f["file"]["size_bytes"].as_u64().unwrap())
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "largest first");

    // Day 0 and day 1 of the seed: n % 300 in {0, 1}, for n up to 1500 and up to 1000.
    let days = all_pages(&admin, json!({ "from": "2026-01-01", "to": "2026-01-02" })).await;
    assert_eq!(days.len(), 10 + 7);
    assert!(days
        .iter()
        .all(|f| f["file"]["created_at"].as_str().unwrap() < "2026-01-03"));

    let nobody = all_pages(&admin, json!({ "owner": "nobody@example.com" })).await;
    assert!(nobody.is_empty());
}

/// A range up to the calendar's last day, 9999-12-31, has no day after it to stop before:
/// files and audit events up to now are all in it.
#[tokio::test]
async fn a_range_to_the_last_day_of_the_calendar_lists_everything() {
    let (admin, admin_email, user, _) = admin_and_user().await;
    let file_id = user.upload_file("kept.bin", &test_bytes(1000, 2)).await;
    let filter = json!({ "from": "0001-01-01", "to": "9999-12-31" });

    let (status, page) = admin.admin_files(filter.clone(), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["files"][0]["file"]["id"], file_id.as_str(), "{page}");

    let (status, log) = admin
        .json_body(
            "/api/admin/audit",
            json!({ "filter": filter, "cursor": null }),
        )
        .await;
    assert_eq!(status, 200, "{log}");
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"] == admin_email.as_str() && e["action"] == "user.role"),
        "{log}"
    );
}

#[tokio::test]
async fn malformed_filters_and_cursors_are_400_and_unknown_ids_404() {
    let (admin, _, _user, _) = admin_and_user().await;
    for filter in [
        json!({ "status": "lost" }),
        json!({ "from": "yesterday" }),
        json!({ "from": "2026-02-30" }),
        json!({ "from": "2026-03-02", "to": "2026-03-01" }),
        json!({ "sort": "random" }),
    ] {
        let (status, body) = admin.admin_files(filter.clone(), None).await;
        assert_eq!(status, 400, "{filter}: {body}");
    }
    // A name too short is the form field's error, in the words the page shows next to it.
    let (status, body) = admin.admin_files(json!({ "name": "ab" }), None).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.to_string()
            .contains("Enter 3 characters or more to search names."),
        "{body}"
    );
    for cursor in [
        "garbage",
        "12_notauuid",
        "99999999999999999999999_00000000-0000-0000-0000-000000000000",
        // About 5950 BC: a time the server's calendar holds and PostgreSQL does not.
        "-250000000000000000_00000000-0000-0000-0000-000000000000",
    ] {
        let (status, _) = admin.admin_files(json!({}), Some(cursor)).await;
        assert_eq!(status, 400, "{cursor}");
        let (status, _) = admin.json("/api/admin/users", &[("cursor", cursor)]).await;
        assert_eq!(status, 400, "{cursor}");
    }
    let (status, _) = admin
        .json_body("/api/admin/audit", json!({ "filter": {}, "cursor": "x" }))
        .await;
    assert_eq!(status, 400);
    let unknown = Uuid::new_v4().to_string();
    for (endpoint, field) in [
        ("/api/admin/download_url", "file_id"),
        ("/api/admin/abort_upload", "file_id"),
        ("/api/admin/landed_parts", "file_id"),
        ("/api/admin/delete_user", "user_id"),
        ("/api/admin/abort_user_uploads", "user_id"),
    ] {
        for id in [unknown.as_str(), "not-an-id"] {
            let (status, body) = admin.json(endpoint, &[(field, id)]).await;
            assert_eq!(status, 404, "{endpoint} {id}: {body}");
        }
    }
    let (status, _) = admin
        .json(
            "/api/admin/set_quota",
            &[("user_id", &unknown), ("quota", "1GB")],
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = admin
        .json_body("/api/admin/delete_files", json!({ "file_ids": [unknown] }))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_admin_downloads_and_deletes_another_users_file_and_the_quota_is_freed() {
    let (admin, admin_email, user, _) = admin_and_user().await;
    let bytes = test_bytes(6 * MIB, 2);
    let file_id = user.upload_file("theirs.bin", &bytes).await;
    assert_eq!(user.usage().await, (6 * MIB as i64, 0));

    let (status, url) = admin
        .json("/api/admin/download_url", &[("file_id", &file_id)])
        .await;
    assert_eq!(status, 200, "{url}");
    let downloaded = reqwest::get(url.as_str().unwrap()).await.unwrap();
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), bytes);

    let (status, deleted) = admin
        .json_body("/api/admin/delete_files", json!({ "file_ids": [file_id] }))
        .await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted, json!({ "files": 1, "bytes": 6 * MIB }));
    assert_eq!(user.usage().await, (0, 0));
    let (_, page) = user.json("/api/list_files", &[]).await;
    assert_eq!(page["files"], json!([]));
    let key = format!(
        "u/{}/{file_id}",
        user_id(&user, &user.me().await.unwrap()).await
    );
    assert_eq!(admin.storage.object_size(&key).await.unwrap(), None);

    let (_, log) = admin
        .json_body(
            "/api/admin/audit",
            json!({ "filter": { "actor": admin_email }, "cursor": null }),
        )
        .await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["file.delete", "admin.file.download", "user.sign_up"]
    );
    assert_eq!(log["entries"][0]["ip"], "127.0.0.1");
}

#[tokio::test]
async fn an_admin_aborts_uploads_in_progress_and_s3_drops_their_parts() {
    let (admin, _, user, user_email) = admin_and_user().await;
    let bytes = test_bytes(12 * MIB, 3);
    let (_, started) = user.start("big.bin", bytes.len(), "").await;
    let file_id = id(&started);
    user.upload_parts(&file_id, &bytes, 5 * MIB, Some(3)).await;
    let (_, second) = user.start("second.bin", 1000, "").await;
    assert_eq!(user.usage().await.1, (12 * MIB + 1000) as i64);

    let (status, uploads) = admin
        .json("/api/admin/uploads", &[("owner", &user_email)])
        .await;
    assert_eq!(status, 200, "{uploads}");
    assert_eq!(uploads["uploads"].as_array().unwrap().len(), 2);
    assert_eq!(uploads["uploads"][0]["signed_parts"], 2);
    let (status, landed) = admin
        .json("/api/admin/landed_parts", &[("file_id", &file_id)])
        .await;
    assert_eq!(status, 200, "{landed}");
    assert_eq!(
        landed,
        json!({ "landed_parts": 2, "landed_bytes": 10 * MIB, "part_count": 3 })
    );

    let (status, _) = admin
        .json("/api/admin/abort_upload", &[("file_id", &file_id)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(user.usage().await.1, 1000);
    let upload_id =
        sqlx::query_scalar::<_, String>("select s3_upload_id from file where file_id = $1::uuid")
            .bind(&file_id)
            .fetch_one(&admin.db)
            .await
            .unwrap();
    let key = format!("u/{}/{file_id}", user_id(&user, &user_email).await);
    assert_eq!(
        admin.storage.list_parts(&key, &upload_id).await.unwrap(),
        None
    );

    let target = user_id(&user, &user_email).await;
    let (status, aborted) = admin
        .json("/api/admin/abort_user_uploads", &[("user_id", &target)])
        .await;
    assert_eq!((status, aborted), (200, json!(1)));
    assert_eq!(user.usage().await, (0, 0));
    let (status, _) = user.complete(&id(&second)).await;
    assert_eq!(status, 422);
}

/// "Abort all" goes on past an upload whose completion holds it: the others are aborted and
/// recorded, and the answer says how many were left. Aborting an upload that has ended since
/// it was listed is not a failure.
#[tokio::test]
async fn aborting_all_of_a_users_uploads_goes_past_one_being_completed() {
    let (admin, _, user, user_email) = admin_and_user().await;
    let target = user_id(&user, &user_email).await;
    let (_, held) = user.start("held.bin", 1000, "").await;
    let (_, free) = user.start("free.bin", 1000, "").await;
    let held = uuid::Uuid::parse_str(&id(&held)).unwrap();
    let free = uuid::Uuid::parse_str(&id(&free)).unwrap();
    // Its completion holds the lease.
    let (_, lease) = files::claim(&admin.db, held, std::time::Duration::from_secs(3600))
        .await
        .unwrap()
        .unwrap();
    let status_of = async |file| files::find(&admin.db, file).await.unwrap().status;

    let (status, body) = admin
        .json("/api/admin/abort_user_uploads", &[("user_id", &target)])
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.to_string().contains("Aborted 1; 1 being completed"),
        "{body}"
    );
    assert_eq!(status_of(free).await, FileStatus::Aborted);
    assert_eq!(status_of(held).await, FileStatus::Uploading);
    let (_, log) = admin
        .json_body(
            "/api/admin/audit",
            json!({ "filter": { "action": "admin.upload.abort_all" }, "cursor": null }),
        )
        .await;
    let detail: Value =
        serde_json::from_str(log["entries"][0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(
        (detail["aborted"].clone(), detail["busy"].clone()),
        (json!(1), json!(1))
    );

    lease::release(&admin.db, lease).await.unwrap();
    let (status, aborted) = admin
        .json("/api/admin/abort_user_uploads", &[("user_id", &target)])
        .await;
    assert_eq!((status, aborted), (200, json!(1)));
    assert_eq!(status_of(held).await, FileStatus::Aborted);
    // Ended since: nothing to abort, and nothing to try again.
    assert!(!uploads::abort_file(&admin.state, held, None).await.unwrap());
    assert_no_violations(&admin).await;
}

#[tokio::test]
async fn deleting_a_user_removes_their_objects_then_their_rows_step_by_step() {
    let (admin, admin_email, user, user_email) = admin_and_user().await;
    let target = user_id(&user, &user_email).await;
    let kept = user.upload_file("kept.bin", &test_bytes(2000, 4)).await;
    let (_, open) = user.start("open.bin", 6 * MIB, "").await;
    user.upload_parts(&id(&open), &test_bytes(6 * MIB, 5), 5 * MIB, Some(2))
        .await;
    // Rows enough for several steps (their objects do not exist: removing them is a no-op).
    seed_files(&admin, &target, 450).await;
    let prefix = format!("u/{target}/");
    assert_eq!(
        admin
            .storage
            .objects_page(&prefix, None)
            .await
            .unwrap()
            .0
            .len(),
        1
    );
    assert_eq!(admin.storage.open_uploads(&prefix).await.unwrap().len(), 1);

    let mut steps = Vec::new();
    loop {
        let (status, step) = admin
            .json("/api/admin/delete_user", &[("user_id", &target)])
            .await;
        assert_eq!(status, 200, "{step}");
        steps.push((
            step["removed_files"].as_u64().unwrap(),
            step["files_left"].as_u64().unwrap(),
        ));
        // Signed out at once: the account is disabled from the first step.
        assert_eq!(user.me().await, None);
        if step["done"] == true {
            break;
        }
    }
    assert_eq!(steps, [(200, 252), (200, 52), (52, 0)]);
    assert!(admin
        .storage
        .objects_page(&prefix, None)
        .await
        .unwrap()
        .0
        .is_empty());
    assert!(admin
        .storage
        .open_uploads(&prefix)
        .await
        .unwrap()
        .is_empty());
    let rows: i64 = sqlx::query_scalar("select count(*) from file where owner_id = $1::uuid")
        .bind(&target)
        .fetch_one(&admin.db)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    assert!(
        users::find_by_email(&admin.db, &app::validate::email(&user_email).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        user.sign_in(&user_email, "correct horse battery staple")
            .await
            .status(),
        401
    );
    let (status, _) = admin
        .json("/api/admin/download_url", &[("file_id", &kept)])
        .await;
    assert_eq!(status, 404);

    // Deleting again finds nobody; the log keeps who it was.
    let (status, _) = admin
        .json("/api/admin/delete_user", &[("user_id", &target)])
        .await;
    assert_eq!(status, 404);
    let (_, log) = admin
        .json_body(
            "/api/admin/audit",
            json!({ "filter": { "actor": admin_email, "action": "user.delete" }, "cursor": null }),
        )
        .await;
    assert_eq!(log["entries"][0]["target"], user_email.as_str());
    assert_no_violations(&admin).await;
}

#[tokio::test]
async fn an_admin_cannot_delete_themselves() {
    let (admin, admin_email, _user, _) = admin_and_user().await;
    let me = user_id(&admin, &admin_email).await;
    let (status, body) = admin
        .json("/api/admin/delete_user", &[("user_id", &me)])
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(admin.me().await, Some(admin_email));
}

#[tokio::test]
async fn a_quota_change_takes_effect_on_the_next_start_upload() {
    let (admin, _, user, user_email) = admin_and_user().await;
    let target = user_id(&user, &user_email).await;
    let (status, changed) = admin
        .json(
            "/api/admin/set_quota",
            &[("user_id", &target), ("quota", "1MB")],
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["quota_bytes"], 1_000_000);
    let (status, refused) = user.start("big.bin", 2_000_000, "").await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["Invalid"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Not enough room"),
        "{refused}"
    );

    for bad in ["-5GB", "lots", "", "1e400"] {
        let (status, body) = admin
            .json(
                "/api/admin/set_quota",
                &[("user_id", &target), ("quota", bad)],
            )
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["Invalid"][0]["field"], "quota", "{bad}");
    }
    let (status, _) = admin
        .json(
            "/api/admin/set_quota",
            &[("user_id", &target), ("quota", "2TiB")],
        )
        .await;
    assert_eq!(status, 200);
    let (status, started) = user.start("big.bin", 2_000_000, "").await;
    assert_eq!(status, 200, "{started}");
}

#[tokio::test]
async fn disabling_ends_the_session_at_once_and_enabling_lets_them_back() {
    let (admin, _, user, user_email) = admin_and_user().await;
    let target = user_id(&user, &user_email).await;
    assert_eq!(user.me().await.as_deref(), Some(user_email.as_str()));
    let (status, changed) = admin
        .json(
            "/api/admin/set_disabled",
            &[("user_id", &target), ("disabled", "true")],
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["disabled"], true);
    assert_eq!(user.me().await, None);
    let password = "correct horse battery staple";
    assert_eq!(user.sign_in(&user_email, password).await.status(), 403);
    let (status, _) = admin
        .json(
            "/api/admin/set_disabled",
            &[("user_id", &target), ("disabled", "false")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(user.sign_in(&user_email, password).await.status(), 200);
}

#[tokio::test]
async fn the_last_admin_cannot_demote_or_disable_themselves() {
    let (admin, admin_email, user, user_email) = admin_and_user().await;
    let me = user_id(&admin, &admin_email).await;
    for (endpoint, field, value) in [
        ("/api/admin/set_role", "role", "user"),
        ("/api/admin/set_disabled", "disabled", "true"),
    ] {
        let (status, body) = admin
            .json(endpoint, &[("user_id", &me), (field, value)])
            .await;
        assert_eq!(status, 422, "{endpoint}: {body}");
        assert_eq!(body["Invalid"][0]["field"], field);
    }
    assert_eq!(admin.me().await.as_deref(), Some(admin_email.as_str()));

    // With a second admin, either may step down, but two demoting each other at once leave one.
    let other = user_id(&user, &user_email).await;
    let (status, _) = admin
        .json(
            "/api/admin/set_role",
            &[("user_id", &other), ("role", "admin")],
        )
        .await;
    assert_eq!(status, 200);
    let demote_other = [("user_id", other.as_str()), ("role", "user")];
    let demote_me = [("user_id", me.as_str()), ("role", "user")];
    let (a, b) = tokio::join!(
        admin.json("/api/admin/set_role", &demote_other),
        user.json("/api/admin/set_role", &demote_me),
    );
    // The loser is refused as the last admin (422), or, when the winner committed before its
    // request began, as no admin at all (403).
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert!(
        statuses == [200, 403] || statuses == [200, 422],
        "{a:?} {b:?}"
    );
    let admins: i64 = sqlx::query_scalar("select count(*) from app_user where role = 'admin' and app_user_id in ($1::uuid, $2::uuid)")
        .bind(&me)
        .bind(&other)
        .fetch_one(&admin.db)
        .await
        .unwrap();
    assert_eq!(admins, 1);
}

#[tokio::test]
async fn the_audit_log_records_each_action_and_refuses_changes() {
    let (admin, admin_email, user, user_email) = admin_and_user().await;
    let target = user_id(&user, &user_email).await;
    assert_eq!(
        user.sign_in(&user_email, "wrong password!").await.status(),
        401
    );
    admin
        .json(
            "/api/admin/set_quota",
            &[("user_id", &target), ("quota", "5GB")],
        )
        .await;
    admin
        .json(
            "/api/admin/set_role",
            &[("user_id", &target), ("role", "admin")],
        )
        .await;
    admin
        .json(
            "/api/admin/set_role",
            &[("user_id", &target), ("role", "user")],
        )
        .await;
    admin
        .json(
            "/api/admin/set_disabled",
            &[("user_id", &target), ("disabled", "true")],
        )
        .await;

    let (status, log) = admin
        .json_body("/api/admin/audit", json!({ "filter": {}, "cursor": null }))
        .await;
    assert_eq!(status, 200, "{log}");
    let entries: Vec<(String, String)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"] == user_email.as_str())
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap_or("system").to_owned(),
            )
        })
        .collect();
    let admin_did = |action: &str| (action.to_owned(), admin_email.clone());
    assert_eq!(
        entries,
        [
            admin_did("user.disable"),
            admin_did("user.role"),
            admin_did("user.role"),
            admin_did("user.quota"),
            ("user.sign_in_failed".to_owned(), "system".to_owned()),
            ("user.sign_up".to_owned(), user_email.clone()),
        ]
    );

    for statement in [
        "update audit_event set action = 'nothing'",
        "update audit_event set actor_id = null",
        "delete from audit_event",
        "truncate audit_event",
    ] {
        let error = sqlx::query(statement).execute(&admin.db).await.unwrap_err();
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
}

/// The log reads as words: what happened, the file's name and, for a file, its owner's email;
/// not JSON and ids (those stay in `detail` and `target_file` for scripts).
#[tokio::test]
async fn the_audit_log_says_what_happened_in_words() {
    let (admin, admin_email, user, user_email) = admin_and_user().await;
    let target = user_id(&user, &user_email).await;
    let (status, _) = admin
        .json(
            "/api/admin/set_quota",
            &[("user_id", &target), ("quota", "2GiB")],
        )
        .await;
    assert_eq!(status, 200);
    let file_id = user.upload_file("report.pdf", &test_bytes(3000, 8)).await;
    let (status, _) = admin
        .json("/api/admin/download_url", &[("file_id", &file_id)])
        .await;
    assert_eq!(status, 200);
    let (status, _) = admin
        .json_body("/api/admin/delete_files", json!({ "file_ids": [file_id] }))
        .await;
    assert_eq!(status, 200);

    let (status, log) = admin
        .json_body(
            "/api/admin/audit",
            json!({ "filter": { "actor": admin_email }, "cursor": null }),
        )
        .await;
    assert_eq!(status, 200, "{log}");
    let said: Vec<(&str, &str, &str, &str)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|e| {
            let text = |key: &str| e[key].as_str().unwrap_or("");
            (
                text("action"),
                text("summary"),
                text("file_name"),
                text("target"),
            )
        })
        .collect();
    let user_email = user_email.as_str();
    assert_eq!(
        said[..2],
        [
            (
                "file.delete",
                "Deleted report.pdf (2.9 KiB).",
                "report.pdf",
                user_email
            ),
            (
                "admin.file.download",
                "Downloaded report.pdf.",
                "report.pdf",
                user_email
            ),
        ]
    );
    let (action, summary, _, account) = said[2];
    assert_eq!((action, account), ("user.quota", user_email));
    assert!(
        summary.starts_with("Quota changed from ") && summary.ends_with(" to 2.0 GiB."),
        "{summary}"
    );
}

#[tokio::test]
async fn the_overview_counts_what_is_there() {
    let (admin, _, user, _) = admin_and_user().await;
    user.upload_file("one.bin", &test_bytes(3000, 6)).await;
    user.upload_file("two.bin", &test_bytes(5000, 7)).await;
    let (status, _) = user.start("open.bin", 7000, "").await;
    assert_eq!(status, 200);
    let (status, overview) = admin.json("/api/admin/overview", &[]).await;
    assert_eq!(status, 200, "{overview}");
    assert_eq!(overview["users"], 2);
    assert_eq!(overview["active_users"], 2);
    assert_eq!(overview["complete_files"], 2);
    assert_eq!(overview["stored_bytes"], 8000);
    assert_eq!(overview["uploading_files"], 1);
    assert_eq!(overview["reserved_bytes"], 7000);
    let days = overview["uploaded_per_day"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(days[29]["bytes"], 8000);
    assert_eq!(days[29]["files"], 2);
    assert_eq!(overview["top_users"][0]["bytes"], 8000);
}

#[tokio::test]
async fn deletes_that_the_storage_refuses_change_nothing_and_can_be_retried() {
    let (admin, proxy) = crate::resilience::app_behind_proxy().await;
    let (admin_email, _) = admin.signed_up_user().await;
    crate::auth::change(&admin, &admin_email, Change::Role(Role::Admin)).await;
    let user = admin.other_browser();
    let (user_email, _) = user.signed_up_user().await;
    let bytes = test_bytes(3000, 8);
    let file_id = user.upload_file("kept.bin", &bytes).await;
    let is_delete = |method: &axum::http::Method, _: &str| method == axum::http::Method::DELETE;

    proxy.fail(is_delete, Fault::Status(503));
    let hits = proxy.hits();
    let (status, body) = admin
        .json_body("/api/admin/delete_files", json!({ "file_ids": [file_id] }))
        .await;
    assert!(proxy.hits() > hits, "the fault was never injected");
    assert_eq!(status, 503, "{body}");
    // Nothing changed: the row, the bytes and the quota are as they were.
    assert_eq!(user.object(&file_id).await, bytes);
    assert_eq!(user.usage().await, (3000, 0));

    // Deleting the account stops at the same fault, with the account disabled and its
    // file still listed; once the storage answers, the next step finishes.
    let target = user_id(&admin, &user_email).await;
    let (status, _) = admin
        .json("/api/admin/delete_user", &[("user_id", &target)])
        .await;
    assert_eq!(status, 503);
    assert_eq!(user.me().await, None);
    let (_, page) = admin
        .admin_files(json!({ "owner": user_email }), None)
        .await;
    assert_eq!(page["files"].as_array().unwrap().len(), 1);

    proxy.heal();
    let (status, step) = admin
        .json("/api/admin/delete_user", &[("user_id", &target)])
        .await;
    assert_eq!((status, step["done"].clone()), (200, json!(true)), "{step}");
    let (_, page) = admin.admin_files(json!({}), None).await;
    assert_eq!(page["files"], json!([]));
    assert_no_violations(&admin).await;
}

#[tokio::test]
async fn an_account_half_deleted_cannot_be_enabled_and_a_retry_carries_on() {
    let (admin, _, user, user_email) = admin_and_user().await;
    let target = user_id(&user, &user_email).await;
    seed_files(&admin, &target, 300).await;
    let (status, step) = admin
        .json("/api/admin/delete_user", &[("user_id", &target)])
        .await;
    assert_eq!(
        (status, step["files_left"].clone()),
        (200, json!(100)),
        "{step}"
    );
    let (status, body) = admin
        .json(
            "/api/admin/set_disabled",
            &[("user_id", &target), ("disabled", "false")],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["Invalid"][0]["field"], "disabled");
    let password = "correct horse battery staple";
    assert_eq!(user.sign_in(&user_email, password).await.status(), 403);
    // The next step picks up where the first stopped.
    let (status, step) = admin
        .json("/api/admin/delete_user", &[("user_id", &target)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        step,
        json!({ "removed_files": 100, "files_left": 0, "done": true })
    );
    assert_no_violations(&admin).await;
}
