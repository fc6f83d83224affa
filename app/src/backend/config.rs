//! The settings the domain needs at run time, filled in by the server from its own settings.

use std::time::Duration;

/// Runtime settings the domain needs (the server's clap settings turn into this).
#[derive(Debug, Clone)]
pub struct Config {
    /// scheme://host[:port] that browsers use; cross-site requests are checked against it.
    pub public_origin: String,
    /// scheme://host[:port] of the S3 endpoint as browsers reach it (pre-signed URLs).
    pub storage_origin: String,
    /// Quota a new account gets, in bytes.
    pub default_quota: u64,
    /// Largest file accepted, in bytes.
    pub max_file_size: u64,
    /// Smallest part of a multipart upload (larger files get larger parts).
    pub part_size: u64,
    /// How long a pre-signed URL works.
    pub url_ttl: Duration,
    /// A session ends after this long without a request...
    pub session_idle: Duration,
    /// ...and this long after sign-in, whatever happens.
    pub session_lifetime: Duration,
    /// Sign-in and sign-up attempts allowed per client IP in `rate_window`.
    pub rate_limit_per_ip: u32,
    /// Sign-in attempts allowed per account (email) in `rate_window`.
    pub rate_limit_per_account: u32,
    pub rate_window: Duration,
    /// Take the client IP from X-Forwarded-For (only behind a proxy that sets it).
    pub trust_proxy: bool,
    /// An upload still in progress this long after it began is aborted by the sweeper.
    pub upload_ttl: Duration,
    /// How long a claim on a file (completing, aborting, deleting it) lasts without a
    /// heartbeat: how long a killed app server can block one of its files.
    pub lease: Duration,
    /// /metrics answers requests with `Authorization: Bearer <token>`; None: not on the
    /// public address.
    pub metrics_token: Option<String>,
    /// The longest a share link or an upload request may last (HAUL_SHARE_MAX_TTL).
    pub share_max_ttl: Duration,
    /// Uploads a visitor of an upload request may start per address in `rate_window` (ten
    /// times as many per request; fifty times as many part-signing calls).
    pub request_starts_per_ip: u32,
    /// Requests one API token may make in `rate_window`.
    pub token_requests: u32,
    /// Every event is also posted here (HAUL_WEBHOOK_URL), signed with `webhook_secret`.
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    /// Users' own webhooks may be addresses of this machine or its network.
    pub webhook_allow_private: bool,
    /// The wait after a delivery's first failure (doubled after each next one, at most an
    /// hour), and how long after the event deliveries are retried.
    pub webhook_retry: Duration,
    pub webhook_retry_for: Duration,
    /// What the store checks each part against (HAUL_S3_CHECKSUM, resolved at start).
    pub integrity: crate::model::Integrity,
    /// API calls one app server runs at once; past it a call waits up to `api_wait` for a
    /// slot, then is answered 503 with Retry-After (HAUL_API_CONCURRENCY, HAUL_API_WAIT).
    pub api_concurrency: usize,
    pub api_wait: Duration,
}

impl Config {
    /// Cookies are Secure when the app is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_origin.starts_with("https://")
    }
}
