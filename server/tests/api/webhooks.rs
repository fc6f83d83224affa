//! Notifications and webhooks (issue 24): events about a user's files are listed for them
//! with an unread count, and posted to the site's webhook and the user's own, signed so a
//! receiver can verify them, from a PostgreSQL outbox: a receiver that is down gets the event
//! when it is back, once, and two app servers deliver each event once per target. Real
//! receivers (a small HTTP server of the test's), real uploads and real share downloads.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU16, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use app::{
    backend::{notifications, users::Change},
    model::Role,
};
use axum::{extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::{
    files_find::uploaded,
    helpers::{spawn_app_with, spawn_beside, TestApp},
    upload::ARGS,
};

const SITE_SECRET: &str = "site-secret-for-the-tests-0123";

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Got {
    headers: HeaderMap,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// Checks the signature as the README tells a receiver to: HMAC-SHA256 of
    /// `timestamp.body` with the secret, hex, after `v1=`; and a fresh timestamp.
    fn verifies_with(&self, secret: &str) -> bool {
        let timestamp = self.header("haul-timestamp");
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.{}", self.body).as_bytes());
        let Some(hex) = self
            .header("haul-signature")
            .strip_prefix("v1=")
            .map(str::to_owned)
        else {
            return false;
        };
        let Ok(given) = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
            .collect::<Result<Vec<u8>, _>>()
        else {
            return false;
        };
        let age =
            time::OffsetDateTime::now_utc().unix_timestamp() - timestamp.parse::<i64>().unwrap();
        mac.verify_slice(&given).is_ok() && (0..300).contains(&age)
    }
}

/// A webhook receiver on 127.0.0.1: records what it gets and answers `status` (200 unless
/// changed).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    status: Arc<AtomicU16>,
}

#[derive(Clone)]
struct Shared {
    got: Arc<Mutex<Vec<Got>>>,
    status: Arc<AtomicU16>,
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    shared.got.lock().unwrap().push(Got { headers, body });
    StatusCode::from_u16(shared.status.load(Ordering::SeqCst)).unwrap()
}

impl Receiver {
    async fn start() -> Self {
        Self::on(TcpListener::bind("127.0.0.1:0").await.unwrap()).await
    }

    async fn on(listener: TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        let shared = Shared {
            got: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
        };
        let router = Router::new()
            .route("/hook", post(receive))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            url: format!("http://{addr}/hook"),
            got: shared.got,
            status: shared.status,
        }
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// What it got of the event `id`.
    fn of(&self, id: &str) -> Vec<Got> {
        self.got()
            .into_iter()
            .filter(|got| got.header("haul-event-id") == id)
            .collect()
    }
}

/// Server arguments: small uploads, the site webhook at `url`, retries a second apart.
fn args(url: &str) -> Vec<String> {
    let mut args: Vec<String> = ARGS.iter().map(|a| (*a).to_owned()).collect();
    args.extend(
        [
            "--webhook-url",
            url,
            "--webhook-secret",
            SITE_SECRET,
            "--webhook-retry",
            "1s",
        ]
        .map(str::to_owned),
    );
    args
}

async fn spawn(args: &[String], more: &[&str]) -> TestApp {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(more);
    spawn_app_with(&all).await
}

/// Waits (up to 60 s, checking every 100 ms) until `done` holds; fails with `what` if not.
async fn until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The events of the owner of `email`, oldest first: (id, kind).
async fn events_of(app: &TestApp, email: &str) -> Vec<(Uuid, String)> {
    sqlx::query_as(
        "select e.event_id, e.kind from event e join app_user u on u.app_user_id = e.user_id
         where u.email = $1 order by e.created_at, e.event_id",
    )
    .bind(email)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

/// Deliveries of `event` that are not delivered yet.
async fn undelivered(app: &TestApp, event: Uuid) -> i64 {
    sqlx::query_scalar(
        "select count(*) from webhook_delivery where event_id = $1 and delivered_at is null",
    )
    .bind(event)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

/// The token of the link a `create_share` or `create_request` answered.
fn token_after(made: &Value, prefix: &str) -> String {
    let url = made["url"].as_str().unwrap();
    url.rsplit_once(prefix).unwrap().1.to_owned()
}

/// A link to `file_id` made by its owner, and a download through it by a stranger.
async fn downloaded_through_a_link(owner: &TestApp, file_id: &str) {
    let (status, made) = owner
        .json("/api/create_share", &[("file_id", file_id)])
        .await;
    assert_eq!(status, 200, "{made}");
    let token = token_after(&made, "/s/");
    let stranger = owner.other_browser();
    let pressed = stranger
        .client
        .post(stranger.url(&format!("/s/{token}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status(), 303);
}

#[tokio::test]
async fn a_completed_upload_is_posted_signed_to_the_site_and_the_users_webhook() {
    let site = Receiver::start().await;
    let mine = Receiver::start().await;
    let app = spawn(&args(&site.url), &["--webhook-allow-private", "true"]).await;
    let (email, _) = app.signed_up_user().await;
    let (status, hook) = app.json("/api/set_webhook", &[("url", &mine.url)]).await;
    assert_eq!(status, 200, "{hook}");
    let user_secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(user_secret.len() >= 32, "{hook}");
    // The same URL again keeps its secret.
    let (_, again) = app.json("/api/set_webhook", &[("url", &mine.url)]).await;
    assert_eq!(again["secret"], user_secret.as_str());

    let file_id = uploaded(&app, "report.pdf", 1000).await;
    let events = events_of(&app, &email).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (event, kind) = events[0].clone();
    assert_eq!(kind, "upload.completed");
    until("both receivers got the event", || async {
        !site.of(&event.to_string()).is_empty() && !mine.of(&event.to_string()).is_empty()
    })
    .await;

    for (receiver, secret, other) in [
        (&site, SITE_SECRET, user_secret.as_str()),
        (&mine, user_secret.as_str(), SITE_SECRET),
    ] {
        let got = receiver.of(&event.to_string());
        assert_eq!(got.len(), 1);
        let got = &got[0];
        assert!(got.verifies_with(secret), "{got:?}");
        assert!(
            !got.verifies_with(other),
            "the other target's secret must not verify"
        );
        // A body changed by one byte does not verify.
        let mut forged = got.clone();
        forged.body = forged.body.replace("report.pdf", "report.pdX");
        assert!(!forged.verifies_with(secret));
        assert_eq!(got.header("haul-event"), "upload.completed");
        assert_eq!(got.header("content-type"), "application/json");
        let body = got.json();
        assert_eq!(body["id"], event.to_string());
        assert_eq!(body["type"], "upload.completed");
        assert_eq!(body["data"]["file"]["id"], file_id.as_str());
        assert_eq!(body["data"]["file"]["name"], "report.pdf");
        assert_eq!(body["data"]["file"]["size_bytes"], 1000);
    }
    // Completed uploads are the user's own doing: posted, not listed as unread.
    let (_, listed) = app.json("/api/notifications", &[]).await;
    assert_eq!(listed["unread"], 0, "{listed}");

    // Removed: later events go to the site only.
    let (status, removed) = app.json("/api/set_webhook", &[("url", "")]).await;
    assert_eq!(
        (status, removed),
        (200, json!({"url": null, "secret": null}))
    );
    uploaded(&app, "second.pdf", 10).await;
    let (second, _) = events_of(&app, &email).await[1].clone();
    until("the site got the second event", || async {
        undelivered(&app, second).await == 0 && !site.of(&second.to_string()).is_empty()
    })
    .await;
    assert!(mine.of(&second.to_string()).is_empty());
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_event_when_it_is_back_and_only_once() {
    // A port with nothing listening: the receiver is down.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = port.local_addr().unwrap();
    drop(port);
    let url = format!("http://{addr}/hook");
    let app = spawn(&args(&url), &[]).await;
    let (email, _) = app.signed_up_user().await;
    uploaded(&app, "while-down.bin", 100).await;
    let (event, _) = events_of(&app, &email).await[0].clone();

    // Tried, failed, and kept for later.
    until("an attempt failed to connect", || async {
        let row: Option<(i32, Option<String>)> =
            sqlx::query_as("select attempts, last_error from webhook_delivery where event_id = $1")
                .bind(event)
                .fetch_optional(&app.db)
                .await
                .unwrap();
        matches!(row, Some((attempts, Some(_))) if attempts >= 1)
    })
    .await;
    let (error, delivered): (String, Option<time::OffsetDateTime>) =
        sqlx::query_as("select last_error, delivered_at from webhook_delivery where event_id = $1")
            .bind(event)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(error.contains("Could not connect"), "{error}");
    assert_eq!(delivered, None);

    // Back up, but failing once (503): retried again with the same event id.
    let receiver = Receiver::on(TcpListener::bind(addr).await.unwrap()).await;
    receiver.status.store(503, Ordering::SeqCst);
    until("the receiver answered 503", || async {
        !receiver.of(&event.to_string()).is_empty()
    })
    .await;
    receiver.status.store(200, Ordering::SeqCst);
    until("delivered", || async {
        undelivered(&app, event).await == 0
    })
    .await;

    let got = receiver.of(&event.to_string());
    assert_eq!(got.len(), 2, "one 503, then one delivery: {got:?}");
    for attempt in &got {
        assert!(attempt.verifies_with(SITE_SECRET));
        assert_eq!(attempt.json()["id"], event.to_string());
    }
    assert_eq!(got[0].body, got[1].body, "the same body on every attempt");
    let (attempts, status): (i32, Option<i32>) =
        sqlx::query_as("select attempts, last_status from webhook_delivery where event_id = $1")
            .bind(event)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(attempts >= 3, "refused, 503, delivered: {attempts}");
    assert_eq!(status, Some(200));

    // The admin's log shows it delivered, after its failures.
    crate::auth::change(&app, &email, Change::Role(Role::Admin)).await;
    let log = app.get("/admin/webhooks").await;
    assert_eq!(log.status(), 200);
    let log = log.text().await.unwrap();
    assert!(
        log.contains("upload.completed") && log.contains("Delivered"),
        "{log}"
    );
    let pending = app
        .get("/admin/webhooks?undelivered=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(pending.contains("No deliveries."), "{pending}");
}

#[tokio::test]
async fn two_app_servers_deliver_each_event_once() {
    let receiver = Receiver::start().await;
    let args = args(&receiver.url);
    let a = spawn(&args, &[]).await;
    let all: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut b = spawn_beside(&a, &all).await;
    // The same browser on both (one load balancer's address, in life).
    b.client = a.client.clone();
    b.cookies = a.cookies.clone();
    let (email, _) = a.signed_up_user().await;
    let user = app::backend::users::find_by_email(&a.db, &app::validate::email(&email).unwrap())
        .await
        .unwrap()
        .unwrap();
    // Events written as the upload path writes them, many at once, while both servers poll.
    let count = 60;
    for n in 0..count {
        let mut conn = a.db.acquire().await.unwrap();
        notifications::emit(
            &mut conn,
            user.id,
            notifications::Kind::UploadCompleted,
            None,
            json!({ "file": { "name": format!("f{n}.bin") } }),
        )
        .await
        .unwrap();
    }
    uploaded(&b, "real.bin", 10).await;
    let events = events_of(&a, &email).await;
    assert_eq!(events.len(), count + 1);
    until("every event delivered", || async {
        let left: i64 = sqlx::query_scalar(
            "select count(*) from event e left join webhook_delivery d using (event_id)
             where d.delivered_at is null",
        )
        .fetch_one(&a.db)
        .await
        .unwrap();
        left == 0
    })
    .await;
    let got = receiver.got();
    assert_eq!(got.len(), count + 1, "each event exactly once");
    for (event, _) in &events {
        assert_eq!(receiver.of(&event.to_string()).len(), 1);
    }
    let deliveries: i64 = sqlx::query_scalar("select count(*) from webhook_delivery")
        .fetch_one(&a.db)
        .await
        .unwrap();
    assert_eq!(
        deliveries,
        count as i64 + 1,
        "one delivery row per event and target"
    );
    drop(b);
}

#[tokio::test]
async fn received_files_and_share_downloads_are_listed_with_an_unread_count() {
    let receiver = Receiver::start().await;
    let app = spawn(&args(&receiver.url), &[]).await;
    let (email, _) = app.signed_up_user().await;
    // A share link downloaded by a visitor.
    let file_id = uploaded(&app, "cut.mov", 2000).await;
    downloaded_through_a_link(&app, &file_id).await;
    // A file sent in through a request, with the sender's words.
    let (status, request) = app
        .json("/api/create_request", &[("title", "Rushes")])
        .await;
    assert_eq!(status, 200, "{request}");
    let request_token = token_after(&request, "/r/");
    let sender = app.other_browser();
    let gate = sender
        .client
        .post(sender.url(&format!("/r/{request_token}")))
        .form(&[("name", "Bo"), ("message", "Day 2")])
        .send()
        .await
        .unwrap();
    assert_eq!(gate.status(), 303);
    let sender = sender.with_header("haul-via", &request_token);
    uploaded(&sender, "day2.mov", 3000).await;

    let (status, user) = app.json("/api/me", &[]).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["unread"], 2, "{user}");
    let (_, listed) = app.json("/api/notifications", &[]).await;
    let texts: Vec<&str> = listed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Bo sent “day2.mov” (2.9 KiB) through your request “Rushes”.",
            "“cut.mov” was downloaded through a share link (1 download so far).",
        ]
    );
    assert_eq!(listed["events"][0]["message"], "Day 2");
    assert_eq!(listed["events"][0]["unread"], true);

    // The page shows them as new once, then they are read.
    let page = app.get("/notifications").await.text().await.unwrap();
    assert!(
        page.contains("Bo sent “day2.mov”") && page.contains(">New</span>"),
        "{page}"
    );
    let (_, user) = app.json("/api/me", &[]).await;
    assert_eq!(user["unread"], 0);
    let page = app.get("/notifications").await.text().await.unwrap();
    assert!(!page.contains(">New</span>"), "{page}");

    // The same events reached the site's webhook.
    let events = events_of(&app, &email).await;
    let kinds: Vec<&str> = events.iter().map(|(_, kind)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["upload.completed", "share.downloaded", "request.received"]
    );
    let (received, _) = events[2].clone();
    until("the request's event was delivered", || async {
        !receiver.of(&received.to_string()).is_empty()
    })
    .await;
    let body = receiver.of(&received.to_string())[0].json();
    assert_eq!(
        body["data"]["sender"],
        json!({"name": "Bo", "message": "Day 2"})
    );
    assert_eq!(body["data"]["request"]["title"], "Rushes");
    let (downloaded, _) = events[1].clone();
    until("the download's event was delivered", || async {
        !receiver.of(&downloaded.to_string()).is_empty()
    })
    .await;
    let body = receiver.of(&downloaded.to_string())[0].json();
    assert_eq!(body["data"]["share"]["downloads"], 1);
    assert_eq!(body["data"]["file"]["name"], "cut.mov");
}

#[tokio::test]
async fn a_webhook_inside_the_network_is_refused_unless_allowed() {
    let app = spawn_app_with(ARGS).await;
    app.signed_up_user().await;
    for (url, words) in [
        ("http://127.0.0.1:9/hook", "own machine or network"),
        (
            "http://169.254.169.254/latest/meta-data",
            "own machine or network",
        ),
        ("http://[::1]/hook", "own machine or network"),
        ("http://10.1.2.3/hook", "own machine or network"),
        ("http://localhost:8080/hook", "own machine or network"),
        ("ftp://example.com/hook", "https://"),
        ("not a url", "full URL"),
        ("https://user:pw@example.com/hook", "no user name"),
    ] {
        let (status, answer) = app.json("/api/set_webhook", &[("url", url)]).await;
        assert_eq!(status, 422, "{url}: {answer}");
        assert!(answer.to_string().contains(words), "{url}: {answer}");
    }
    let (_, hook) = app.json("/api/webhook", &[]).await;
    assert_eq!(hook, json!({"url": null, "secret": null}));
    // The page's form says the same next to the field, and keeps what was typed.
    let response = app
        .client
        .post(app.url("/notifications/webhook"))
        .form(&[("url", "http://192.168.1.5/in")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"value="http://192.168.1.5/in""#), "{page}");
    assert!(
        page.contains("does not send to addresses of its own machine"),
        "{page}"
    );
    // A public one is taken, from the page too.
    let response = app
        .client
        .post(app.url("/notifications/webhook"))
        .form(&[("url", "https://hooks.example.com/haul")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let (_, hook) = app.json("/api/webhook", &[]).await;
    assert_eq!(hook["url"], "https://hooks.example.com/haul");
}

#[tokio::test]
async fn every_notification_endpoint_checks_the_session_and_shows_only_the_callers_events() {
    let app = spawn_app_with(ARGS).await;
    let stranger = app.other_browser();
    for endpoint in [
        "/api/notifications",
        "/api/read_notifications",
        "/api/webhook",
        "/api/set_webhook",
    ] {
        let form: &[(&str, &str)] = if endpoint == "/api/set_webhook" {
            &[("url", "https://example.com/x")]
        } else {
            &[]
        };
        let (status, _) = stranger.json(endpoint, form).await;
        assert_eq!(status, 401, "{endpoint}");
    }
    for path in ["/notifications", "/admin/webhooks"] {
        let response = stranger.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
    }
    let response = stranger
        .client
        .post(stranger.url("/notifications/webhook"))
        .form(&[("url", "https://example.com/x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);

    // A's events are A's: B lists nothing, even from A's event id, and reads none of them.
    let (email, _) = app.signed_up_user().await;
    let (status, _) = app
        .json("/api/set_webhook", &[("url", "https://a.example.com/h")])
        .await;
    assert_eq!(status, 200);
    let file_id = uploaded(&app, "a.bin", 10).await;
    downloaded_through_a_link(&app, &file_id).await;
    let (a_event, _) = events_of(&app, &email).await[1].clone();

    let b = app.other_browser();
    b.signed_up_user().await;
    let (_, listed) = b.json("/api/notifications", &[]).await;
    assert_eq!(listed["events"], json!([]));
    let (_, listed) = b
        .json("/api/notifications", &[("before", &a_event.to_string())])
        .await;
    assert_eq!(listed["events"], json!([]));
    assert_eq!(
        b.json("/api/read_notifications", &[]).await,
        (200, json!(0))
    );
    assert_eq!(b.json("/api/webhook", &[]).await.1["url"], Value::Null);
    let page = b.get("/notifications").await.text().await.unwrap();
    assert!(
        !page.contains("a.bin") && !page.contains("a.example.com"),
        "{page}"
    );
    // A member is not an administrator.
    assert_eq!(b.get("/admin/webhooks").await.status(), 403);
    // A's event is still unread.
    let (_, user) = app.json("/api/me", &[]).await;
    assert_eq!(user["unread"], 1);
    let (status, bad) = app.json("/api/notifications", &[("before", "nope")]).await;
    assert_eq!(status, 422, "{bad}");
}

#[tokio::test]
async fn deliveries_still_due_follow_a_changed_webhook_and_end_with_a_removed_one() {
    let site = Receiver::start().await;
    let app = spawn(&args(&site.url), &["--webhook-allow-private", "true"]).await;
    let (email, _) = app.signed_up_user().await;
    // The user's receiver is down at first.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let down = format!("http://{}/hook", port.local_addr().unwrap());
    drop(port);
    assert_eq!(app.json("/api/set_webhook", &[("url", &down)]).await.0, 200);
    uploaded(&app, "first.bin", 10).await;
    let (first, _) = events_of(&app, &email).await[0].clone();
    let failed_to_user = |event: Uuid| {
        let db = app.db.clone();
        async move {
            let attempts: Option<i32> = sqlx::query_scalar(
                "select attempts from webhook_delivery where event_id = $1 and target = 'user'
                   and last_error is not null",
            )
            .bind(event)
            .fetch_optional(&db)
            .await
            .unwrap();
            attempts.is_some()
        }
    };
    until("the user's delivery failed once", || failed_to_user(first)).await;

    // A new URL: the due delivery goes there, signed with the new secret.
    let mine = Receiver::start().await;
    let (status, hook) = app.json("/api/set_webhook", &[("url", &mine.url)]).await;
    assert_eq!(status, 200, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    until("the new receiver got the due event", || async {
        !mine.of(&first.to_string()).is_empty()
    })
    .await;
    assert!(mine.of(&first.to_string())[0].verifies_with(&secret));

    // Back to a receiver that is down, then removed: the due delivery is given up, in words.
    assert_eq!(app.json("/api/set_webhook", &[("url", &down)]).await.0, 200);
    uploaded(&app, "second.bin", 10).await;
    let (second, _) = events_of(&app, &email).await[1].clone();
    until("the second delivery failed once", || failed_to_user(second)).await;
    assert_eq!(app.json("/api/set_webhook", &[("url", "")]).await.0, 200);
    let (gave_up, error): (Option<time::OffsetDateTime>, Option<String>) = sqlx::query_as(
        "select gave_up_at, last_error from webhook_delivery where event_id = $1 and target = 'user'",
    )
    .bind(second)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(gave_up.is_some());
    assert_eq!(
        error.as_deref(),
        Some("The webhook was removed before this was delivered.")
    );
    // The site's receiver got both, whatever the user did.
    until("the site got both", || async {
        !site.of(&first.to_string()).is_empty() && !site.of(&second.to_string()).is_empty()
    })
    .await;
}
