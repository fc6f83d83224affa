//! One private PostgreSQL cluster and one private SeaweedFS store per test binary; a fresh
//! database and a fresh bucket per test. Nothing here mocks PostgreSQL or S3.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use app::backend::storage::Storage;
use clap::Parser;
use server::{
    local_stack::{LocalPostgres, LocalS3},
    settings::{Cli, Settings},
    startup::Application,
};
use tokio::sync::{oneshot, OnceCell};

/// The shared stack. It lives in a static, so it is never dropped: its processes receive their
/// parent-death signal when the test binary exits (see `local_stack::process`).
pub struct TestStack {
    pub dir: PathBuf,
    pub postgres: LocalPostgres,
    pub s3: LocalS3,
}

static STACK: OnceCell<TestStack> = OnceCell::const_new();

/// Test data lives under /tmp (not the target dir, which may sit in a home directory that
/// the `postgres` account cannot enter), one folder per test process.
const TEST_ROOT: &str = "/tmp/haul-tests";

pub async fn stack() -> &'static TestStack {
    STACK
        .get_or_init(|| async {
            remove_stale_test_dirs();
            let dir = Path::new(TEST_ROOT).join(std::process::id().to_string());
            std::fs::create_dir_all(&dir).expect("creating the test data dir");
            let postgres = LocalPostgres::start(&dir, None, false)
                .await
                .expect("starting the test PostgreSQL");
            let s3 = LocalS3::start(&dir, None, 0)
                .await
                .expect("starting the test S3 store");
            TestStack { dir, postgres, s3 }
        })
        .await
}

/// Folders of earlier test processes that are gone (their stack died with them).
fn remove_stale_test_dirs() {
    let Ok(entries) = std::fs::read_dir(TEST_ROOT) else {
        return;
    };
    for entry in entries.flatten() {
        let pid_alive = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
            .is_some_and(|pid| Path::new("/proc").join(pid.to_string()).exists());
        if !pid_alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A unique, valid name for a database or a bucket.
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

pub struct TestApp {
    pub address: String,
    pub origin: String,
    pub storage: Storage,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Settings for an app on a random port against a fresh database and bucket of the stack.
pub async fn test_settings() -> (Settings, String) {
    let stack = stack().await;
    let database = unique_name("test").replace('-', "_");
    stack
        .postgres
        .create_database(&database)
        .await
        .expect("creating the test database");
    let socket_dir = stack.dir.join("postgres-socket");
    let database_url = format!(
        "postgres://haul@localhost/{database}?host={}",
        socket_dir.display()
    );
    let s3 = stack.s3.settings(&unique_name("test"));
    let cli = Cli::try_parse_from([
        "server",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &database_url,
        "--s3-endpoint",
        s3.endpoint.as_deref().expect("local endpoint"),
        "--s3-bucket",
        &s3.bucket,
        "--s3-path-style",
        "true",
        "--s3-setup-bucket",
        "true",
        "--aws-access-key-id",
        &s3.access_key_id,
        "--aws-secret-access-key",
        &s3.secret_access_key,
    ])
    .expect("valid test settings");
    (cli.settings, database_url)
}

pub async fn spawn_app() -> TestApp {
    let (settings, _) = test_settings().await;
    let app = Application::build(&settings)
        .await
        .expect("building the app");
    let addr = app.local_addr().expect("bound address");
    let storage = app.state().storage.clone();
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address: format!("http://{addr}"),
        origin: format!("http://{addr}"),
        storage,
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .expect("building the HTTP client"),
        shutdown: Some(shutdown),
    }
}

/// `len` bytes that are not all alike, so a mix-up of parts shows.
pub fn test_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes))
}
