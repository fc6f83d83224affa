//! Every setting is an environment variable (or the matching flag); `server --help` lists them.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{bail, Context};
use app::backend::storage::{S3Credentials, S3Settings, Timeouts};
use clap::{Args, Parser, Subcommand, ValueEnum};
use url::Url;

#[derive(Debug, Parser)]
#[command(
    name = "server",
    version,
    about = "Haul: heavy file uploads straight from the browser to S3.",
    long_about = "Haul: heavy file uploads straight from the browser to S3.\n\n\
        With no DATABASE_URL and no HAUL_S3_ENDPOINT/HAUL_S3_BUCKET it runs an embedded local \
        stack in HAUL_DATA_DIR: a private PostgreSQL cluster and a private SeaweedFS S3 store."
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app (the default).
    Serve,
    /// Manage accounts (uses the same database settings as `serve`).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Compare the database with the bucket and list every violation of Haul's invariants:
    /// lost or altered objects, bytes and uploads no file owns, wrong quota counters,
    /// contradictory rows. Exits 0 when there is none (left), 1 when there are, 2 when the
    /// check could not run.
    Check {
        /// Fix what is safe to fix, and say what was done: delete objects and abort multipart
        /// uploads that no file owns (older than HAUL_URL_TTL), recompute users' counters.
        #[arg(long)]
        repair: bool,
    },
    /// What the configured S3 store does with the requests Haul relies on.
    Storage {
        #[command(subcommand)]
        action: StorageAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum StorageAction {
    /// Try what Haul relies on against the bucket, under scratch keys in haul-probe/ that are
    /// removed afterwards, and print a table with what to do for each line that fails.
    /// Exits 0 when the store can run Haul safely, 1 when it cannot, 2 when the check could
    /// not run.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Make the user with this email an admin.
    Promote { email: String },
    /// Make the admin with this email a normal user (never the last admin).
    Demote { email: String },
    /// Disable the account with this email: its sessions stop at once, it cannot sign in.
    Disable { email: String },
    /// Enable the disabled account with this email again.
    Enable { email: String },
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "HAUL_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Origin that browsers use to reach the app (scheme://host[:port]); defaults to http://HAUL_ADDR.
    /// The local S3 store allows uploads from this origin only.
    #[arg(long, env = "HAUL_PUBLIC_ORIGIN")]
    pub public_origin: Option<Url>,

    /// Directory for the embedded local stack's data (PostgreSQL cluster, S3 objects, logs).
    #[arg(long, env = "HAUL_DATA_DIR", default_value = ".haul")]
    pub data_dir: PathBuf,

    /// PostgreSQL connection URL; when unset, the embedded PostgreSQL cluster is used.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// S3 endpoint URL (e.g. https://<account>.r2.cloudflarestorage.com, http://minio:9000).
    /// Leave unset for AWS itself when HAUL_S3_BUCKET is set. With neither set, the embedded
    /// SeaweedFS store is used.
    #[arg(long, env = "HAUL_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// The same S3 store as browsers reach it, when not at HAUL_S3_ENDPOINT (a reverse proxy,
    /// a CDN, another host name outside the server's network): the URLs Haul signs for
    /// uploads and downloads point there. Unset: the URLs point at HAUL_S3_ENDPOINT.
    #[arg(long, env = "HAUL_S3_PUBLIC_ENDPOINT")]
    pub s3_public_endpoint: Option<String>,

    /// Bucket that holds the files (default "haul").
    #[arg(long, env = "HAUL_S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// S3 region ("auto" for Cloudflare R2).
    #[arg(long, env = "HAUL_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// Address buckets as endpoint/bucket rather than bucket.endpoint (MinIO, SeaweedFS, Ceph).
    #[arg(long, env = "HAUL_S3_PATH_STYLE", default_value_t = false, action = clap::ArgAction::Set)]
    pub s3_path_style: bool,

    /// Create the bucket if missing and set its CORS and abort-incomplete-upload rules at start
    /// (for a MinIO or SeaweedFS that Haul may manage). Off: the bucket must already be set up.
    #[arg(long, env = "HAUL_S3_SETUP_BUCKET", default_value_t = false, action = clap::ArgAction::Set)]
    pub s3_setup_bucket: bool,

    /// What the store checks each part's bytes against: sha256 (x-amz-checksum-sha256), md5
    /// (Content-MD5, for stores that refuse S3's SHA-256 checksums, such as B2 and GCS), none
    /// (sizes only), or auto: what the storage probe at start finds the store enforces
    /// (sha256 without the probe).
    #[arg(long, env = "HAUL_S3_CHECKSUM", value_enum, default_value_t = ChecksumSetting::Auto)]
    pub s3_checksum: ChecksumSetting,

    /// At start, try what Haul relies on against the store (as `server storage check` does,
    /// within 20 s) and log it in one line, with a warning for what is off.
    #[arg(long, env = "HAUL_S3_PROBE", default_value_t = true, action = clap::ArgAction::Set)]
    pub s3_probe: bool,

    /// Access key for the S3 bucket. With neither key set, credentials come from the AWS
    /// SDK's default chain: profile and SSO, web identity (EKS), ECS task role, EC2 instance
    /// profile.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub aws_access_key_id: Option<String>,

    /// Secret key for the S3 bucket.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub aws_secret_access_key: Option<String>,

    /// Session token of a temporary key pair (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
    #[arg(long, env = "AWS_SESSION_TOKEN", hide_env_values = true)]
    pub aws_session_token: Option<String>,

    /// Port of the embedded S3 store (0 picks a free one at each start).
    #[arg(long, env = "HAUL_LOCAL_S3_PORT", default_value_t = 0)]
    pub local_s3_port: u16,

    /// Path of the SeaweedFS `weed` binary for the embedded store (default: `weed` on PATH).
    #[arg(long, env = "HAUL_WEED_BIN")]
    pub weed_bin: Option<PathBuf>,

    /// Directory holding PostgreSQL's initdb and postgres (default: PATH, then /usr/lib/postgresql/*/bin).
    #[arg(long, env = "HAUL_POSTGRES_BIN_DIR")]
    pub postgres_bin_dir: Option<PathBuf>,

    /// Storage quota of a new account (bytes, or with a unit: 500GB, 100GiB).
    #[arg(long, env = "HAUL_DEFAULT_QUOTA", default_value = "100GiB", value_parser = parse_size)]
    pub default_quota: u64,

    /// Largest file a user may upload (S3 itself stops at 48.8 TiB).
    #[arg(long, env = "HAUL_MAX_FILE_SIZE", default_value = "50GiB", value_parser = parse_size)]
    pub max_file_size: u64,

    /// Part size of multipart uploads, at least 5MiB; files over 10 000 parts get larger parts.
    /// A file no larger than one part goes up in a single PUT.
    #[arg(long, env = "HAUL_PART_SIZE", default_value = "16MiB", value_parser = parse_part_size)]
    pub part_size: u64,

    /// How long a pre-signed upload or download URL works (browsers ask again when one expires).
    #[arg(long, env = "HAUL_URL_TTL", default_value = "15m", value_parser = parse_duration)]
    pub url_ttl: Duration,

    /// An upload not completed this long after it started is aborted and its quota released.
    #[arg(long, env = "HAUL_UPLOAD_TTL", default_value = "24h", value_parser = parse_duration)]
    pub upload_ttl: Duration,

    /// The longest a share link may last (a link lasts 7 days unless its maker says, never
    /// longer than this).
    #[arg(long, env = "HAUL_SHARE_MAX_TTL", default_value = "30d", value_parser = parse_positive_duration)]
    pub share_max_ttl: Duration,

    /// Uploads a visitor of an upload request may start from one address per
    /// HAUL_RATE_WINDOW (ten times as many through one request; fifty times as many calls that
    /// sign parts).
    #[arg(long, env = "HAUL_REQUEST_STARTS_PER_IP", default_value_t = 100)]
    pub request_starts_per_ip: u32,

    /// Requests one API token may make per HAUL_RATE_WINDOW (each counted in PostgreSQL, so
    /// the limit holds across app servers). A 50 GB upload in 16 MiB parts is about 40 calls.
    #[arg(long, env = "HAUL_TOKEN_REQUESTS", default_value_t = 20_000)]
    pub token_requests: u32,

    /// API calls this server runs at once. Past it, a call waits up to HAUL_API_WAIT for a
    /// slot, then is answered 503 with Retry-After (the browser and `haul` retry it) instead of
    /// queueing for a database connection until it times out.
    #[arg(long, env = "HAUL_API_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub api_concurrency: u32,

    /// How long an API call past HAUL_API_CONCURRENCY waits for a slot before the 503.
    #[arg(long, env = "HAUL_API_WAIT", default_value = "500ms", value_parser = parse_duration)]
    pub api_wait: Duration,

    /// Connections to PostgreSQL this server keeps at most (each is a backend process there;
    /// all servers together must stay under the database's max_connections).
    #[arg(long, env = "HAUL_DB_POOL", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub db_pool: u32,

    /// How often the sweeper runs (one app server at a time): abandoned uploads, S3 multipart
    /// uploads no file knows of, and objects no file owns (older than HAUL_URL_TTL) go.
    #[arg(long, env = "HAUL_SWEEP_INTERVAL", default_value = "10m", value_parser = parse_duration)]
    pub sweep_interval: Duration,

    /// How long an app server's claim on a file (while it completes, aborts or deletes it)
    /// lasts without being renewed. It is renewed every third of this while the server works;
    /// a server that was killed blocks its files this long at most.
    #[arg(long, env = "HAUL_LEASE", default_value = "30s", value_parser = parse_positive_duration)]
    pub lease: Duration,

    /// Longest wait for one try of an S3 request; a stalled store fails the request instead of
    /// holding it.
    #[arg(long, env = "HAUL_S3_ATTEMPT_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub s3_attempt_timeout: Duration,

    /// Longest wait for one S3 operation, retries included.
    #[arg(long, env = "HAUL_S3_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub s3_timeout: Duration,

    /// Longest wait for S3 to assemble a multipart upload (CompleteMultipartUpload can take
    /// minutes for thousands of parts).
    #[arg(long, env = "HAUL_S3_COMPLETE_TIMEOUT", default_value = "5m", value_parser = parse_duration)]
    pub s3_complete_timeout: Duration,

    /// Password hashes computed at once (each holds 19 MiB for tens of milliseconds); further
    /// sign-ins wait their turn. Default: the number of CPU cores.
    #[arg(long, env = "HAUL_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,

    /// A session ends after this long without a request (e.g. 30m, 12h, 7d; plain numbers are seconds).
    #[arg(long, env = "HAUL_SESSION_IDLE", default_value = "7d", value_parser = parse_duration)]
    pub session_idle: Duration,

    /// A session ends this long after sign-in, however active it is.
    #[arg(long, env = "HAUL_SESSION_LIFETIME", default_value = "30d", value_parser = parse_duration)]
    pub session_lifetime: Duration,

    /// Sign-in and sign-up attempts allowed per client IP (IPv6: per /64) within HAUL_RATE_WINDOW.
    #[arg(long, env = "HAUL_RATE_LIMIT_PER_IP", default_value_t = 30)]
    pub rate_limit_per_ip: u32,

    /// Failed sign-ins allowed per account within HAUL_RATE_WINDOW.
    #[arg(long, env = "HAUL_RATE_LIMIT_PER_ACCOUNT", default_value_t = 10)]
    pub rate_limit_per_account: u32,

    /// The window of the sign-in and sign-up rate limits.
    #[arg(long, env = "HAUL_RATE_WINDOW", default_value = "15m", value_parser = parse_duration)]
    pub rate_window: Duration,

    /// Behind a reverse proxy: take the client IP from the last X-Forwarded-For entry.
    /// Leave off when clients reach Haul directly, or they could pick their own IP.
    #[arg(long, env = "HAUL_TRUST_PROXY", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_proxy: bool,

    /// A request's headers must all arrive within this time of its first byte, or the
    /// connection is closed (a client that sends half its headers holds nothing for long).
    #[arg(long, env = "HAUL_HEADER_TIMEOUT", default_value = "30s", value_parser = parse_positive_duration)]
    pub header_timeout: Duration,

    /// A request's body (server functions take small forms and JSON) must arrive within this
    /// time of its headers, or the answer is 408 and the connection is closed.
    #[arg(long, env = "HAUL_BODY_TIMEOUT", default_value = "30s", value_parser = parse_positive_duration)]
    pub body_timeout: Duration,

    /// A connection with no request in progress is closed after this long.
    #[arg(long, env = "HAUL_IDLE_TIMEOUT", default_value = "75s", value_parser = parse_positive_duration)]
    pub idle_timeout: Duration,

    /// Open client connections at most (lowered to what the open-file limit allows). At the
    /// cap, a new connection closes the one idle longest; when every connection is busy, it
    /// is answered 503 with Retry-After and closed.
    #[arg(long, env = "HAUL_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Serve Prometheus metrics at /metrics on this separate address (keep it private: bind a
    /// loopback or internal address). Off by default.
    #[arg(long, env = "HAUL_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// Serve /metrics on the public address too, to requests carrying
    /// `Authorization: Bearer <this token>` (and require it on HAUL_METRICS_ADDR). Off by default.
    #[arg(long, env = "HAUL_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Every event (upload.completed, upload.failed, request.received, share.downloaded) is
    /// also posted to this URL as JSON, signed with HAUL_WEBHOOK_SECRET. Off by default.
    #[arg(long, env = "HAUL_WEBHOOK_URL")]
    pub webhook_url: Option<String>,

    /// The secret HAUL_WEBHOOK_URL's deliveries are signed with (HMAC-SHA256; required with it).
    #[arg(long, env = "HAUL_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// Let users' own webhooks reach addresses of this machine and its private networks
    /// (refused by default: a user could otherwise make the server call inside your network).
    #[arg(long, env = "HAUL_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,

    /// The wait before a failed delivery is tried again; it doubles after each failure, up to
    /// an hour.
    #[arg(long, env = "HAUL_WEBHOOK_RETRY", default_value = "10s", value_parser = parse_positive_duration)]
    pub webhook_retry: Duration,

    /// How long after its event a delivery is retried before it is given up.
    #[arg(long, env = "HAUL_WEBHOOK_RETRY_FOR", default_value = "1d", value_parser = parse_positive_duration)]
    pub webhook_retry_for: Duration,

    /// Log format: `text` (for people) or `json` (one object a line, for log shippers).
    #[arg(long, env = "HAUL_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// Log filter, in tracing's EnvFilter syntax (e.g. "info,server=debug").
    #[arg(long, env = "HAUL_LOG", default_value = "info")]
    pub log: String,
}

pub const DEFAULT_BUCKET: &str = "haul";

/// Server functions take small JSON or form bodies; file bytes never come through Haul.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

impl Settings {
    /// The origin browsers use, without a trailing slash, e.g. `http://127.0.0.1:3000`;
    /// `bound` is the address actually listened on (HAUL_ADDR may ask for port 0).
    pub fn public_origin(&self, bound: SocketAddr) -> anyhow::Result<String> {
        let url = match &self.public_origin {
            Some(url) => url.clone(),
            None => Url::parse(&format!("http://{bound}"))
                .context("HAUL_ADDR does not form a valid origin")?,
        };
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            bail!("HAUL_PUBLIC_ORIGIN must be an http(s) origin such as https://haul.example.com, not {url}");
        }
        Ok(url.origin().ascii_serialization())
    }

    /// HAUL_WEBHOOK_URL with its secret, checked: an http(s) URL, and a secret of at least 16
    /// characters. Both unset: no site webhook; one without the other is a mistake.
    pub fn site_webhook(&self) -> anyhow::Result<Option<(String, String)>> {
        let url = self.webhook_url.as_deref().filter(|u| !u.trim().is_empty());
        let secret = self.webhook_secret.as_deref().filter(|s| !s.is_empty());
        match (url, secret) {
            (None, None) => Ok(None),
            (None, Some(_)) => bail!(
                "HAUL_WEBHOOK_SECRET is set but HAUL_WEBHOOK_URL is not: set the URL to post \
                 events to, or unset the secret"
            ),
            (Some(_), None) => bail!(
                "HAUL_WEBHOOK_URL is set but HAUL_WEBHOOK_SECRET is not: set a secret (16 \
                 characters or more) for the receiver to check signatures with"
            ),
            (Some(_), Some(secret)) if secret.chars().count() < 16 => {
                bail!("HAUL_WEBHOOK_SECRET is too short: use 16 characters or more")
            }
            (Some(url), Some(secret)) => {
                check_http_url("HAUL_WEBHOOK_URL", url.trim())?;
                Ok(Some((url.trim().to_owned(), secret.to_owned())))
            }
        }
    }

    /// Whether an S3 store was configured; otherwise the embedded one runs.
    pub fn uses_external_s3(&self) -> bool {
        self.s3_endpoint.is_some() || self.s3_bucket.is_some()
    }

    /// The external S3 settings, with a clear error for a half-done configuration.
    pub async fn external_s3(&self) -> anyhow::Result<S3Settings> {
        if let Some(endpoint) = &self.s3_endpoint {
            check_http_url("HAUL_S3_ENDPOINT", endpoint)?;
        }
        let credentials = match self.static_credentials()? {
            Some(credentials) => credentials,
            None => S3Credentials::default_chain(&self.s3_region).await,
        };
        Ok(S3Settings {
            endpoint: self.s3_endpoint.clone(),
            public_endpoint: self.s3_public_endpoint()?,
            region: self.s3_region.clone(),
            bucket: self.bucket(),
            credentials,
            path_style: self.s3_path_style,
            timeouts: self.s3_timeouts(),
        })
    }

    /// The key pair of AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN); None
    /// when neither key is set (the default chain then applies); an error for half a pair.
    pub fn static_credentials(&self) -> anyhow::Result<Option<S3Credentials>> {
        match (&self.aws_access_key_id, &self.aws_secret_access_key) {
            (Some(access_key_id), Some(secret_access_key)) => Ok(Some(S3Credentials::Static {
                access_key_id: access_key_id.clone(),
                secret_access_key: secret_access_key.clone(),
                session_token: self.aws_session_token.clone(),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => bail!(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or \
                 neither to take credentials from the AWS default chain (an IAM role)"
            ),
            (None, Some(_)) => bail!(
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both, or \
                 neither to take credentials from the AWS default chain (an IAM role)"
            ),
        }
    }

    /// HAUL_S3_PUBLIC_ENDPOINT, checked.
    pub fn s3_public_endpoint(&self) -> anyhow::Result<Option<String>> {
        if let Some(endpoint) = &self.s3_public_endpoint {
            check_http_url("HAUL_S3_PUBLIC_ENDPOINT", endpoint)?;
        }
        Ok(self.s3_public_endpoint.clone())
    }

    /// HAUL_HASH_CONCURRENCY, or one per CPU core.
    pub fn hash_concurrency(&self) -> usize {
        self.hash_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
            .max(1)
    }

    /// What one client connection may hold, with the cap fitted to `open_file_limit`.
    pub fn connection_limits(&self, open_file_limit: u64) -> crate::serve::Limits {
        crate::serve::Limits {
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: crate::serve::connection_cap(
                self.max_connections as usize,
                open_file_limit,
            ),
        }
    }

    pub fn body_limits(&self) -> crate::security::BodyLimits {
        crate::security::BodyLimits {
            max_bytes: MAX_BODY_BYTES,
            timeout: self.body_timeout,
        }
    }

    pub fn s3_timeouts(&self) -> Timeouts {
        let floor = Duration::from_millis(100);
        Timeouts {
            attempt: self.s3_attempt_timeout.max(floor),
            operation: self.s3_timeout.max(self.s3_attempt_timeout).max(floor),
            complete: self.s3_complete_timeout.max(floor),
        }
    }

    pub fn bucket(&self) -> String {
        self.s3_bucket
            .clone()
            .unwrap_or_else(|| DEFAULT_BUCKET.to_owned())
    }
}

/// `123`, `500MB`, `100GiB`, `1.5TB` (see `app::validate::size`).
pub fn parse_size(input: &str) -> Result<u64, String> {
    app::validate::size(input)
}

fn parse_part_size(input: &str) -> Result<u64, String> {
    let size = parse_size(input)?;
    if !(app::plan::S3_MIN_PART..=app::plan::S3_MAX_PART).contains(&size) {
        return Err("a part is 5MiB to 5GiB (S3's limits)".into());
    }
    Ok(size)
}

/// `90`, `90s`, `15m`, `12h`, `7d`, `500ms`.
/// `parse_duration`, refusing zero (a timeout of nothing would close every connection).
fn parse_positive_duration(input: &str) -> Result<Duration, String> {
    match parse_duration(input)? {
        Duration::ZERO => Err("must be more than zero".into()),
        duration => Ok(duration),
    }
}

pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let input = input.trim();
    let split = input
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(input.len());
    let (number, unit) = input.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{input:?} is not a duration such as 15m, 12h or 7d"))?;
    let millis = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} (use ms, s, m, h or d)"
            ))
        }
    };
    number
        .checked_mul(millis)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{input:?} is out of range"))
}

/// An S3 endpoint setting `name` must be an http(s) URL.
fn check_http_url(name: &str, endpoint: &str) -> anyhow::Result<()> {
    let url = Url::parse(endpoint).with_context(|| format!("{name} is not a URL: {endpoint:?}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("{name} must start with http:// or https://, not {endpoint:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3w").is_err());
    }

    use super::*;

    fn parse(args: &[&str]) -> Settings {
        let mut argv = vec!["server"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("valid arguments").settings
    }

    #[test]
    fn public_origin_defaults_to_the_listen_address() {
        let settings = parse(&["--addr", "127.0.0.1:0"]);
        let bound = "127.0.0.1:4000".parse().unwrap();
        assert_eq!(
            settings.public_origin(bound).unwrap(),
            "http://127.0.0.1:4000"
        );
    }

    #[test]
    fn public_origin_drops_paths_and_trailing_slashes() {
        let settings = parse(&["--public-origin", "https://haul.example.com/some/path"]);
        let bound = settings.addr;
        assert_eq!(
            settings.public_origin(bound).unwrap(),
            "https://haul.example.com"
        );
    }

    #[test]
    fn public_origin_must_be_http() {
        let settings = parse(&["--public-origin", "ftp://haul.example.com"]);
        let error = settings
            .public_origin(settings.addr)
            .unwrap_err()
            .to_string();
        assert!(error.contains("HAUL_PUBLIC_ORIGIN"), "{error}");
    }

    #[test]
    fn half_a_key_pair_is_refused_and_none_means_the_default_chain() {
        let endpoint = ["--s3-endpoint", "http://127.0.0.1:9000"];
        let settings = parse(&[&endpoint[..], &["--aws-access-key-id", "a"]].concat());
        assert!(settings.uses_external_s3());
        let error = settings.static_credentials().unwrap_err().to_string();
        assert!(error.contains("AWS_ACCESS_KEY_ID is set but"), "{error}");
        let settings = parse(&[&endpoint[..], &["--aws-secret-access-key", "b"]].concat());
        let error = settings.static_credentials().unwrap_err().to_string();
        assert!(
            error.contains("AWS_SECRET_ACCESS_KEY is set but"),
            "{error}"
        );
        let mut settings = parse(&endpoint);
        // Whatever this process's environment holds.
        (settings.aws_access_key_id, settings.aws_secret_access_key) = (None, None);
        assert!(settings.static_credentials().unwrap().is_none());
    }

    #[test]
    fn a_static_pair_keeps_its_session_token() {
        let settings = parse(&[
            "--aws-access-key-id",
            "a",
            "--aws-secret-access-key",
            "b",
            "--aws-session-token",
            "t",
        ]);
        let Some(S3Credentials::Static {
            access_key_id,
            secret_access_key,
            session_token,
        }) = settings.static_credentials().unwrap()
        else {
            panic!("a static pair");
        };
        assert_eq!(
            (access_key_id, secret_access_key, session_token),
            ("a".into(), "b".into(), Some("t".into()))
        );
    }

    #[test]
    fn a_public_s3_endpoint_must_be_an_http_url_and_alone_picks_no_external_store() {
        let settings = parse(&["--s3-public-endpoint", "s3.example.com"]);
        assert!(!settings.uses_external_s3());
        let error = settings.s3_public_endpoint().unwrap_err().to_string();
        assert!(error.contains("HAUL_S3_PUBLIC_ENDPOINT"), "{error}");
        let settings = parse(&["--s3-public-endpoint", "https://s3.example.com"]);
        assert_eq!(
            settings.s3_public_endpoint().unwrap().as_deref(),
            Some("https://s3.example.com")
        );
    }

    #[tokio::test]
    async fn external_s3_rejects_a_non_url_endpoint() {
        let settings = parse(&[
            "--s3-endpoint",
            "minio:9000",
            "--aws-access-key-id",
            "a",
            "--aws-secret-access-key",
            "b",
        ]);
        let error = settings.external_s3().await.unwrap_err().to_string();
        assert!(error.contains("HAUL_S3_ENDPOINT"), "{error}");
    }

    #[test]
    fn no_s3_settings_means_the_embedded_store() {
        assert!(!parse(&[]).uses_external_s3());
    }
}

/// HAUL_S3_CHECKSUM: a mode, or `auto`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ChecksumSetting {
    #[default]
    Auto,
    Sha256,
    Md5,
    None,
}

impl ChecksumSetting {
    /// The mode set, or None for `auto`.
    pub fn fixed(self) -> Option<app::model::Integrity> {
        use app::model::Integrity;
        match self {
            Self::Auto => None,
            Self::Sha256 => Some(Integrity::Sha256),
            Self::Md5 => Some(Integrity::Md5),
            Self::None => Some(Integrity::None),
        }
    }
}

impl std::fmt::Display for ChecksumSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Sha256 => "sha256",
            Self::Md5 => "md5",
            Self::None => "none",
        })
    }
}
