//! What every request shares: settings, the database pool, the storage client, the sign-in
//! rate limiter and the turns for password hashing.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;

use super::{config::Config, metrics::Metrics, rate_limit::RateLimiter, storage::Storage};

/// Everything a request may need, built once at start and cloned cheaply per request.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: PgPool,
    pub storage: Storage,
    pub config: Arc<Config>,
    pub rate_limiter: Arc<RateLimiter>,
    /// Turns for password hashing (argon2 holds 19 MiB a run): bounds memory under a burst.
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// What /metrics shows.
    pub metrics: Metrics,
}
