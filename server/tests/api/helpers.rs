//! One private PostgreSQL cluster and one private SeaweedFS store per test binary; a fresh
//! database and a fresh bucket per test. Nothing here mocks PostgreSQL or S3.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use app::backend::{state::AppState, storage::Storage};
use clap::Parser;
use reqwest::cookie::{CookieStore, Jar};
use server::{
    local_stack::{LocalPostgres, LocalS3},
    settings::{Cli, Settings},
    startup::Application,
};
use sqlx::PgPool;
use std::sync::Arc;
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
pub const TEST_ROOT: &str = "/tmp/haul-tests";

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
            // SAFETY: registers a plain function to run at exit; it only reads STACK, which
            // is set before it can run (this closure returns before the binary exits).
            unsafe { libc::atexit(stop_stack_at_exit) };
            TestStack { dir, postgres, s3 }
        })
        .await
}

/// Stops the shared stack and removes its folder when the test binary exits. It is never
/// dropped (a static), and its processes would otherwise die with the binary and leave their
/// data behind (a database per test, WAL, the stored objects: over a GiB) until the next run.
extern "C" fn stop_stack_at_exit() {
    use nix::{
        sys::{
            signal::{kill, Signal},
            wait::{waitpid, WaitPidFlag, WaitStatus},
        },
        unistd::Pid,
    };
    let Some(stack) = STACK.get() else {
        return;
    };
    // weed: killed outright (its data is thrown away). PostgreSQL: immediate shutdown, which
    // waits for its own children, so none writes into the folder while it is removed.
    let children = [
        Some((stack.s3.pid(), Signal::SIGKILL)),
        stack.postgres.pid().map(|pid| (pid, Signal::SIGQUIT)),
    ];
    for (pid, signal) in children.into_iter().flatten() {
        let pid = Pid::from_raw(pid as i32);
        if kill(pid, signal).is_err() {
            continue;
        }
        // At most 10 s each, then killed: the binary's exit must not hang on them.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while matches!(
            waitpid(pid, Some(WaitPidFlag::WNOHANG)),
            Ok(WaitStatus::StillAlive)
        ) {
            if std::time::Instant::now() > deadline {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    for socket in stack.s3.grpc_sockets() {
        let _ = std::fs::remove_file(socket);
    }
    let _ = std::fs::remove_dir_all(&stack.dir);
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

/// A response header's value as text ("" when absent).
pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A unique, valid name for a database or a bucket.
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

pub struct TestApp {
    pub state: AppState,
    pub address: String,
    pub origin: String,
    pub storage: Storage,
    pub db: PgPool,
    pub database_url: String,
    /// A browser-like client: keeps cookies, sends the app's Origin on POSTs.
    pub client: reqwest::Client,
    pub cookies: Arc<Jar>,
    /// http://address of HAUL_METRICS_ADDR's listener, when the app has one.
    pub metrics_address: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    /// The database this app was made with, dropped with it (apps beside it and other
    /// browsers share it and own none).
    owned_database: Option<String>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(database) = self.owned_database.take() {
            drop_test_database(database);
        }
    }
}

/// Drops a finished test's database now rather than with the cluster at exit, so a run holds
/// a database per running test, not one per test (about 8 MB each). Sessions still connected
/// (the app's pool, the test's) are ended. On a thread of its own: `drop` cannot await, and
/// the test's runtime may run on this very thread.
fn drop_test_database(database: String) {
    let Some(stack) = STACK.get() else {
        return;
    };
    let dropped = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(stack.postgres.drop_database(&database))
    })
    .join();
    // A database left behind goes with the cluster at exit: worth a line, not a failed test.
    if let Ok(Err(error)) = dropped {
        eprintln!("test database left behind: {error:#}");
    }
}

/// Settings for an app on a random port against a fresh database and bucket of the stack,
/// plus `extra` command-line arguments.
pub async fn test_settings_with(extra: &[&str]) -> (Settings, String) {
    test_settings_via(None, extra).await
}

/// `test_settings_with`, reaching S3 at `endpoint` (a fault proxy) instead of the store itself.
pub async fn test_settings_via(endpoint: Option<&str>, extra: &[&str]) -> (Settings, String) {
    let (_, database_url) = new_database().await;
    let settings = settings_for(&database_url, &unique_name("test"), endpoint, extra).await;
    (settings, database_url)
}

/// A fresh database of the stack: its name and URL.
async fn new_database() -> (String, String) {
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
    (database, database_url)
}

/// Settings for an app on a random port against `database_url` and `bucket` of the stack.
async fn settings_for(
    database_url: &str,
    bucket: &str,
    endpoint: Option<&str>,
    extra: &[&str],
) -> Settings {
    let args = args_for(database_url, bucket, endpoint, extra).await;
    Cli::try_parse_from(args)
        .expect("valid test settings")
        .settings
}

/// The command line of `settings_for` (the program's name first).
async fn args_for(
    database_url: &str,
    bucket: &str,
    endpoint: Option<&str>,
    extra: &[&str],
) -> Vec<String> {
    let s3 = stack().await.s3.settings(bucket);
    let (access_key_id, secret_access_key) = stack().await.s3.keys();
    let addr = if extra.contains(&"--addr") {
        vec![]
    } else {
        vec!["--addr", "127.0.0.1:0"]
    };
    // Hundreds of test apps: the storage probe runs where a test asks for it.
    let probe = if extra.contains(&"--s3-probe") {
        vec![]
    } else {
        vec!["--s3-probe", "false"]
    };
    let mut args = vec!["server"];
    args.extend(addr);
    args.extend(probe);
    args.extend([
        "--database-url",
        database_url,
        "--s3-endpoint",
        endpoint.unwrap_or(s3.endpoint.as_deref().expect("local endpoint")),
        "--s3-bucket",
        &s3.bucket,
        "--s3-path-style",
        "true",
        "--s3-setup-bucket",
        "true",
        "--aws-access-key-id",
        access_key_id,
        "--aws-secret-access-key",
        secret_access_key,
    ]);
    args.extend_from_slice(extra);
    args.into_iter().map(str::to_owned).collect()
}

/// The command line of a server process beside `app` (its database, bucket and public
/// origin), reaching S3 at `endpoint` when given, listening on `addr`.
pub async fn args_beside(
    app: &TestApp,
    endpoint: Option<&str>,
    addr: &str,
    extra: &[&str],
) -> Vec<String> {
    let mut args = vec!["--public-origin", app.origin.as_str(), "--addr", addr];
    args.extend_from_slice(extra);
    args_for(&app.database_url, app.storage.bucket(), endpoint, &args).await
}

/// An app on the database at `database_url` (not one of the stack's), with a fresh bucket.
pub async fn spawn_app_on(database_url: &str, endpoint: Option<&str>, extra: &[&str]) -> TestApp {
    let settings = settings_for(database_url, &unique_name("test"), endpoint, extra).await;
    spawn(settings, database_url.to_owned(), None).await
}

/// An app on a store of the test's own (`store`: its `--s3-*` and key arguments, e.g.
/// Garage's), with a fresh database, plus `extra` arguments.
pub async fn spawn_app_on_store(store: &[String], extra: &[&str]) -> TestApp {
    let (database, database_url) = new_database().await;
    let mut args: Vec<String> = ["server", "--addr", "127.0.0.1:0", "--database-url"]
        .map(str::to_owned)
        .to_vec();
    args.push(database_url.clone());
    if !extra.contains(&"--s3-probe") {
        args.extend(["--s3-probe".to_owned(), "false".to_owned()]);
    }
    args.extend_from_slice(store);
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    let settings = Cli::try_parse_from(args)
        .expect("valid test settings")
        .settings;
    spawn(settings, database_url, Some(database)).await
}

pub async fn test_settings() -> (Settings, String) {
    test_settings_with(&[]).await
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    spawn_app_via(None, extra).await
}

/// An app whose S3 traffic (its own calls and the URLs it signs) goes through `endpoint`.
pub async fn spawn_app_via(endpoint: Option<&str>, extra: &[&str]) -> TestApp {
    let (database, database_url) = new_database().await;
    let settings = settings_for(&database_url, &unique_name("test"), endpoint, extra).await;
    spawn(settings, database_url, Some(database)).await
}

/// A second app server beside `app`: the same database, bucket and public origin (as behind
/// one load balancer), its own port and process state.
pub async fn spawn_beside(app: &TestApp, extra: &[&str]) -> TestApp {
    let mut args = vec!["--public-origin", app.origin.as_str()];
    args.extend_from_slice(extra);
    let settings = settings_for(&app.database_url, app.storage.bucket(), None, &args).await;
    spawn(settings, app.database_url.clone(), None).await
}

/// An app of `settings`, dropping `owned_database` when it is dropped.
async fn spawn(
    settings: Settings,
    database_url: String,
    owned_database: Option<String>,
) -> TestApp {
    let app = Application::build(&settings)
        .await
        .expect("building the app");
    let addr = app.local_addr().expect("bound address");
    let metrics_address = app.metrics_addr().map(|addr| format!("http://{addr}"));
    let state = app.state().clone();
    let storage = state.storage.clone();
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let db = PgPool::connect(&database_url)
        .await
        .expect("connecting to the test database");
    let origin = settings.public_origin(addr).expect("a valid public origin");
    let (client, cookies) = browser(&origin);
    TestApp {
        state,
        address: format!("http://{addr}"),
        origin,
        storage,
        db,
        database_url,
        client,
        cookies,
        metrics_address,
        shutdown: Some(shutdown),
        owned_database,
    }
}

/// A client with its own cookie jar that sends `origin` as a browser would.
pub fn browser(origin: &str) -> (reqwest::Client, Arc<Jar>) {
    let cookies = Arc::new(Jar::default());
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", origin.parse().expect("a valid origin header"));
    let client = reqwest::Client::builder()
        .cookie_provider(cookies.clone())
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("building the HTTP client");
    (client, cookies)
}

impl TestApp {
    /// The same server seen from another browser, with cookies of its own.
    pub fn other_browser(&self) -> TestApp {
        let (client, cookies) = browser(&self.origin);
        TestApp {
            state: self.state.clone(),
            address: self.address.clone(),
            origin: self.origin.clone(),
            storage: self.storage.clone(),
            db: self.db.clone(),
            database_url: self.database_url.clone(),
            client,
            cookies,
            metrics_address: self.metrics_address.clone(),
            shutdown: None,
            owned_database: None,
        }
    }

    /// The same browser (its cookies), sending `name: value` with every request too.
    pub fn with_header(&self, name: &'static str, value: &str) -> TestApp {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "origin",
            self.origin.parse().expect("a valid origin header"),
        );
        headers.insert(name, value.parse().expect("a valid header value"));
        let client = reqwest::Client::builder()
            .cookie_provider(self.cookies.clone())
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .expect("building the HTTP client");
        let mut browser = self.other_browser();
        browser.client = client;
        browser.cookies = self.cookies.clone();
        browser
    }

    /// The S3 endpoint's origin as browsers see it.
    pub async fn storage_origin(&self) -> String {
        self.storage.browser_origin().await.unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET from the app")
    }

    /// POSTs a form to a server function, as a page's JavaScript does.
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(endpoint))
            .form(form)
            .send()
            .await
            .expect("calling a server function")
    }

    pub async fn sign_up(&self, email: &str, password: &str) -> reqwest::Response {
        self.call("/api/sign_up", &[("email", email), ("password", password)])
            .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.call("/api/sign_in", &[("email", email), ("password", password)])
            .await
    }

    pub async fn sign_out(&self) -> reqwest::Response {
        self.call("/api/sign_out", &[]).await
    }

    /// The signed-in user's email, per the server.
    pub async fn me(&self) -> Option<String> {
        let response = self.call("/api/me", &[]).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.expect("JSON from /api/me");
        body.get("email")
            .and_then(|e| e.as_str())
            .map(str::to_owned)
    }

    /// The session cookie the client holds, if any.
    pub fn session_cookie(&self) -> Option<String> {
        let url = self.address.parse().expect("a valid URL");
        let header = self.cookies.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find(|c| c.starts_with("haul_session="))
            .map(str::to_owned)
    }

    /// A new account, signed in on this app's client.
    pub async fn signed_up_user(&self) -> (String, String) {
        let email = format!("{}@example.com", unique_name("user"));
        let password = "correct horse battery staple".to_owned();
        let response = self.sign_up(&email, &password).await;
        assert_eq!(
            response.status(),
            200,
            "{}",
            response.text().await.unwrap_or_default()
        );
        (email, password)
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

/// The base64 SHA-256 that S3 and `sign_parts` want.
pub fn digest(bytes: &[u8]) -> String {
    app::backend::checksum::of_bytes(bytes)
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes))
}

/// Fails the test with every violation of the invariants that `server check` finds in the
/// app's database and bucket (DESIGN §7: object = row = bytes, quota = sum of rows, nothing
/// left behind).
pub async fn assert_no_violations(app: &TestApp) {
    use app::backend::check::{check, Limits};
    let mut found = Vec::new();
    let limits = Limits::of(&app.state.config);
    let report = check(&app.db, &app.storage, limits, false, |violation| {
        found.push(violation.to_string())
    })
    .await
    .expect("running the check");
    assert!(found.is_empty(), "{report}:\n{}", found.join("\n"));
}
