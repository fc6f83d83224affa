//! `server check`: each kind of violation, injected into a real database and bucket, is
//! reported; `--repair` fixes the safe ones (bytes no row owns, counters) and a second check
//! is clean; the command's exit code says whether any is left.

use std::{collections::BTreeSet, time::Duration};

use app::backend::check::{check, Counters, Limits, Repair, Report, Violation};
use futures::StreamExt;
use uuid::Uuid;

use crate::{
    helpers::{sha256, stack, test_bytes, TestApp},
    upload::{app, id},
};

const MIB: usize = 1024 * 1024;
const HOUR: Duration = Duration::from_secs(3600);

/// The check of `app`'s database and bucket, with bytes no row owns stray once older than
/// `grace`: what it reports, and its violations in the order found.
async fn run_check(app: &TestApp, grace: Duration, repair: bool) -> (Report, Vec<Violation>) {
    let limits = Limits {
        grace,
        ..Limits::of(&app.state.config)
    };
    let mut found = Vec::new();
    let report = check(&app.db, &app.storage, limits, repair, |v| found.push(v))
        .await
        .unwrap();
    assert_eq!(report.violations, found.len() as u64, "{report}");
    (report, found)
}

async fn key_of(app: &TestApp, file_id: &str) -> String {
    sqlx::query_scalar("select object_key from file where file_id = $1::uuid")
        .bind(file_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

fn uuid(file_id: &str) -> Uuid {
    Uuid::parse_str(file_id).unwrap()
}

/// A file whose parts do not match their recorded checksums: completion fails it.
async fn failed_file(app: &TestApp) -> String {
    let bytes = test_bytes(1000, 40);
    let (_, started) = app.start("lied.bin", bytes.len(), "").await;
    let file_id = id(&started);
    app.upload_parts(&file_id, &bytes, 5 * MIB, None).await;
    sqlx::query("update file_part set sha256 = $2 where file_id = $1::uuid")
        .bind(&file_id)
        .bind(vec![9u8; 32])
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(app.complete(&file_id).await.0, 422);
    file_id
}

/// An upload started and cancelled.
async fn aborted_file(app: &TestApp, name: &str) -> String {
    let (_, started) = app.start(name, 2000, "").await;
    let file_id = id(&started);
    let (status, body) = app
        .json("/api/abort_upload", &[("file_id", &file_id)])
        .await;
    assert_eq!(status, 200, "{body}");
    file_id
}

#[tokio::test]
async fn an_app_in_every_state_as_haul_left_it_has_no_violation() {
    let app = app().await;
    app.signed_up_user().await;
    app.upload_file("three.bin", &test_bytes(11 * MIB + 3, 41))
        .await;
    app.upload_file("small.txt", &test_bytes(1000, 42)).await;
    let (status, empty) = app.start("empty.txt", 0, "").await;
    assert_eq!(status, 200, "{empty}");
    let (_, open) = app.start("open.bin", 6 * MIB, "").await;
    app.upload_parts(&id(&open), &test_bytes(6 * MIB, 43), 5 * MIB, Some(2))
        .await;
    failed_file(&app).await;
    aborted_file(&app, "cancelled.bin").await;

    // The strictest grace: every object and upload must be owned, however young.
    let (report, found) = run_check(&app, Duration::ZERO, false).await;
    assert_eq!(found, []);
    assert_eq!(
        report,
        Report {
            files: 6,
            objects: 3,
            uploads: 1,
            users: 1,
            violations: 0,
            repaired: 0,
        }
    );
}

#[tokio::test]
async fn lost_or_altered_objects_of_complete_files_are_reported_and_left_alone() {
    let app = app().await;
    app.signed_up_user().await;
    let mut ids = Vec::new();
    for (n, name) in ["gone.bin", "altered.bin", "resized.bin"]
        .into_iter()
        .enumerate()
    {
        ids.push(
            app.upload_file(name, &test_bytes(1000, 50 + n as u64))
                .await,
        );
    }
    let keys = [
        key_of(&app, &ids[0]).await,
        key_of(&app, &ids[1]).await,
        key_of(&app, &ids[2]).await,
    ];
    app.storage.delete(&keys[0]).await.unwrap();
    // Other bytes of the same size, with their own checksum; then fewer bytes.
    let other = test_bytes(1000, 59);
    app.storage
        .client()
        .put_object()
        .bucket(app.storage.bucket())
        .key(&keys[1])
        .checksum_sha256(crate::helpers::digest(&other))
        .body(other.into())
        .send()
        .await
        .unwrap();
    app.storage
        .client()
        .put_object()
        .bucket(app.storage.bucket())
        .key(&keys[2])
        .body(test_bytes(999, 60).into())
        .send()
        .await
        .unwrap();

    // --repair cannot bring bytes back: they are only reported.
    let (report, found) = run_check(&app, HOUR, true).await;
    assert_eq!(report.left(), 3, "{report}");
    let mut kinds: Vec<(Uuid, &str)> = found
        .iter()
        .map(|violation| match violation {
            Violation::MissingObject { file, .. } => (*file, "missing"),
            Violation::WrongChecksum { file, .. } => (*file, "checksum"),
            Violation::WrongSize {
                file,
                recorded: 1000,
                stored: 999,
                ..
            } => (*file, "size"),
            other => panic!("unexpected: {other}"),
        })
        .collect();
    kinds.sort();
    let mut expected = vec![
        (uuid(&ids[0]), "missing"),
        (uuid(&ids[1]), "checksum"),
        (uuid(&ids[2]), "size"),
    ];
    expected.sort();
    assert_eq!(kinds, expected);
    let missing = found
        .iter()
        .find(|v| matches!(v, Violation::MissingObject { .. }))
        .unwrap();
    assert_eq!(
        missing.to_string(),
        format!(
            "file {}: complete, but its object {} is missing",
            ids[0], keys[0]
        )
    );
    let statuses: Vec<String> =
        sqlx::query_scalar("select status from file where status = 'complete'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(statuses.len(), 3, "the rows are as they were");
}

#[tokio::test]
async fn stray_objects_and_orphan_uploads_past_the_grace_are_reported_then_removed() {
    let app = app().await;
    app.signed_up_user().await;
    let bytes = test_bytes(1000, 61);
    let kept = app.upload_file("kept.bin", &bytes).await;
    let (_, open) = app.start("open.bin", 6 * MIB, "").await;
    // Bytes and an upload that reached the app's prefix with no row.
    let stray = "u/nobody/stray";
    app.storage
        .put_empty(stray, "application/octet-stream", true)
        .await
        .unwrap();
    let orphan = "u/nobody/orphan";
    let orphan_id = app
        .storage
        .create_multipart(orphan, "application/octet-stream", true)
        .await
        .unwrap();

    // Younger than the URL lifetime: an upload may be about to record them.
    let (report, found) = run_check(&app, HOUR, true).await;
    assert_eq!(found, []);
    assert_eq!((report.objects, report.uploads), (2, 2), "{report}");

    let expected = |repair: Repair| {
        vec![
            Violation::StrayObject {
                key: stray.into(),
                repair: repair.clone(),
            },
            Violation::OrphanUpload {
                key: orphan.into(),
                upload_id: orphan_id.clone(),
                repair,
            },
        ]
    };
    let (report, found) = run_check(&app, Duration::ZERO, false).await;
    assert_eq!(found, expected(Repair::Possible));
    assert_eq!(report.left(), 2);
    assert!(app.storage.object_size(stray).await.unwrap().is_some());

    let (report, found) = run_check(&app, Duration::ZERO, true).await;
    assert_eq!(found, expected(Repair::Done));
    assert_eq!((report.repaired, report.left()), (2, 0), "{report}");
    assert_eq!(app.storage.object_size(stray).await.unwrap(), None);
    let open_ids: Vec<String> = app
        .storage
        .open_uploads("u/")
        .await
        .unwrap()
        .into_iter()
        .map(|upload| upload.upload_id)
        .collect();
    let live_id: String =
        sqlx::query_scalar("select s3_upload_id from file where file_id = $1::uuid")
            .bind(id(&open))
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(open_ids, [live_id], "only the live upload is left");

    let (_, found) = run_check(&app, Duration::ZERO, false).await;
    assert_eq!(found, []);
    assert_eq!(sha256(&app.object(&kept).await), sha256(&bytes));
}

async fn complete_files(app: &TestApp) -> i64 {
    sqlx::query_scalar("select complete_files from app_user")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn counters_that_differ_from_the_rows_are_reported_then_recomputed() {
    let app = app().await;
    app.signed_up_user().await;
    app.upload_file("done.bin", &test_bytes(1000, 62)).await;
    app.start("open.bin", 6 * MIB, "").await;
    sqlx::query(
        "update app_user set used_bytes = used_bytes + 5, reserved_bytes = 0, complete_files = 7",
    )
    .execute(&app.db)
    .await
    .unwrap();

    let (_, found) = run_check(&app, HOUR, false).await;
    let [Violation::Counters {
        recorded,
        rows,
        repair: Repair::Possible,
        ..
    }] = found.as_slice()
    else {
        panic!("{found:?}");
    };
    let counters = |used_bytes, reserved_bytes, complete_files| Counters {
        used_bytes,
        reserved_bytes,
        complete_files,
    };
    assert_eq!(*recorded, counters(1005, 0, 7));
    assert_eq!(*rows, counters(1000, 6 * MIB as i64, 1));
    assert!(
        found[0].to_string().contains("used_bytes is 1005"),
        "{}",
        found[0]
    );

    let (report, _) = run_check(&app, HOUR, true).await;
    assert_eq!((report.repaired, report.left()), (1, 0), "{report}");
    assert_eq!(app.usage().await, (1000, 6 * MIB as i64));
    assert_eq!(complete_files(&app).await, 1);
    assert_eq!(run_check(&app, HOUR, false).await.1, []);
}

/// The recount must not write over a completion committed while it runs. A completion's
/// transaction (the file row, then its owner's counters, as `files::finish` does) is held
/// open while the repair starts; it commits once the repair waits for the owner's row. The
/// counters then hold the completion too (sums read in the snapshot the repair began with
/// would count the file as uploading still).
#[tokio::test]
async fn recounting_beside_a_completion_in_flight_keeps_the_completion() {
    let app = app().await;
    app.signed_up_user().await;
    let (_, started) = app.start("finishing.bin", 1000, "").await;
    let file_id = id(&started);
    sqlx::query("update app_user set complete_files = 7")
        .execute(&app.db)
        .await
        .unwrap();

    let mut completion = app.db.begin().await.unwrap();
    sqlx::query(
        "update file set status = 'complete', completed_at = now(), ended_at = now()
         where file_id = $1::uuid",
    )
    .bind(&file_id)
    .execute(&mut *completion)
    .await
    .unwrap();
    sqlx::query(
        "update app_user set reserved_bytes = reserved_bytes - 1000, used_bytes = used_bytes + 1000,
                             complete_files = complete_files + 1",
    )
    .execute(&mut *completion)
    .await
    .unwrap();
    let repair = run_check(&app, HOUR, true);
    let commit = async {
        wait_for_a_lock_wait(&app).await;
        completion.commit().await.unwrap();
    };
    let ((_, found), ()) = tokio::join!(repair, commit);
    let recounted = found.iter().filter(|violation| {
        matches!(
            violation,
            Violation::Counters {
                repair: Repair::Done,
                ..
            }
        )
    });
    assert_eq!(recounted.count(), 1, "{found:?}");
    assert_eq!(app.usage().await, (1000, 0));
    assert_eq!(complete_files(&app).await, 1);
}

/// Returns once a session of the app's database waits for a row lock.
async fn wait_for_a_lock_wait(app: &TestApp) {
    for _ in 0..1000 {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the repair never waited for the user's row");
}

#[tokio::test]
async fn rows_that_their_lease_or_timestamps_contradict_are_reported_and_left_alone() {
    let app = app().await;
    app.signed_up_user().await;
    let complete = app.upload_file("done.bin", &test_bytes(1000, 63)).await;
    let (_, open) = app.start("open.bin", 1000, "").await;
    let open = id(&open);
    let aborted = aborted_file(&app, "leased.bin").await;
    let failed = aborted_file(&app, "failed.bin").await;
    for (file_id, change) in [
        (&complete, "completed_at = null"),
        (
            &open,
            "lease_token = gen_random_uuid(), lease_until = now() + interval '1 day'",
        ),
        (
            &aborted,
            "lease_token = gen_random_uuid(), lease_until = now() + interval '10 seconds'",
        ),
        (&failed, "status = 'failed', failure_reason = null"),
    ] {
        sqlx::query(&format!(
            "update file set {change} where file_id = $1::uuid"
        ))
        .bind(file_id)
        .execute(&app.db)
        .await
        .unwrap();
    }

    let (report, found) = run_check(&app, HOUR, true).await;
    assert_eq!(report.repaired, 0, "{report}");
    let found: BTreeSet<(Uuid, &str)> = found
        .iter()
        .map(|violation| match violation {
            Violation::Row { file, problem, .. } => (*file, *problem),
            other => panic!("unexpected: {other}"),
        })
        .collect();
    let expected = BTreeSet::from([
        (uuid(&complete), "it is complete but has no completed_at"),
        (
            uuid(&open),
            "its lease runs further ahead than the longest hold Haul takes",
        ),
        (uuid(&aborted), "it has ended but still holds a lease"),
        (uuid(&failed), "it failed without a reason"),
    ]);
    assert_eq!(found, expected);
    let completed_at: Option<time::OffsetDateTime> =
        sqlx::query_scalar("select completed_at from file where file_id = $1::uuid")
            .bind(&complete)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(completed_at, None, "rows are never rewritten");
}

/// More rows than one query reads and more objects than one listing shows: every one is
/// checked, and the objects are removed while the listing pages on.
#[tokio::test]
async fn rows_and_objects_beyond_one_page_are_all_checked() {
    let app = app().await;
    app.signed_up_user().await;
    sqlx::query(
        "insert into file (file_id, owner_id, object_key, name, content_type, size_bytes, status,
                           part_size, part_count, ended_at)
         select id, u.app_user_id, 'u/' || u.app_user_id || '/' || id, 'seed.bin', '', 10,
                'aborted', 5242880, 1, now()
         from app_user u, (select gen_random_uuid() as id from generate_series(1, 1100)) s",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let puts = futures::stream::iter(0..1100)
        .map(|n| {
            let storage = app.storage.clone();
            async move {
                storage
                    .put_empty(
                        &format!("u/nobody/{n:04}"),
                        "application/octet-stream",
                        true,
                    )
                    .await
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    assert!(puts.iter().all(Result::is_ok));

    let (report, found) = run_check(&app, HOUR, false).await;
    assert_eq!(found, []);
    assert_eq!((report.files, report.objects), (1100, 1100), "{report}");

    let (report, _) = run_check(&app, Duration::ZERO, true).await;
    assert_eq!((report.repaired, report.left()), (1100, 0), "{report}");
    let (report, found) = run_check(&app, Duration::ZERO, false).await;
    assert_eq!(found, []);
    assert_eq!(report.objects, 0);
}

/// `server check` against the app's database and bucket, with bytes no row owns stray at once.
async fn run_command(app: &TestApp, endpoint: Option<&str>, args: &[&str]) -> (i32, String) {
    let s3 = stack().await.s3.settings(app.storage.bucket());
    let endpoint = endpoint.or(s3.endpoint.as_deref()).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.database_url)
        .env("HAUL_S3_ENDPOINT", endpoint)
        .env("HAUL_S3_BUCKET", &s3.bucket)
        .env("HAUL_S3_PATH_STYLE", "true")
        .env("AWS_ACCESS_KEY_ID", stack().await.s3.keys().0)
        .env("AWS_SECRET_ACCESS_KEY", stack().await.s3.keys().1)
        .env("HAUL_URL_TTL", "0s")
        .env("HAUL_LOG", "off")
        .args(args)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap(), text)
}

#[tokio::test]
async fn the_command_exits_1_while_a_violation_is_left_and_0_once_repaired() {
    let app = app().await;
    app.signed_up_user().await;
    app.upload_file("kept.bin", &test_bytes(1000, 64)).await;
    let stray = "u/nobody/stray";
    app.storage
        .put_empty(stray, "application/octet-stream", true)
        .await
        .unwrap();

    let (code, output) = run_command(&app, None, &["check"]).await;
    assert_eq!(code, 1, "{output}");
    assert_eq!(
        output,
        "object u/nobody/stray: no uploading or complete file owns it (--repair deletes it)\n\
         1 file, 2 objects, 0 uploads, 1 user checked: 1 violation\n"
    );
    let (code, output) = run_command(&app, None, &["check", "--repair"]).await;
    assert_eq!(code, 0, "{output}");
    assert_eq!(
        output,
        "object u/nobody/stray: no uploading or complete file owns it: deleted\n\
         1 file, 2 objects, 0 uploads, 1 user checked: 1 violation, 1 repaired, 0 left\n"
    );
    let (code, output) = run_command(&app, None, &["check"]).await;
    assert_eq!(code, 0, "{output}");
    assert_eq!(
        output,
        "1 file, 1 object, 0 uploads, 1 user checked: 0 violations\n"
    );

    // A check that cannot reach the storage found nothing: it says so, and exits 2.
    let (code, output) = run_command(&app, Some("http://127.0.0.1:9"), &["check"]).await;
    assert_eq!(code, 2, "{output}");
    assert!(output.starts_with("error: "), "{output}");
}
