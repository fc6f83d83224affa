//! The HTTP surface: pages, server functions, static files and health checks.

use std::time::Duration;

use crate::security;
use app::{backend::state::AppState, error::AppError, shell, App, StorageOrigin};
use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use serde_json::json;
use tower_http::{catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer, trace::TraceLayer};
use tower_sessions::SessionManagerLayer;
use tower_sessions_sqlx_store::PostgresStore;

/// Server functions take small JSON or form bodies; file bytes never come through here.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The whole app, built the same way for the binary and for tests.
pub fn router(state: AppState, sessions: SessionManagerLayer<PostgresStore>) -> Router {
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let origin = state.config.public_origin.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || {
                    provide_context(StorageOrigin(state.config.storage_origin.clone()));
                    provide_context(state.clone());
                }
            },
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn(error_status))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            origin,
            security::reject_cross_site,
        ))
        .layer(middleware::from_fn(security::security_headers))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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

async fn within(
    what: &str,
    check: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    tokio::time::timeout(READY_WAIT, check)
        .await
        .unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "{what} did not answer within {READY_WAIT:?}"
            ))
        })
}

/// Server functions answer every error with 500; give each the status its kind deserves
/// (401, 403, 404, 422, 429, 400), so API clients can tell bad input from a server fault.
async fn error_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}
