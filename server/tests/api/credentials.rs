//! Credentials the way AWS users run Haul: no key pair in the settings, an IAM role through
//! the SDK's default chain. The test plays the ECS task-role endpoint
//! (AWS_CONTAINER_CREDENTIALS_FULL_URI) in front of the embedded store: it hands out the
//! store's keys as temporary credentials with a session token, expiring in 2 minutes. A
//! server process of its own (environment variables are the process's, and the chain reads
//! them) takes them, signs URLs that carry the token, and the bytes really go up and come
//! back through those URLs.

use std::{
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime},
};

use axum::{extract::State, http::HeaderMap, routing::get, Json, Router};
use serde_json::{json, Value};
use server::local_stack::free_ports;
use tokio::net::TcpListener;

use crate::{
    helpers::{args_beside, sha256, spawn_app_with, stack, test_bytes, TestApp},
    upload::{id, part_of, ARGS},
};

const MIB: usize = 1024 * 1024;
const TOKEN: &str = "haul-test-container-token";

/// The ECS container credentials endpoint: the store's keys as temporary credentials that
/// expire `lifetime` after each answer.
struct CredentialsEndpoint {
    uri: String,
    asked: Arc<AtomicUsize>,
    authorizations: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct Answer {
    keys: (String, String),
    lifetime: Duration,
    asked: Arc<AtomicUsize>,
    authorizations: Arc<Mutex<Vec<String>>>,
}

impl CredentialsEndpoint {
    async fn start(lifetime: Duration) -> Self {
        let (access_key, secret_key) = stack().await.s3.keys();
        let answer = Answer {
            keys: (access_key.to_owned(), secret_key.to_owned()),
            lifetime,
            asked: Default::default(),
            authorizations: Default::default(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/role-credentials", listener.local_addr().unwrap());
        let (asked, authorizations) = (answer.asked.clone(), answer.authorizations.clone());
        let app = Router::new()
            .route("/role-credentials", get(credentials))
            .with_state(answer);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            uri,
            asked,
            authorizations,
        }
    }
}

async fn credentials(State(answer): State<Answer>, headers: HeaderMap) -> Json<Value> {
    answer.asked.fetch_add(1, Ordering::SeqCst);
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    answer
        .authorizations
        .lock()
        .unwrap()
        .push(authorization.to_owned());
    Json(json!({
        "AccessKeyId": answer.keys.0,
        "SecretAccessKey": answer.keys.1,
        // SeaweedFS 4.48 takes any session token for one of its own STS and refuses the
        // request (InvalidAccessKeyId); the ECS provider insists on the field. An empty token
        // still travels in every signed request and URL (later SeaweedFS releases tolerate a
        // foreign token on a known key).
        "Token": "",
        "Expiration": rfc3339(SystemTime::now() + answer.lifetime),
    }))
}

/// `2026-12-02T03:10:00Z`.
fn rfc3339(at: SystemTime) -> String {
    let at = time::OffsetDateTime::from(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// The server binary beside `app` (its database, bucket and origin) with no key pair: only
/// the ECS endpoint at `uri` offers credentials (no profile, no instance metadata).
struct RoleServer {
    child: Child,
    address: String,
    _home: tempfile::TempDir,
}

impl RoleServer {
    async fn beside(app: &TestApp, uri: &str, extra: &[&str]) -> Self {
        let port = free_ports(1).unwrap()[0];
        let addr = format!("127.0.0.1:{port}");
        let mut args = args_beside(app, None, &addr, extra).await;
        for key in ["--aws-access-key-id", "--aws-secret-access-key"] {
            let at = args.iter().position(|arg| arg == key).unwrap();
            args.drain(at..at + 2);
        }
        let home = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(&args[1..])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("AWS_CONFIG_FILE", home.path().join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.path().join("none"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", TOKEN)
            .env("HAUL_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Self {
            child,
            address: format!("http://{addr}"),
            _home: home,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let health = format!("{}/healthz", server.address);
        while reqwest::get(&health).await.is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("the server process exited: {status}");
            }
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }
}

impl Drop for RoleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn with_no_key_pair_an_ecs_task_role_signs_urls_that_die_with_its_credentials() {
    let endpoint = CredentialsEndpoint::start(Duration::from_secs(120)).await;
    let mut args = ARGS.to_vec();
    args.extend(["--url-ttl", "15m"]);
    let app = spawn_app_with(&args).await;
    let server = RoleServer::beside(&app, &endpoint.uri, &args).await;
    // This test's browser, talking to the server process.
    let mut browser = app.other_browser();
    browser.address = server.address.clone();
    browser.signed_up_user().await;

    let bytes = test_bytes(11 * MIB, 210);
    let (status, started) = browser
        .start("role.bin", bytes.len(), "application/octet-stream")
        .await;
    assert_eq!(status, 200, "{started}");
    let file_id = id(&started);
    let parts: Vec<(i64, &[u8])> = (1..=3).map(|n| (n, part_of(&bytes, 5 * MIB, n))).collect();
    let (status, signed) = browser.sign(&file_id, &parts).await;
    assert_eq!(status, 200, "{signed}");
    for part in signed.as_array().unwrap() {
        let url = part["url"].as_str().unwrap();
        assert!(url.contains("X-Amz-Security-Token="), "{url}");
        // HAUL_URL_TTL is 15 minutes; the credentials last 2: the URL claims less than
        // their life, and the engine's re-signing (half the lifetime left) follows it.
        let expires_in = part["expires_in_ms"].as_u64().unwrap();
        let lifetime = part["lifetime_ms"].as_u64().unwrap();
        assert!(expires_in < 61_000, "{part}");
        assert!(expires_in > 30_000, "{part}");
        assert!(lifetime <= 61_000 && lifetime >= expires_in, "{part}");
        let number = part["part_number"].as_i64().unwrap();
        let chunk = part_of(&bytes, 5 * MIB, number).to_vec();
        assert_eq!(browser.put_part(part, chunk).await, 200);
    }
    let (status, file) = browser.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["status"], "complete");
    let (status, url) = browser
        .json("/api/download_url", &[("file_id", &file_id)])
        .await;
    assert_eq!(status, 200, "{url}");
    assert!(url.as_str().unwrap().contains("X-Amz-Security-Token="));
    assert_eq!(sha256(&browser.object(&file_id).await), sha256(&bytes));

    assert!(endpoint.asked.load(Ordering::SeqCst) > 0);
    let authorizations = endpoint.authorizations.lock().unwrap().clone();
    assert!(
        authorizations.iter().all(|a| a == TOKEN),
        "{authorizations:?}"
    );
}
