//! /metrics: what an operator scrapes. Never public without its token; after one upload it
//! shows that upload in its counters and histograms.

use crate::{
    helpers::{spawn_app_with, test_bytes},
    upload::ARGS,
};

async fn scrape(url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The value of the sample whose line starts with `series ` (name and labels as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_are_not_public_without_a_token_and_refuse_a_wrong_one() {
    let app = spawn_app_with(ARGS).await;
    assert_eq!(scrape(&app.url("/metrics"), None).await.0, 404);

    let mut args = ARGS.to_vec();
    args.extend(["--metrics-token", "s3cret-token"]);
    let app = spawn_app_with(&args).await;
    let url = app.url("/metrics");
    assert_eq!(scrape(&url, None).await.0, 401);
    assert_eq!(scrape(&url, Some("s3cret-tokem")).await.0, 401);
    assert_eq!(scrape(&url, Some("s3cret-token-")).await.0, 401);
    let (status, text) = scrape(&url, Some("s3cret-token")).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("haul_db_pool_connections{state=\"idle\"}"),
        "{text}"
    );
}

#[tokio::test]
async fn after_one_upload_the_private_address_shows_its_counters() {
    let mut args = ARGS.to_vec();
    args.extend(["--metrics-addr", "127.0.0.1:0"]);
    let app = spawn_app_with(&args).await;
    // Only on the private address: the public one has no token, so no /metrics.
    assert_eq!(scrape(&app.url("/metrics"), None).await.0, 404);
    let (email, _) = app.signed_up_user().await;
    app.sign_out().await;
    assert_eq!(app.sign_in(&email, "wrong password!").await.status(), 401);
    assert_eq!(
        app.sign_in(&email, "correct horse battery staple")
            .await
            .status(),
        200
    );
    let bytes = test_bytes(12 * 1024 * 1024, 40);
    app.upload_file("counted.bin", &bytes).await;

    let url = format!("{}/metrics", app.metrics_address.as_deref().unwrap());
    let (status, text) = scrape(&url, None).await;
    assert_eq!(status, 200, "{text}");
    for (series, value) in [
        ("haul_uploads_started_total", 1.0),
        ("haul_uploads_completed_total", 1.0),
        ("haul_upload_bytes_completed_total", bytes.len() as f64),
        ("haul_sign_ins_total{outcome=\"ok\"}", 1.0),
        ("haul_sign_ins_total{outcome=\"failed\"}", 1.0),
        (
            "haul_request_duration_seconds_count{function=\"start_upload\"}",
            1.0,
        ),
        (
            "haul_request_duration_seconds_count{function=\"sign_parts\"}",
            1.0,
        ),
        (
            "haul_request_duration_seconds_count{function=\"complete_upload\"}",
            1.0,
        ),
        (
            "haul_s3_requests_total{operation=\"CompleteMultipartUpload\",outcome=\"ok\"}",
            1.0,
        ),
        (
            "haul_s3_requests_total{operation=\"CreateMultipartUpload\",outcome=\"ok\"}",
            1.0,
        ),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series} in:\n{text}");
    }
    assert!(
        sample(
            &text,
            "haul_s3_request_duration_seconds_count{operation=\"HeadObject\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(sample(&text, "haul_db_pool_max_connections").is_some_and(|n| n > 0.0));
}
