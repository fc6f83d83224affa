//! Admission to the API past capacity. At most `concurrency` API calls run at once; a call
//! that finds none free waits up to `wait` for one, then is answered `503` with `Retry-After`
//! at once, rather than queueing for a database connection until it times out (which answers
//! 500 after seconds, and keeps every other call waiting behind it). The browser engine and
//! the `haul` command line retry a 503 after a pause, so a shed call costs a client a moment,
//! never its upload. Pages, the bundle and health checks are not counted: they do not queue
//! on the database the way the API does under load.

use std::{collections::HashSet, sync::Arc, time::Duration};

use app::backend::metrics::Metrics;
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::Semaphore;

/// The limit and its wait, shared by every connection of this server.
#[derive(Clone)]
pub struct Admission {
    permits: Arc<Semaphore>,
    wait: Duration,
    metrics: Metrics,
    /// The server functions' paths: a shed call is counted under its endpoint only when it is
    /// one of these (any other path would make a new series of the counter for each).
    endpoints: Arc<HashSet<&'static str>>,
}

impl Admission {
    pub fn new(concurrency: usize, wait: Duration, metrics: Metrics) -> Self {
        let endpoints = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path)
            .collect();
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
            metrics,
            endpoints: Arc::new(endpoints),
        }
    }
}

/// The seconds a shed client is asked to wait: enough for the calls ahead of it to drain.
const RETRY_AFTER_SECS: u64 = 1;

/// Admits an API call when a slot frees within the wait; answers 503 otherwise.
pub async fn admit(State(admission): State<Admission>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let permits = admission.permits.clone();
    let permit = match permits.clone().try_acquire_owned() {
        Ok(permit) => Some(permit),
        Err(_) => tokio::time::timeout(admission.wait, permits.acquire_owned())
            .await
            .ok()
            .and_then(Result::ok),
    };
    match permit {
        Some(permit) => {
            let response = next.run(request).await;
            drop(permit);
            response
        }
        None => {
            let path = request.uri().path();
            let endpoint = if admission.endpoints.contains(path) {
                path.trim_start_matches("/api/")
            } else {
                "other"
            };
            admission
                .metrics
                .count("haul_requests_shed_total", &[("endpoint", endpoint)], 1);
            busy()
        }
    }
}

/// 503 with Retry-After, and the app's own error (`AppError::Unavailable`) as the body, so the
/// browser and the command line show these words and retry.
fn busy() -> Response {
    let body = serde_json::json!({
        "Unavailable": "The server is busy right now; trying again in a moment."
    });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}
