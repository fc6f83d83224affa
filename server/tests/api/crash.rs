//! Processes that die or go away mid-request: an app server killed between S3's assembling of
//! a file and the database write, and PostgreSQL restarted under a completion and a sign-in.
//! Each is injected (a real SIGKILL, a real restart), and afterwards nothing is lost: the
//! file completes with its bytes and the quota matches the rows.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use app::backend::sweeper::{sweep, Swept};
use server::local_stack::{free_ports, LocalPostgres};

use crate::{
    fault::{is_complete, is_list_parts, Fault, FaultProxy},
    helpers::{args_beside, digest, spawn_app_on, spawn_app_via, stack, test_bytes, unique_name},
    helpers::{assert_no_violations, spawn_app_with, TestApp},
    resilience::{row, sent},
    sweeper::ttl,
    upload::{part_of, ARGS},
};

const MIB: usize = 1024 * 1024;
const PART: usize = 5 * MIB;
const HOUR: Duration = Duration::from_secs(3600);

/// The file's row as `list_files` shows it.
async fn listed(app: &TestApp, file_id: &str) -> serde_json::Value {
    let (status, page) = app.json("/api/list_files", &[]).await;
    assert_eq!(status, 200, "{page}");
    page["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["id"] == file_id)
        .cloned()
        .unwrap_or_else(|| panic!("{file_id} is not listed: {page}"))
}

/// The file is complete, holds exactly `bytes`, and counts as used, not reserved; and
/// `server check` finds nothing amiss.
async fn assert_complete_with(app: &TestApp, file_id: &str, bytes: &[u8]) {
    assert_eq!(listed(app, file_id).await["status"], "complete");
    assert_eq!(app.object(file_id).await, bytes);
    assert_eq!(app.usage().await, (bytes.len() as i64, 0));
    assert_no_violations(app).await;
}

/// The app server binary, run as a process of its own beside a test app.
struct ServerProcess {
    child: Child,
    address: String,
}

impl ServerProcess {
    /// Started on `app`'s database, bucket and origin, reaching S3 at `endpoint`; ready once
    /// it answers /healthz.
    async fn beside(app: &TestApp, endpoint: Option<&str>, extra: &[&str]) -> Self {
        let port = free_ports(1).unwrap()[0];
        let addr = format!("127.0.0.1:{port}");
        let args = args_beside(app, endpoint, &addr, extra).await;
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(&args[1..])
            .env("HAUL_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let server = Self {
            child,
            address: format!("http://{addr}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let health = format!("{}/healthz", server.address);
        while reqwest::get(&health).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "the server process did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    /// SIGKILL: no shutdown, no cleanup, whatever it was doing.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn a_server_killed_after_s3_assembled_the_file_leaves_it_for_the_next_completion() {
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let mut args = ARGS.to_vec();
    args.extend(["--lease", "2"]);
    let app = spawn_app_via(Some(&proxy.endpoint), &args).await;
    app.signed_up_user().await;
    let bytes = test_bytes(11 * MIB, 81);
    let file_id = sent(&app, "killed.bin", &bytes).await;

    // A second server completes the file; S3 assembles it, and the answer never comes back.
    let mut doomed = ServerProcess::beside(&app, Some(&proxy.endpoint), &args).await;
    proxy.fail(is_complete, Fault::Swallow);
    let completing = tokio::spawn(
        app.client
            .post(format!("{}/api/complete_upload", doomed.address))
            .form(&[("file_id", file_id.as_str())])
            .send(),
    );
    proxy.swallowed().await;
    doomed.kill();
    proxy.heal();
    assert!(
        completing.await.unwrap().is_err(),
        "the killed server answered"
    );

    // The dead server's lease runs out (2 s); the next completion finds the object S3 made.
    let (status, answer) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "complete");
    assert_complete_with(&app, &file_id, &bytes).await;
}

#[tokio::test]
async fn the_sweeper_completes_an_upload_s3_assembled_that_no_row_recorded() {
    let app = spawn_app_with(&["--part-size", "5MiB", "--sweep-interval", "1d"]).await;
    app.signed_up_user().await;
    let bytes = test_bytes(11 * MIB, 82);
    let file_id = sent(&app, "assembled.bin", &bytes).await;
    // What a server killed right after CompleteMultipartUpload leaves behind.
    let (_, key, upload_id) = row(&app, &file_id).await;
    let upload_id = upload_id.unwrap();
    let mut parts = app
        .storage
        .list_parts(&key, &upload_id)
        .await
        .unwrap()
        .unwrap();
    for part in &mut parts {
        part.sha256 = Some(digest(part_of(&bytes, PART, i64::from(part.number))));
    }
    app.storage
        .complete_multipart(&key, &upload_id, &parts)
        .await
        .unwrap();

    // Past the upload TTL, the sweeper finds the object whole: complete, not discarded.
    let swept = sweep(&app.state, ttl(Duration::ZERO, HOUR)).await.unwrap();
    assert_eq!(
        swept,
        Some(Swept {
            completed: 1,
            ..Swept::default()
        })
    );
    assert_complete_with(&app, &file_id, &bytes).await;
}

/// A PostgreSQL cluster of one test's own, which the test may stop and start.
struct PrivateCluster {
    dir: PathBuf,
    postgres: Option<LocalPostgres>,
    url: String,
}

impl PrivateCluster {
    async fn start() -> Self {
        let dir = stack().await.dir.join(unique_name("pg"));
        let postgres = LocalPostgres::start(&dir, None, false).await.unwrap();
        postgres.create_database("haul").await.unwrap();
        let url = format!(
            "postgres://haul@localhost/haul?host={}",
            dir.join("postgres-socket").display()
        );
        Self {
            dir,
            postgres: Some(postgres),
            url,
        }
    }

    /// Fast shutdown (open transactions rolled back, connections cut), as a restart begins.
    async fn stop(&mut self) {
        let mut postgres = self.postgres.take().expect("the cluster is running");
        tokio::task::spawn_blocking(move || postgres.stop())
            .await
            .unwrap();
    }

    async fn start_again(&mut self) {
        self.postgres = Some(LocalPostgres::start(&self.dir, None, false).await.unwrap());
    }
}

#[tokio::test]
async fn sign_in_while_postgres_restarts_answers_503_in_bounded_time_then_works() {
    let mut cluster = PrivateCluster::start().await;
    let app = spawn_app_on(&cluster.url, None, &[]).await;
    let (email, password) = app.signed_up_user().await;
    app.sign_out().await;

    cluster.stop().await;
    let started = Instant::now();
    let answer = app.sign_in(&email, &password).await;
    let waited = started.elapsed();
    let status = answer.status();
    let text = answer.text().await.unwrap();
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("The database is not answering"), "{text}");
    // The pool's acquire timeout (10 s) bounds the wait.
    assert!(waited < Duration::from_secs(20), "waited {waited:?}");

    // Back up: the pool replaces its dead connections by itself.
    cluster.start_again().await;
    let answer = app.sign_in(&email, &password).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(app.me().await, Some(email));
}

#[tokio::test]
async fn postgres_restarted_while_a_completion_waits_on_s3_leaves_nothing_half_written() {
    let mut cluster = PrivateCluster::start().await;
    let proxy = FaultProxy::start(stack().await.s3.endpoint()).await;
    let mut args = ARGS.to_vec();
    args.extend(["--lease", "2"]);
    let app = spawn_app_on(&cluster.url, Some(&proxy.endpoint), &args).await;
    app.signed_up_user().await;
    let bytes = test_bytes(11 * MIB, 83);
    let file_id = sent(&app, "restart.bin", &bytes).await;

    // The completion holds its lease and waits on ListParts while the database restarts.
    proxy.fail(is_list_parts, Fault::Hold);
    let (first, ()) = tokio::join!(
        app.complete(&file_id),
        proxy.while_held(async {
            cluster.stop().await;
            cluster.start_again().await;
        })
    );
    // It finishes, or says to try again; it never fails the file or answers 500.
    assert!(matches!(first.0, 200 | 503), "{first:?}");
    let (status, answer) = if first.0 == 200 {
        first
    } else {
        app.complete(&file_id).await
    };
    assert_eq!(status, 200, "{answer}");
    assert_complete_with(&app, &file_id, &bytes).await;
}
