//! Building the application from settings: listener, database, object store, router.

use std::{future::Future, net::SocketAddr, str::FromStr, sync::Arc, time::Duration};

use anyhow::Context;
use app::backend::{
    config::Config,
    db,
    metrics::Metrics,
    rate_limit::RateLimiter,
    session_store::Sessions,
    state::AppState,
    storage::{S3Credentials, S3Settings, Storage},
    sweeper,
};
use leptos::prelude::LeptosOptions;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    Connection, PgConnection, PgPool,
};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_sessions::{
    cookie::SameSite, session_store::ExpiredDeletion, Expiry, SessionManagerLayer,
};

use crate::{
    local_stack::{LocalPostgres, LocalS3, LocalStack},
    routes::router,
    security::BodyLimits,
    serve,
    settings::{ChecksumSetting, Settings},
};
use app::model::Integrity;

/// Name of the database inside the embedded cluster.
const LOCAL_DATABASE: &str = "haul";

pub struct Application {
    listener: TcpListener,
    /// HAUL_METRICS_ADDR's listener, when set.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    sessions: SessionManagerLayer<Sessions>,
    session_sweeper: JoinHandle<()>,
    upload_sweeper: JoinHandle<()>,
    webhook_sender: JoinHandle<()>,
    stack: LocalStack,
    connections: serve::Limits,
    bodies: BodyLimits,
}

impl Application {
    /// Binds the port first (so a taken port fails before anything starts), then connects to
    /// or starts the database and the object store.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let site_webhook = settings.site_webhook()?;
        let listener = TcpListener::bind(settings.addr).await.with_context(|| {
            format!(
                "cannot listen on {} (HAUL_ADDR): is the port already taken?",
                settings.addr
            )
        })?;
        let metrics_listener = bind_metrics(settings).await?;
        let origin = settings.public_origin(listener.local_addr()?)?;
        let mut stack = LocalStack::default();
        let db = connect_database(settings, &mut stack).await?;
        db::migrate(&db).await?;
        let metrics = Metrics::new();
        let storage = connect_storage(settings, &origin, &mut stack)
            .await?
            .with_metrics(metrics.clone());
        let probed = if settings.s3_probe {
            crate::storage_check::at_start(
                &storage,
                &origin,
                Duration::from_secs(20),
                settings.s3_checksum,
            )
            .await
        } else {
            None
        };
        let integrity = integrity(settings.s3_checksum, probed.as_ref());
        let config = domain_config(
            settings,
            origin,
            storage.browser_origin().await?,
            integrity,
            site_webhook,
        );
        let (sessions, session_sweeper) = session_layer(&db, &config)?;
        let state = AppState {
            leptos_options: {
                let options = leptos_options(listener.local_addr()?);
                remove_stale_precompressed(&options);
                options
            },
            db,
            storage,
            rate_limiter: Arc::new(RateLimiter::new(config.rate_window)),
            hashing: Arc::new(tokio::sync::Semaphore::new(settings.hash_concurrency())),
            metrics,
            config: Arc::new(config),
        };
        let upload_sweeper = sweeper::spawn(
            state.clone(),
            sweeper::Sweep {
                upload_ttl: settings.upload_ttl,
                grace: settings.url_ttl,
            },
            settings.sweep_interval.max(Duration::from_secs(1)),
        );
        let webhook_sender = crate::webhooks::spawn(state.clone());
        Ok(Self {
            listener,
            metrics_listener,
            state,
            sessions,
            session_sweeper,
            upload_sweeper,
            webhook_sender,
            stack,
            connections: connection_limits(settings),
            bodies: settings.body_limits(),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where /metrics is served privately (HAUL_METRICS_ADDR), if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, lets in-flight requests finish, then stops the
    /// embedded stack.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            metrics_listener,
            state,
            sessions,
            session_sweeper,
            upload_sweeper,
            webhook_sender,
            mut stack,
            connections,
            bodies,
        } = self;
        let db = state.db.clone();
        let metrics = state.metrics.clone();
        let metrics_server = metrics_listener.map(|listener| {
            let app = crate::routes::metrics_router(state.clone());
            tokio::spawn(serve::serve(
                listener,
                app,
                connections,
                None,
                std::future::pending(),
            ))
        });
        let app = router(state, sessions, bodies);
        let served = serve::serve(listener, app, connections, Some(metrics), shutdown)
            .await
            .context("serving HTTP");
        session_sweeper.abort();
        upload_sweeper.abort();
        webhook_sender.abort();
        if let Some(server) = metrics_server {
            server.abort();
        }
        db.close().await;
        tokio::task::spawn_blocking(move || stack.stop())
            .await
            .context("stopping the local stack")?;
        served
    }
}

/// The connection bounds, with the open-file limit raised as far as allowed (and the cap
/// lowered to fit it).
fn connection_limits(settings: &Settings) -> serve::Limits {
    let open_files = serve::raise_open_file_limit().unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot read the open-file limit");
        1024
    });
    let limits = settings.connection_limits(open_files);
    if limits.max_connections < settings.max_connections as usize {
        tracing::warn!(
            open_files,
            max_connections = limits.max_connections,
            "the open-file limit holds fewer connections than HAUL_MAX_CONNECTIONS: raise it (ulimit -n, LimitNOFILE)"
        );
    }
    limits
}

/// Sessions in PostgreSQL (their own schema, migration 0014), with a task that deletes
/// expired ones every minute.
fn session_layer(
    db: &PgPool,
    config: &Config,
) -> anyhow::Result<(SessionManagerLayer<Sessions>, JoinHandle<()>)> {
    let store = Sessions::new(db.clone());
    let sweeper = tokio::spawn({
        let store = store.clone();
        async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                if let Err(error) = store.delete_expired().await {
                    tracing::warn!(%error, "deleting expired sessions failed; trying again in a minute");
                }
            }
        }
    });
    let idle =
        time::Duration::try_from(config.session_idle).context("HAUL_SESSION_IDLE is too long")?;
    let layer = SessionManagerLayer::new(store)
        .with_name("haul_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(idle));
    Ok((layer, sweeper))
}

pub async fn connect_database(
    settings: &Settings,
    stack: &mut LocalStack,
) -> anyhow::Result<PgPool> {
    let options = match &settings.database_url {
        Some(url) => {
            // sqlx's parse errors can quote the URL, password included: say only what is wrong.
            let options = PgConnectOptions::from_str(url).map_err(|_| {
                anyhow::anyhow!(
                    "DATABASE_URL is not a valid PostgreSQL URL (postgres://user:password@host:port/database)"
                )
            })?;
            // One connection first: a pool would only report "timed out" for any failure.
            let probe = tokio::time::timeout(
                Duration::from_secs(10),
                PgConnection::connect_with(&options),
            )
            .await
            .map_err(|_| {
                anyhow::anyhow!("the database at DATABASE_URL did not answer within 10 s")
            })?
            .context("cannot connect to the database at DATABASE_URL")?;
            let _ = probe.close().await;
            options
        }
        None => {
            tracing::info!(data_dir = %settings.data_dir.display(), "starting the embedded PostgreSQL");
            let postgres = LocalPostgres::start(
                &settings.data_dir,
                settings.postgres_bin_dir.as_deref(),
                true,
            )
            .await
            .context("starting the embedded PostgreSQL (or set DATABASE_URL)")?;
            postgres.create_database(LOCAL_DATABASE).await?;
            let options = postgres.connect_options(LOCAL_DATABASE);
            stack.postgres = Some(postgres);
            options
        }
    };
    PgPoolOptions::new()
        .max_connections(settings.db_pool)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .context("connecting to the database")
}

/// The storage the settings name; with none, the embedded store, started into `stack`.
pub async fn connect_storage(
    settings: &Settings,
    origin: &str,
    stack: &mut LocalStack,
) -> anyhow::Result<Storage> {
    if settings.uses_external_s3() {
        let s3 = settings.external_s3().await?;
        let storage = Storage::new(&s3);
        if matches!(s3.credentials, S3Credentials::Provider(_)) {
            storage.check_credentials().await.context(
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and the AWS default \
                 credential chain (profile, web identity, ECS task role, EC2 instance profile) \
                 gave none",
            )?;
        }
        if settings.s3_setup_bucket {
            set_up_external_bucket(&storage, origin).await?;
        }
        check_external_bucket(&storage, &s3).await?;
        return Ok(storage);
    }
    let public_endpoint = settings.s3_public_endpoint()?;
    tracing::info!(data_dir = %settings.data_dir.display(), "starting the embedded S3 store");
    let local = LocalS3::start(
        &settings.data_dir,
        settings.weed_bin.as_deref(),
        settings.local_s3_port,
    )
    .await
    .context("starting the embedded S3 store (or set HAUL_S3_ENDPOINT)")?;
    let storage = Storage::new(&S3Settings {
        timeouts: settings.s3_timeouts(),
        public_endpoint,
        ..local.settings(&settings.bucket())
    });
    storage
        .ensure_bucket(origin)
        .await
        .context("setting up the bucket in the embedded S3 store")?;
    tracing::info!(endpoint = local.endpoint(), "embedded S3 store ready");
    stack.s3 = Some(local);
    Ok(storage)
}

/// HAUL_S3_SETUP_BUCKET on a store Haul does not own: the bucket must be there, but a store
/// that refuses to set CORS or lifecycle rules (MinIO has no per-bucket CORS; some stores
/// refuse the checksum headers the SDK adds) only gets a warning naming what to set instead.
/// A store that does not answer still stops the start.
async fn set_up_external_bucket(storage: &Storage, origin: &str) -> anyhow::Result<()> {
    storage
        .create_bucket_if_missing()
        .await
        .context("setting up the bucket (HAUL_S3_SETUP_BUCKET)")?;
    if let Err(error) = storage.set_cors(origin).await {
        if !refused_by_the_store(&error) {
            return Err(error.context("setting up the bucket (HAUL_S3_SETUP_BUCKET)"));
        }
        tracing::warn!(
            "the store refuses to set the bucket's CORS rule (HAUL_S3_SETUP_BUCKET): {error:#}. \
             Browsers at {origin} can upload only if the store allows them itself: set its own \
             setting (MinIO: MINIO_API_CORS_ALLOW_ORIGIN={origin}) or the README's cors.json \
             with the store's tools; the storage probe below says whether it works"
        );
    }
    if let Err(error) = storage.set_lifecycle().await {
        if !refused_by_the_store(&error) {
            return Err(error.context("setting up the bucket (HAUL_S3_SETUP_BUCKET)"));
        }
        tracing::warn!(
            "the store refuses to set the bucket's lifecycle rule (HAUL_S3_SETUP_BUCKET): \
             {error:#}. Abandoned uploads are aborted by Haul's sweeper only: set the store's \
             own expiry of incomplete uploads (MinIO: stale_uploads_expiry)"
        );
    }
    Ok(())
}

/// Whether a setup error is the store's answer (a refusal) rather than no answer at all.
fn refused_by_the_store(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    ![
        "dispatch failure",
        "timeout",
        "timed out",
        "io error",
        "connection",
    ]
    .iter()
    .any(|sign| text.to_ascii_lowercase().contains(sign))
}

async fn check_external_bucket(storage: &Storage, s3: &S3Settings) -> anyhow::Result<()> {
    let endpoint = s3.endpoint.as_deref().unwrap_or("AWS");
    match tokio::time::timeout(Duration::from_secs(20), storage.check_bucket()).await {
        Ok(answer) => answer.with_context(|| {
            format!(
                "cannot use bucket {:?} at {endpoint}: check HAUL_S3_ENDPOINT, HAUL_S3_BUCKET and the AWS_* credentials",
                s3.bucket
            )
        }),
        Err(_) => anyhow::bail!(
            "the S3 endpoint {endpoint} did not answer within 20 s: check HAUL_S3_ENDPOINT"
        ),
    }
}

/// Leptos's options: cargo-leptos passes them in LEPTOS_* variables at build or run time; a
/// plain `cargo build` (tests) falls back to the workspace defaults.
/// HAUL_METRICS_ADDR's listener, when set.
async fn bind_metrics(settings: &Settings) -> anyhow::Result<Option<TcpListener>> {
    let Some(addr) = settings.metrics_addr else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (HAUL_METRICS_ADDR): is the port already taken?")
    })?;
    Ok(Some(listener))
}

/// What the domain needs of the settings.
/// What uploads are checked with: HAUL_S3_CHECKSUM, or for `auto` what the probe found the
/// store enforces, or SHA-256 (AWS, R2, MinIO, Garage, Ceph, SeaweedFS) when it did not run.
fn integrity(
    setting: ChecksumSetting,
    probed: Option<&crate::storage_check::Findings>,
) -> Integrity {
    let (integrity, why) = match (setting.fixed(), probed) {
        (Some(fixed), _) => (fixed, "as set"),
        (None, Some(findings)) => (
            crate::storage_check::integrity_for(findings),
            "what the storage probe found the store enforces",
        ),
        (None, None) => (
            Integrity::Sha256,
            "without the storage probe (HAUL_S3_PROBE=false, or it did not finish); set \
             HAUL_S3_CHECKSUM=md5 for a store that refuses S3's SHA-256 checksums (B2, GCS)",
        ),
    };
    tracing::info!(
        "uploads are checked with {} (HAUL_S3_CHECKSUM={setting}: {why})",
        integrity.as_str()
    );
    if integrity == Integrity::None {
        tracing::warn!(
            "the storage does not check the bytes of uploads (sizes only): files record no \
             checksum"
        );
    }
    integrity
}

fn domain_config(
    settings: &Settings,
    public_origin: String,
    storage_origin: String,
    integrity: Integrity,
    site_webhook: Option<(String, String)>,
) -> Config {
    Config {
        public_origin,
        storage_origin,
        default_quota: settings.default_quota,
        max_file_size: settings.max_file_size,
        part_size: settings.part_size,
        url_ttl: settings.url_ttl,
        session_idle: settings.session_idle,
        session_lifetime: settings.session_lifetime,
        rate_limit_per_ip: settings.rate_limit_per_ip,
        rate_limit_per_account: settings.rate_limit_per_account,
        rate_window: settings.rate_window,
        trust_proxy: settings.trust_proxy,
        upload_ttl: settings.upload_ttl,
        lease: settings.lease,
        metrics_token: settings.metrics_token.clone().filter(|t| !t.is_empty()),
        share_max_ttl: settings.share_max_ttl,
        request_starts_per_ip: settings.request_starts_per_ip,
        token_requests: settings.token_requests,
        webhook_url: site_webhook.as_ref().map(|(url, _)| url.clone()),
        webhook_secret: site_webhook.map(|(_, secret)| secret),
        webhook_allow_private: settings.webhook_allow_private,
        webhook_retry: settings.webhook_retry,
        webhook_retry_for: settings.webhook_retry_for,
        integrity,
        api_concurrency: settings.api_concurrency as usize,
        api_wait: settings.api_wait,
    }
}

/// Removes the brotli and gzip copies of bundle files that were rebuilt after them (a
/// `cargo leptos build` without `make site`): a stale copy would be served in place of the
/// new file.
fn remove_stale_precompressed(options: &LeptosOptions) {
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    for entry in entries.flatten() {
        let copy = entry.path();
        let Some(ext) = copy.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if ext != "br" && ext != "gz" {
            continue;
        }
        let source = copy.with_extension("");
        let stale = match (modified(&copy), modified(&source)) {
            (Some(copied), Some(built)) => copied < built,
            (_, None) => true,
            _ => false,
        };
        if stale {
            tracing::info!(file = %copy.display(), "removing a stale precompressed copy");
            let _ = std::fs::remove_file(&copy);
        }
    }
}

/// The bundle's fingerprinted name (`haul.<hash>`) from the `bundle.json` that
/// `scripts/precompress.mjs` writes, when its files are there and no newer build (a
/// `cargo leptos build` alone) has replaced the files they were copied from.
fn fingerprinted_name(site_root: &str, pkg_dir: &str) -> Option<String> {
    let dir = std::path::Path::new(site_root).join(pkg_dir);
    let manifest = std::fs::read_to_string(dir.join("bundle.json")).ok()?;
    let name = serde_json::from_str::<serde_json::Value>(&manifest)
        .ok()?
        .get("output_name")?
        .as_str()?
        .to_owned();
    let modified = |file: String| std::fs::metadata(dir.join(file)).and_then(|m| m.modified());
    let current = ["js", "wasm", "css"].iter().all(|ext| {
        match (
            modified(format!("{name}.{ext}")),
            modified(format!("haul.{ext}")),
        ) {
            (Ok(copied), Ok(built)) => copied >= built,
            (Ok(_), Err(_)) => true,
            (Err(_), _) => false,
        }
    });
    current.then_some(name)
}

fn leptos_options(addr: SocketAddr) -> LeptosOptions {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let site_root = env("LEPTOS_SITE_ROOT", "target/site");
    let pkg_dir = env("LEPTOS_SITE_PKG_DIR", "pkg");
    let output_name = fingerprinted_name(&site_root, &pkg_dir)
        .or_else(|| std::env::var("LEPTOS_OUTPUT_NAME").ok())
        .or_else(|| option_env!("LEPTOS_OUTPUT_NAME").map(str::to_owned))
        .unwrap_or_else(|| "haul".to_owned());
    LeptosOptions::builder()
        .output_name(Arc::<str>::from(output_name))
        .site_root(Arc::<str>::from(site_root))
        .site_pkg_dir(Arc::<str>::from(pkg_dir))
        .env(if env("LEPTOS_ENV", "DEV") == "PROD" {
            leptos::config::Env::PROD
        } else {
            leptos::config::Env::DEV
        })
        .site_addr(addr)
        .build()
}
