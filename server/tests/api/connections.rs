//! What a client may hold: unfinished requests and idle connections are closed after their
//! timeouts, the connection cap makes room by closing idle connections and refuses cleanly
//! when every connection is busy, and every early answer carries the security headers.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{header, spawn_app_with, TestApp};

/// How long a test waits for something the server should do within a second or two.
const BOUND: Duration = Duration::from_secs(10);

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection (within `BOUND`); what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut answer))
        .await
        .expect("the server closed the connection")
        .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

/// The value of a gauge in the app's private metrics.
async fn gauge(app: &TestApp, name: &str) -> f64 {
    let url = format!("{}/metrics", app.metrics_address.as_deref().unwrap());
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Waits (within `BOUND`) until the gauge `name` reads `value`.
async fn until_gauge(app: &TestApp, name: &str, value: f64) {
    let deadline = Instant::now() + BOUND;
    while gauge(app, name).await != value {
        assert!(Instant::now() < deadline, "{name} never reached {value}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A GET with a fresh connection, which must answer within a second.
async fn get_within_a_second(app: &TestApp, path: &str) -> reqwest::Response {
    let client = reqwest::Client::new();
    tokio::time::timeout(Duration::from_secs(1), client.get(app.url(path)).send())
        .await
        .unwrap_or_else(|_| panic!("GET {path} did not answer within a second"))
        .unwrap()
}

fn assert_security_headers(what: &str, head: &str) {
    let head = head.to_ascii_lowercase();
    for header in [
        "x-content-type-options: nosniff",
        "x-frame-options: deny",
        "referrer-policy: same-origin",
        "frame-ancestors 'none'",
    ] {
        assert!(head.contains(header), "{what} lacks {header}:\n{head}");
    }
}

#[tokio::test]
async fn requests_that_send_half_their_headers_are_dropped_after_the_header_timeout() {
    let app = spawn_app_with(&["--header-timeout", "1", "--idle-timeout", "60"]).await;
    let started = Instant::now();
    let mut streams = Vec::new();
    for _ in 0..15 {
        let mut stream = connect(&app).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: haul\r\nX-Slow: ")
            .await
            .unwrap();
        streams.push(stream);
    }
    for stream in &mut streams {
        assert_eq!(read_until_closed(stream).await, "");
    }
    // Closed by the header timeout (1 s), not the idle one (60 s).
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn connections_idle_past_the_idle_timeout_are_closed_silent_or_after_a_request() {
    let app = spawn_app_with(&["--idle-timeout", "1", "--header-timeout", "60"]).await;
    // Never sends anything.
    let mut silent = connect(&app).await;
    // Sends one whole request, then keeps the connection.
    let mut kept = connect(&app).await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: haul\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_until_closed(&mut silent).await, "");
    let answer = read_until_closed(&mut kept).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// A client that reads `Keep-Alive` (Node's fetch) learns how long this end keeps an idle
/// connection, a second short of it, and keeps its own no longer: a request sent as the server
/// closes the connection fails (a POST is not retried).
#[tokio::test]
async fn answers_say_how_long_an_idle_connection_is_kept() {
    let app = spawn_app_with(&["--idle-timeout", "75"]).await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(header(&response, "keep-alive"), "timeout=74");
    let app = spawn_app_with(&["--idle-timeout", "1"]).await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(header(&response, "keep-alive"), "timeout=1");
}

#[tokio::test]
async fn at_the_cap_idle_connections_make_room_for_new_requests() {
    let app = spawn_app_with(&["--max-connections", "20", "--metrics-addr", "127.0.0.1:0"]).await;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(connect(&app).await);
    }
    until_gauge(&app, "haul_http_connections_open", 20.0).await;

    assert_eq!(get_within_a_second(&app, "/healthz").await.status(), 200);
    let page = get_within_a_second(&app, "/signin").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Sign in"));
    // The idlest held connections were closed to make room; never more than the cap are open.
    assert!(gauge(&app, "haul_http_connections_open").await <= 20.0);
    let mut closed = 0;
    for stream in &mut held {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(100), stream.read(&mut byte)).await
        {
            closed += 1;
        }
    }
    assert!(closed >= 1, "no idle connection was closed to make room");
}

/// A sign-in whose body never all arrives: a request in progress until the body timeout.
const UNFINISHED_POST: &[u8] = b"POST /api/sign_in HTTP/1.1\r\nHost: haul\r\n\
    Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=a";

#[tokio::test]
async fn past_the_cap_with_every_connection_busy_a_new_one_gets_a_503_then_the_server_recovers() {
    let app = spawn_app_with(&[
        "--max-connections",
        "4",
        "--body-timeout",
        "3",
        "--metrics-addr",
        "127.0.0.1:0",
    ])
    .await;
    let mut busy = Vec::new();
    for _ in 0..4 {
        let mut stream = connect(&app).await;
        stream.write_all(UNFINISHED_POST).await.unwrap();
        busy.push(stream);
    }
    until_gauge(&app, "haul_http_requests_in_progress", 4.0).await;

    let mut refused = connect(&app).await;
    refused
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: haul\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut refused).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("Too many connections"), "{answer}");
    assert_security_headers("the refusal", &answer);

    // The unfinished bodies time out: 408, connection closed.
    for stream in &mut busy {
        let answer = read_until_closed(stream).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("did not arrive within 3 s"), "{answer}");
        assert_security_headers("the body timeout", &answer);
    }
    // And the server takes new connections again by itself.
    assert_eq!(get_within_a_second(&app, "/healthz").await.status(), 200);
}

#[tokio::test]
async fn every_early_answer_carries_the_security_headers() {
    let app = spawn_app_with(&[]).await;
    let head = |response: &reqwest::Response| {
        let mut text = format!("{}\n", response.status());
        for (name, value) in response.headers() {
            text.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or_default()));
        }
        text
    };
    // On a client of its own: the server answers before the body is all sent and closes the
    // connection, and the other requests should not share a pool with that exchange.
    let too_large = reqwest::Client::new()
        .post(app.url("/api/sign_in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), 413);
    assert_security_headers("413", &head(&too_large));

    let wrong_method = app.client.post(app.url("/healthz")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_security_headers("405", &head(&wrong_method));

    for path in [
        "/no-such-page",
        "/pkg/no-such-file.js",
        "/api/no_such_function",
    ] {
        let missing = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(missing.status(), 404, "{path}");
        assert_security_headers(path, &head(&missing));
    }
}
