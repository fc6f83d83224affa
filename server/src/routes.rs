//! The HTTP surface: pages, server functions, static files and health checks.

use std::time::Duration;

use crate::{notification_pages, request_pages, security, share_pages, token_pages};
use app::{
    backend::{session_store::Sessions, state::AppState},
    shell, App, StorageOrigin,
};
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{
    generate_route_list_with_exclusions, render_app_async_with_context, LeptosRoutes,
};
use serde_json::json;
use tower_http::{
    catch_panic::CatchPanicLayer, compression::CompressionLayer, services::ServeDir,
    trace::TraceLayer,
};
use tower_sessions::SessionManagerLayer;

/// The whole app, built the same way for the binary and for tests.
pub fn router(
    state: AppState,
    sessions: SessionManagerLayer<Sessions>,
    bodies: security::BodyLimits,
) -> Router {
    // The app's `/r/*rest` route is served at `/r/{token}/send` only: under /r/ the server's
    // own pages answer the rest, and the router takes no catch-all beside them.
    let routes = generate_route_list_with_exclusions(App, Some(vec![SEND_PAGE_ROUTE.to_owned()]));
    let leptos_options = state.leptos_options.clone();
    // The bundle (wasm, JS, CSS), with Last-Modified and 304 answers to revalidation, sent
    // as the brotli or gzip copy made at build time (scripts/precompress.mjs) when there is
    // one; the compression layer leaves those alone.
    let bundle = ServeDir::new(format!(
        "{}/{}",
        leptos_options.site_root, leptos_options.site_pkg_dir
    ))
    .precompressed_br()
    .precompressed_gzip();
    let origin = state.config.public_origin.clone();
    let admission = crate::admission::Admission::new(
        state.config.api_concurrency,
        state.config.api_wait,
        state.metrics.clone(),
    );
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(public_metrics))
        .nest_service("/pkg", bundle)
        // Share links' and upload requests' pages: plain HTML, no bundle.
        .merge(share_pages::routes())
        .merge(request_pages::routes())
        .merge(notification_pages::routes())
        .merge(token_pages::routes())
        .route("/r/{token}/send", get(send_page))
        .leptos_routes_with_context(&state, routes, app_context(&state), move || {
            shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_pages::guard_send_page,
        ))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            origin,
            security::reject_cross_site,
        ))
        .layer(middleware::from_fn(cache_headers))
        // Pages, JSON and the bundle (wasm, JS, CSS) go out compressed to browsers that take
        // brotli or gzip; file bytes never pass through here.
        .layer(CompressionLayer::new())
        // Past capacity an API call is answered 503 at once, before its session or any
        // database work (a body is read first: a slow client holds no slot meanwhile).
        .layer(middleware::from_fn_with_state(
            admission,
            crate::admission::admit,
        ))
        .layer(middleware::from_fn_with_state(
            bodies,
            security::read_body_within,
        ))
        .layer(CatchPanicLayer::new())
        // Outermost but for tracing: every answer above, early ones (413, 408, a panic's
        // 500) included, carries the security headers.
        .layer(middleware::from_fn(security::security_headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The Leptos route that `router` registers itself, as Axum writes it.
const SEND_PAGE_ROUTE: &str = "/r/{*rest}";

/// What the app's pages find in their context on the server.
fn app_context(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let state = state.clone();
    move || {
        provide_context(StorageOrigin(state.config.storage_origin.clone()));
        provide_context(state.clone());
    }
}

/// `/r/{token}/send`: the app's page for an upload request's visitor, rendered as
/// `leptos_routes` renders the others (async, with the same context).
async fn send_page(State(state): State<AppState>, request: Request) -> Response {
    let options = state.leptos_options.clone();
    let context = app_context(&state);
    let render = render_app_async_with_context(
        move || {
            provide_context(leptos_router::Method::Get);
            context();
        },
        move || shell(options.clone()),
    );
    render(request).await
}

/// The metrics alone, for `HAUL_METRICS_ADDR`: a private address (the token, when set, is
/// asked for there too).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(private_metrics))
        .layer(middleware::from_fn(security::security_headers))
        .with_state(state)
}

/// /metrics on the public address: only with `HAUL_METRICS_TOKEN`, and only to a request
/// that carries it; without one set, there is no such page (404).
async fn public_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match state.config.metrics_token.as_deref() {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(token) => metrics_with(&state, &headers, token),
    }
}

async fn private_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match state.config.metrics_token.as_deref() {
        None => metrics_text(&state),
        Some(token) => metrics_with(&state, &headers, token),
    }
}

fn metrics_with(state: &AppState, headers: &HeaderMap, token: &str) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if same_secret(given.as_bytes(), token.as_bytes()) {
        metrics_text(state)
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response()
    }
}

/// Compares in time that does not depend on where the first difference is.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// The metrics, with the database pool sampled now.
fn metrics_text(state: &AppState) -> Response {
    let (size, idle) = (state.db.size(), state.db.num_idle());
    let pool = |s: &'static str, n: f64| {
        state
            .metrics
            .set("haul_db_pool_connections", &[("state", s)], n)
    };
    pool("idle", idle as f64);
    pool("in_use", f64::from(size).max(idle as f64) - idle as f64);
    state.metrics.set(
        "haul_db_pool_max_connections",
        &[],
        f64::from(state.db.options().get_max_connections()),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// How long browsers may keep what they got. A fingerprinted bundle file (`haul.<hash>.*`,
/// made by scripts/precompress.mjs) never changes under its name: kept a year. Other files
/// under /pkg/ keep their names from one build to the next, so they are revalidated (ServeDir
/// answers 304 when unchanged); pages and answers are always asked for again.
async fn cache_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let policy = match path.strip_prefix("/pkg/") {
        Some(file) if fingerprinted(file) => "public, max-age=31536000, immutable",
        Some(_) => "public, no-cache",
        None => "no-cache",
    };
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static(policy),
        );
    }
    response
}

/// `haul.<16 hex digits>.<ext>`.
fn fingerprinted(file: &str) -> bool {
    let mut parts = file.splitn(3, '.');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(_), Some(hash), Some(_)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    )
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// How long readiness waits for each dependency: a load balancer's probe must get an answer
/// (503 naming what is down) even when S3 or PostgreSQL hangs.
const READY_WAIT: Duration = Duration::from_millis(1500);

/// The database and the bucket answer: ready for traffic.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (db, storage) = tokio::join!(
        within("the database", app::backend::db::ping(&state.db)),
        within("the storage", state.storage.check_bucket())
    );
    let status = if db.is_ok() && storage.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    for error in [&db, &storage].into_iter().filter_map(|r| r.as_ref().err()) {
        tracing::warn!(error = format!("{error:#}"), "readiness check failed");
    }
    let verdict = |r: &anyhow::Result<()>| if r.is_ok() { "ok" } else { "unavailable" };
    (
        status,
        Json(json!({ "database": verdict(&db), "storage": verdict(&storage) })),
    )
}

async fn within<E: Into<anyhow::Error>>(
    what: &str,
    check: impl std::future::Future<Output = Result<(), E>>,
) -> anyhow::Result<()> {
    tokio::time::timeout(READY_WAIT, check)
        .await
        .map(|answer| answer.map_err(Into::into))
        .unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "{what} did not answer within {READY_WAIT:?}"
            ))
        })
}
