//! Object storage: one S3 client built at start and shared. Only the server talks to S3 for
//! control operations; file bytes go from the browser to S3 through pre-signed URLs.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::{bail, Context};

use super::{
    metrics::Metrics,
    part_signer::{PartRequest, PartSigner, PROBE_KEY},
};
pub use crate::upload::retry::{is_digest_refusal, UNSUPPORTED};
use aws_sdk_s3::{
    config::{
        timeout::TimeoutConfig, BehaviorVersion, Credentials, IdentityCache, ProvideCredentials,
        Region, RequestChecksumCalculation, ResponseChecksumValidation, SharedCredentialsProvider,
    },
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    operation::create_bucket::CreateBucketError,
    presigning::PresigningConfig,
    types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ChecksumAlgorithm,
        ChecksumMode, CompletedMultipartUpload, CompletedPart, CorsConfiguration, CorsRule,
        ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
    },
    Client,
};

/// How to reach a bucket.
#[derive(Clone)]
pub struct S3Settings {
    /// None means AWS itself (the endpoint follows from the region).
    pub endpoint: Option<String>,
    /// Where browsers reach the same store, when not at `endpoint` (a proxy, a CDN, another
    /// name on another network): the URLs Haul signs point there. None: at `endpoint`.
    pub public_endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub credentials: S3Credentials,
    /// `endpoint/bucket/key` rather than `bucket.endpoint/key`; MinIO and SeaweedFS need it.
    pub path_style: bool,
    pub timeouts: Timeouts,
}

/// How long Haul waits for S3. A stalled store must fail a request, not hold it (and the
/// database connection or the user's patience behind it) forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// One try of one request.
    pub attempt: Duration,
    /// One operation, retries included.
    pub operation: Duration,
    /// CompleteMultipartUpload: S3 may take minutes to assemble thousands of parts.
    pub complete: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            attempt: Duration::from_secs(10),
            operation: Duration::from_secs(30),
            complete: Duration::from_secs(300),
        }
    }
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("public_endpoint", &self.public_endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("credentials", &self.credentials)
            .field("path_style", &self.path_style)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// Where Haul's S3 credentials come from.
#[derive(Clone)]
pub enum S3Credentials {
    /// A key pair given in the settings; with a session token when the pair is temporary
    /// (it then stops working when the token expires, and nothing renews it).
    Static {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
    /// Credentials that renew themselves: the SDK's default chain (an IAM role), or any
    /// other provider.
    Provider(SharedCredentialsProvider),
}

impl S3Credentials {
    /// aws-config's default chain: the AWS_* environment, the shared profile (and SSO), web
    /// identity (EKS), the ECS task role, then the EC2 instance profile (IMDSv2).
    pub async fn default_chain(region: &str) -> Self {
        let chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
            .region(Region::new(region.to_owned()))
            .build()
            .await;
        Self::Provider(SharedCredentialsProvider::new(chain))
    }

    fn provider(&self) -> SharedCredentialsProvider {
        match self {
            Self::Static {
                access_key_id,
                secret_access_key,
                session_token,
            } => SharedCredentialsProvider::new(Credentials::new(
                access_key_id,
                secret_access_key,
                session_token.clone(),
                None,
                "haul-settings",
            )),
            Self::Provider(provider) => provider.clone(),
        }
    }
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Static {
                access_key_id,
                session_token,
                ..
            } => f
                .debug_struct("Static")
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"<redacted>")
                .field(
                    "session_token",
                    &session_token.as_ref().map(|_| "<redacted>"),
                )
                .finish(),
            Self::Provider(provider) => f.debug_tuple("Provider").field(provider).finish(),
        }
    }
}

/// A URL signed with temporary credentials dies with them (S3 refuses an expired session
/// token whatever the URL's own expiry says): it is given this much less than their
/// remaining life, for clock skew and the request in flight.
pub const CREDENTIALS_MARGIN: Duration = Duration::from_secs(60);
/// Credentials kept for signing are renewed once they have less than this left (AWS hands
/// out a role's next credentials at least 5 minutes before the current ones expire).
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);
/// Credentials near their end are asked for again at most this often.
const RENEW_EVERY: Duration = Duration::from_secs(10);

/// How long a URL signed at `signed_at` may live: `ttl`, but no longer than credentials
/// expiring at `expiry` (less [`CREDENTIALS_MARGIN`]), in whole seconds, at least one.
pub fn url_lifetime(ttl: Duration, signed_at: SystemTime, expiry: Option<SystemTime>) -> Duration {
    let Some(expiry) = expiry else {
        return ttl;
    };
    let left = expiry
        .duration_since(signed_at)
        .unwrap_or_default()
        .saturating_sub(CREDENTIALS_MARGIN);
    if left >= ttl {
        return ttl;
    }
    // X-Amz-Expires counts whole seconds.
    Duration::from_secs(left.as_secs().max(1))
}

/// No credentials could be had: the role's endpoint did not answer, or the chain found none.
/// Like a storage outage, the same request may pass later.
#[derive(Debug, thiserror::Error)]
#[error("getting credentials for the storage: {0}")]
pub struct NoCredentials(String);

/// The credentials URLs are signed with, kept while they last: the expiry of the very
/// credentials a URL carries bounds the lifetime it is given.
struct SigningCredentials {
    provider: SharedCredentialsProvider,
    /// The credentials in use and when they were obtained.
    current: tokio::sync::Mutex<Option<(Credentials, SystemTime)>>,
}

impl SigningCredentials {
    async fn get(&self) -> anyhow::Result<Credentials> {
        let mut current = self.current.lock().await;
        let now = SystemTime::now();
        if let Some((credentials, obtained)) = current.as_ref() {
            let lasting = credentials
                .expiry()
                .is_none_or(|expiry| expiry > now + RENEW_BEFORE);
            let recent = now.duration_since(*obtained).unwrap_or_default() < RENEW_EVERY;
            if lasting || recent {
                return Ok(credentials.clone());
            }
        }
        let credentials = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| NoCredentials(DisplayErrorContext(e).to_string()))?;
        *current = Some((credentials.clone(), now));
        Ok(credentials)
    }
}

#[derive(Clone)]
pub struct Storage {
    client: Client,
    /// Signs the URLs browsers use: `client`, or the same store at its public endpoint.
    presigner: Client,
    /// What `presigner` signs with.
    signing: Arc<SigningCredentials>,
    bucket: Arc<str>,
    /// Signs part URLs without the SDK's request pipeline, once learnt.
    part_signer: Arc<tokio::sync::OnceCell<Option<PartSigner>>>,
    timeouts: Timeouts,
    metrics: Metrics,
}

/// The Content-MD5 of no bytes.
const EMPTY_MD5: &str = "1B2M2Y8AsgTpgAmY7PhCfg==";

/// Days after which S3 itself aborts a multipart upload nobody finished.
const ABORT_INCOMPLETE_AFTER_DAYS: i32 = 2;

impl Storage {
    pub fn new(settings: &S3Settings) -> Self {
        let credentials = settings.credentials.provider();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(credentials.clone())
            .force_path_style(settings.path_style)
            // The SDK's default CRC32 checksum would be signed into pre-signed PUTs that the
            // browser cannot reproduce (aws-sdk-rust#1240): only send checksums we ask for.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5).min(settings.timeouts.attempt))
                    .operation_attempt_timeout(settings.timeouts.attempt)
                    .operation_timeout(settings.timeouts.operation)
                    .build(),
            );
        let client = match &settings.endpoint {
            Some(endpoint) => Client::from_conf(config.clone().endpoint_url(endpoint).build()),
            None => Client::from_conf(config.clone().build()),
        };
        // Each URL is signed with credentials given to it (`SigningCredentials`), which
        // nothing else must cache.
        let config = config.identity_cache(IdentityCache::no_cache());
        let presigner = match &settings.public_endpoint {
            Some(endpoint) => Client::from_conf(config.endpoint_url(endpoint).build()),
            None => match &settings.endpoint {
                Some(endpoint) => Client::from_conf(config.endpoint_url(endpoint).build()),
                None => Client::from_conf(config.build()),
            },
        };
        Self {
            client,
            presigner,
            signing: Arc::new(SigningCredentials {
                provider: credentials,
                current: Default::default(),
            }),
            bucket: settings.bucket.as_str().into(),
            part_signer: Default::default(),
            timeouts: settings.timeouts,
            metrics: Metrics::new(),
        }
    }

    /// The same storage, counting its calls in `metrics`.
    pub fn with_metrics(self, metrics: Metrics) -> Self {
        Self { metrics, ..self }
    }

    /// Runs one S3 call, timing it and counting it by operation and outcome.
    async fn call<T, E>(
        &self,
        operation: &'static str,
        request: impl std::future::Future<Output = Result<T, SdkError<E>>>,
    ) -> Result<T, SdkError<E>>
    where
        E: ProvideErrorMetadata,
    {
        let started = std::time::Instant::now();
        let result = request.await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => outcome_of(error),
        };
        let labels = [("operation", operation), ("outcome", outcome)];
        self.metrics.count("haul_s3_requests_total", &labels, 1);
        self.metrics.time(
            "haul_s3_request_duration_seconds",
            &[("operation", operation)],
            started.elapsed(),
        );
        result
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Fails unless credentials can be had (from the settings or the default chain).
    pub async fn check_credentials(&self) -> anyhow::Result<()> {
        self.signing.get().await.map(drop)
    }

    /// Fails unless the bucket exists and these credentials may use it.
    pub async fn check_bucket(&self) -> anyhow::Result<()> {
        self.client
            .head_bucket()
            .bucket(self.bucket())
            .send()
            .await
            .map_err(setup_error)
            .with_context(|| format!("checking bucket {:?}", self.bucket()))?;
        Ok(())
    }

    /// Creates the bucket when missing and sets its CORS rule (the browser PUTs parts from
    /// `allowed_origin` and must read each part's ETag) and a rule that aborts abandoned
    /// multipart uploads. Used for the embedded store, where Haul owns the bucket.
    pub async fn ensure_bucket(&self, allowed_origin: &str) -> anyhow::Result<()> {
        self.create_bucket_if_missing().await?;
        self.set_cors(allowed_origin).await?;
        self.set_lifecycle().await
    }

    /// Creates the bucket unless it exists already (and is ours).
    pub async fn create_bucket_if_missing(&self) -> anyhow::Result<()> {
        match self
            .client
            .create_bucket()
            .bucket(self.bucket())
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) => match e.into_service_error() {
                CreateBucketError::BucketAlreadyOwnedByYou(_) => {}
                other => bail!(
                    "creating bucket {:?}: {}",
                    self.bucket(),
                    DisplayErrorContext(other)
                ),
            },
        }
        Ok(())
    }

    pub async fn set_cors(&self, allowed_origin: &str) -> anyhow::Result<()> {
        let rule = CorsRule::builder()
            .allowed_origins(allowed_origin)
            .allowed_methods("PUT")
            .allowed_methods("GET")
            .allowed_methods("HEAD")
            .allowed_headers("*")
            .expose_headers("ETag")
            .max_age_seconds(3600)
            .build()
            .context("building the CORS rule")?;
        let cors = CorsConfiguration::builder()
            .cors_rules(rule)
            .build()
            .context("building the CORS configuration")?;
        self.client
            .put_bucket_cors()
            .bucket(self.bucket())
            .cors_configuration(cors)
            .customize()
            .mutate_request(md5_instead_of_sdk_checksum)
            .send()
            .await
            .map_err(setup_error)
            .with_context(|| format!("setting the CORS rule of bucket {:?}", self.bucket()))?;
        Ok(())
    }

    pub async fn set_lifecycle(&self) -> anyhow::Result<()> {
        let rule = LifecycleRule::builder()
            .id("haul-abort-incomplete-multipart")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(ABORT_INCOMPLETE_AFTER_DAYS)
                    .build(),
            )
            .build()
            .context("building the lifecycle rule")?;
        let lifecycle = BucketLifecycleConfiguration::builder()
            .rules(rule)
            .build()
            .context("building the lifecycle configuration")?;
        self.client
            .put_bucket_lifecycle_configuration()
            .bucket(self.bucket())
            .lifecycle_configuration(lifecycle)
            .customize()
            .mutate_request(md5_instead_of_sdk_checksum)
            .send()
            .await
            .map_err(setup_error)
            .with_context(|| format!("setting the lifecycle rule of bucket {:?}", self.bucket()))?;
        Ok(())
    }

    /// The origin (scheme://host[:port]) that pre-signed URLs point browsers to; pages allow
    /// connections to it in their Content-Security-Policy. Pre-signing never contacts S3.
    pub async fn browser_origin(&self) -> anyhow::Result<String> {
        let credentials = self.signing.get().await?;
        let probe = self.probe_url(credentials).await?;
        let url = url::Url::parse(&probe).context("parsing a pre-signed URL")?;
        Ok(url.origin().ascii_serialization())
    }

    /// A GetObject of [`PROBE_KEY`] pre-signed by the SDK, as browsers would be sent: where
    /// the bucket is and what a signature's scope is. Pre-signing never contacts S3.
    async fn probe_url(&self, credentials: Credentials) -> anyhow::Result<String> {
        let probe = self
            .presigner
            .get_object()
            .bucket(self.bucket())
            .key(PROBE_KEY)
            .customize()
            .config_override(signed_by(credentials))
            .presigned(presigning(Duration::from_secs(60))?)
            .await
            .context("pre-signing a probe URL")?;
        Ok(probe.uri().to_owned())
    }
    /// A URL for one part of a multipart upload. Its exact length is signed: S3 refuses a
    /// longer or shorter body, so nobody can store more than the bytes reserved for the file.
    /// With `sha256` (base64), the part's checksum is signed too, as the header
    /// `x-amz-checksum-sha256` that the PUT must carry: S3 refuses other bytes (BadDigest)
    /// and a PUT without it (the signature fails).
    /// It dies with the upload: once the upload is completed or aborted, S3 answers
    /// NoSuchUpload, so an old URL can never replace a finished object or leave bytes behind.
    ///
    /// Signed by [`PartSigner`], which gives the SDK presigner's very URL (a unit test
    /// compares them), and the presigner keeps explicitly set checksum fields as signed
    /// headers (it only leaves out the checksum it would compute itself; see
    /// aws-sdk-rust#1103). The tests check `X-Amz-SignedHeaders` and that S3 refuses wrong
    /// bytes and missing headers.
    pub async fn presign_upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        content_length: u64,
        sha256: Option<&str>,
        ttl: Duration,
    ) -> anyhow::Result<PresignedPart> {
        let digest = sha256.map_or(SignedDigest::None, SignedDigest::Sha256);
        self.presign_part(key, upload_id, part_number, content_length, digest, ttl)
            .await
    }

    /// A URL for one part, signing its exact length and `digest` (a `Content-MD5` must be
    /// carried by the PUT, and a store that checks it refuses other bytes).
    pub async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        content_length: u64,
        digest: SignedDigest<'_>,
        ttl: Duration,
    ) -> anyhow::Result<PresignedPart> {
        let credentials = self.signing.get().await?;
        // X-Amz-Date counts whole seconds: sign from the start of this second, so the URL's
        // real expiry is known to the millisecond.
        let now = SystemTime::now();
        let since_epoch = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let signed_at = now - Duration::from_nanos(u64::from(since_epoch.subsec_nanos()));
        let lifetime = url_lifetime(ttl, signed_at, credentials.expiry());
        let part = PartRequest {
            key,
            upload_id,
            part_number,
            content_length,
            digest,
        };
        let (url, headers) = match self.part_signer(&credentials).await {
            Some(signer) => signer.sign(&credentials, &part, signed_at, lifetime)?,
            None => {
                self.sdk_presign_part(credentials, &part, signed_at, lifetime)
                    .await?
            }
        };
        Ok(PresignedPart {
            url,
            headers,
            expires_at: signed_at + lifetime,
            lifetime,
        })
    }

    /// What signs part URLs without the SDK's pipeline, learnt once from a probe URL the SDK
    /// signs. None, and the SDK signs each part, when the probe has another shape, or for
    /// this call when it cannot be signed (no credentials).
    async fn part_signer(&self, credentials: &Credentials) -> Option<&PartSigner> {
        let learnt = self
            .part_signer
            .get_or_try_init(|| async {
                let probe = self.probe_url(credentials.clone()).await?;
                anyhow::Ok(PartSigner::from_probe(&probe))
            })
            .await;
        learnt.ok()?.as_ref()
    }

    /// A part URL as the SDK's presigner makes it: what [`PartSigner`] must match.
    async fn sdk_presign_part(
        &self,
        credentials: Credentials,
        part: &PartRequest<'_>,
        signed_at: SystemTime,
        lifetime: Duration,
    ) -> anyhow::Result<(String, Vec<(String, String)>)> {
        let length = i64::try_from(part.content_length).context("content length out of range")?;
        let config = PresigningConfig::builder()
            .start_time(signed_at)
            .expires_in(lifetime)
            .build()
            .context("invalid URL lifetime")?;
        let request = self
            .presigner
            .upload_part()
            .bucket(self.bucket())
            .key(part.key)
            .upload_id(part.upload_id)
            .part_number(part.part_number)
            .content_length(length);
        let request = match part.digest {
            SignedDigest::None => request,
            // The checksum alone: `x-amz-sdk-checksum-algorithm`, which
            // `.checksum_algorithm()` would add, is for AWS SDKs only, and some stores (B2)
            // refuse it.
            SignedDigest::Sha256(sha256) => request.checksum_sha256(sha256),
            SignedDigest::Md5(md5) => request.content_md5(md5),
        };
        let request = request
            .customize()
            .config_override(signed_by(credentials))
            .presigned(config)
            .await
            .context("pre-signing an UploadPart")?;
        // The browser sets the body's length itself (and may not set the header).
        let headers = request
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        Ok((request.uri().to_owned(), headers))
    }

    /// A URL that downloads the object as an attachment named `disposition` describes.
    pub async fn presign_get(
        &self,
        key: &str,
        disposition: &str,
        content_type: &str,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let credentials = self.signing.get().await?;
        let lifetime = url_lifetime(ttl, SystemTime::now(), credentials.expiry());
        let request = self
            .presigner
            .get_object()
            .bucket(self.bucket())
            .key(key)
            .response_content_disposition(disposition)
            .response_content_type(content_type)
            .customize()
            .config_override(signed_by(credentials))
            .presigned(presigning(lifetime)?)
            .await
            .context("pre-signing a GET")?;
        Ok(request.uri().to_owned())
    }
}

/// What a part URL signs besides its length: the digest the store checks the bytes against.
#[derive(Debug, Clone, Copy)]
pub enum SignedDigest<'a> {
    None,
    /// `x-amz-checksum-sha256` (base64), with the algorithm.
    Sha256(&'a str),
    /// `Content-MD5` (base64), which S3 stores have checked since the first S3 API.
    Md5(&'a str),
}

/// A pre-signed part PUT: the URL and the headers signed into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPart {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// When S3 stops taking it.
    pub expires_at: SystemTime,
    /// How long it was signed to live: HAUL_URL_TTL, or less when the credentials it
    /// carries expire sooner.
    pub lifetime: Duration,
}

/// What went wrong talking to S3, sorted by what the caller may do about it.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// S3 refused for good: the same request can never succeed (a part of the wrong size, a
    /// bad digest). Only this may fail a file.
    #[error("S3 refused the request ({code}): {message}")]
    Refused { code: String, message: String },
    /// The multipart upload is gone: completed or aborted. The object, if any, tells which.
    #[error("S3 knows no such multipart upload")]
    NoSuchUpload,
    /// The store does not take the request as Haul makes it (a header or checksum it does
    /// not support, an operation it has not implemented): every request like it will be
    /// refused until the settings change (HAUL_S3_CHECKSUM, as `server storage check` says).
    #[error("the storage does not support this request ({code}): {message}")]
    Unsupported { code: String, message: String },
    /// No answer: a timeout, a refused or lost connection. Nothing may be concluded from it;
    /// the same call may succeed later.
    #[error("storage unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    /// An answer that is no verdict: a 5xx, throttling, an unexpected reply. Like
    /// `Unavailable`, the same call may succeed later.
    #[error("storage failed for now: {0:#}")]
    Transient(anyhow::Error),
}

/// How an S3 error code is treated; see [`StorageError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    Refused,
    NoSuchUpload,
    Unsupported,
    Unavailable,
}

/// Codes that say the request itself is wrong and will stay wrong. Everything not listed
/// (AccessDenied after a key rotation, SlowDown, InternalError, a proxy's 502, ...) could
/// pass on a later try, so it never destroys an upload.
const DEFINITIVE: &[&str] = &[
    "InvalidPart",
    "InvalidPartOrder",
    "EntityTooSmall",
    "EntityTooLarge",
];

pub fn classify(code: Option<&str>) -> ErrorClass {
    match code {
        Some("NoSuchUpload") => ErrorClass::NoSuchUpload,
        Some(code) if DEFINITIVE.contains(&code) || is_digest_refusal(code) => ErrorClass::Refused,
        Some(code) if UNSUPPORTED.contains(&code) => ErrorClass::Unsupported,
        _ => ErrorClass::Unavailable,
    }
}

/// The metrics label for a failed call: how [`storage_error`] will treat it.
fn outcome_of<E: ProvideErrorMetadata>(error: &SdkError<E>) -> &'static str {
    let code = error.as_service_error().and_then(|e| e.code());
    match classify(code) {
        ErrorClass::NoSuchUpload => "no_such_upload",
        ErrorClass::Refused | ErrorClass::Unsupported => "refused",
        ErrorClass::Unavailable
            if matches!(
                error,
                SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
            ) =>
        {
            "no_answer"
        }
        ErrorClass::Unavailable => "error",
    }
}

fn storage_error<E>(error: SdkError<E>, doing: &'static str) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let service = error.as_service_error();
    let code = service.and_then(|e| e.code()).map(str::to_owned);
    match classify(code.as_deref()) {
        ErrorClass::NoSuchUpload => StorageError::NoSuchUpload,
        ErrorClass::Refused => StorageError::Refused {
            message: service
                .and_then(|e| e.message())
                .unwrap_or_default()
                .to_owned(),
            code: code.unwrap_or_default(),
        },
        ErrorClass::Unsupported => {
            let message = service
                .and_then(|e| e.message())
                .unwrap_or_default()
                .to_owned();
            let code = code.unwrap_or_default();
            tracing::error!(
                code,
                message,
                "the storage refused {doing} for good: it does not take the request as Haul \
                 makes it; run `server storage check` and set HAUL_S3_CHECKSUM as it says"
            );
            StorageError::Unsupported { code, message }
        }
        ErrorClass::Unavailable => {
            let no_answer = matches!(
                error,
                SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
            );
            let cause = anyhow::anyhow!("{}", DisplayErrorContext(error)).context(doing);
            if no_answer {
                StorageError::Unavailable(cause)
            } else {
                StorageError::Transient(cause)
            }
        }
    }
}

/// A part as S3 holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    pub number: i32,
    pub size: i64,
    pub etag: String,
    /// The part's SHA-256 (base64), when known: completion passes it to S3, which checks it.
    pub sha256: Option<String>,
    /// When this PUT of the part was stored, when S3 says.
    pub last_modified: Option<SystemTime>,
}

/// One entry per part number, in part order. S3 keeps only the last PUT of a part, but some
/// stores (SeaweedFS) list every PUT of it: a part sent three times would count thrice in
/// the bytes that landed, and completion would pass the duplicates on (AWS refuses a list
/// that is not strictly ascending, `InvalidPartOrder`). Of one number's entries, the one
/// whose checksum is `recorded(number)` (the digest the part was signed with) is kept;
/// failing that, the latest stored, and of equally late ones the last listed.
pub fn one_per_part(
    parts: Vec<StoredPart>,
    recorded: impl Fn(i32) -> Option<String>,
) -> Vec<StoredPart> {
    let mut kept: std::collections::BTreeMap<i32, StoredPart> = Default::default();
    for part in parts {
        match kept.entry(part.number) {
            std::collections::btree_map::Entry::Vacant(entry) => {
                entry.insert(part);
            }
            std::collections::btree_map::Entry::Occupied(mut entry) => {
                let wanted = recorded(part.number);
                let matches = |p: &StoredPart| wanted.is_some() && p.sha256 == wanted;
                let (new, old) = (matches(&part), matches(entry.get()));
                let later = part.last_modified >= entry.get().last_modified;
                if (new && !old) || (new == old && later) {
                    entry.insert(part);
                }
            }
        }
    }
    kept.into_values().collect()
}

/// An object's size and, when S3 keeps one, its SHA-256 checksum (`…-N` when composite), and
/// its ETag without the quotes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectHead {
    pub size: i64,
    pub sha256: Option<String>,
    pub etag: Option<String>,
}

/// An object under the app's prefix, as ListObjectsV2 shows it.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub key: String,
    pub last_modified: SystemTime,
}

/// A multipart upload S3 holds open.
#[derive(Debug, Clone)]
pub struct OpenUpload {
    pub key: String,
    pub upload_id: String,
    pub initiated: SystemTime,
}

impl Storage {
    /// Opens a multipart upload; with `sha256`, one whose parts carry SHA-256 checksums
    /// (`x-amz-checksum-algorithm`, which AWS wants before it takes them on parts).
    pub async fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        sha256: bool,
    ) -> Result<String, StorageError> {
        let created = self
            .call(
                "CreateMultipartUpload",
                self.client
                    .create_multipart_upload()
                    .bucket(self.bucket())
                    .key(key)
                    .content_type(content_type)
                    .set_checksum_algorithm(sha256.then_some(ChecksumAlgorithm::Sha256))
                    .send(),
            )
            .await
            .map_err(|e| storage_error(e, "starting a multipart upload"))?;
        created
            .upload_id()
            .map(str::to_owned)
            .ok_or_else(|| StorageError::Transient(anyhow::anyhow!("S3 returned no upload id")))
    }

    /// Writes an empty object, with the SHA-256 of nothing (with `sha256`; else the MD5 of
    /// nothing, as Content-MD5): a 0-byte file has no bytes for the browser to send.
    pub async fn put_empty(
        &self,
        key: &str,
        content_type: &str,
        sha256: bool,
    ) -> Result<(), StorageError> {
        let request = self
            .client
            .put_object()
            .bucket(self.bucket())
            .key(key)
            .content_type(content_type)
            .content_length(0);
        let request = if sha256 {
            request.checksum_sha256(super::checksum::of_bytes(b""))
        } else {
            request.content_md5(EMPTY_MD5)
        };
        self.call("PutObject", request.send())
            .await
            .map_err(|e| storage_error(e, "writing an empty object"))?;
        Ok(())
    }

    /// Every part S3 holds for an upload, following ListParts' pages (1 000 parts each), as
    /// listed: a store may list a part once per PUT of it (see [`one_per_part`]). None when S3
    /// knows no such upload (completed or aborted).
    pub async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Option<Vec<StoredPart>>, StorageError> {
        self.list_parts_paged(key, upload_id, 1000).await
    }

    /// `list_parts`, asking for `page_size` parts a page.
    pub async fn list_parts_paged(
        &self,
        key: &str,
        upload_id: &str,
        page_size: i32,
    ) -> Result<Option<Vec<StoredPart>>, StorageError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .call(
                    "ListParts",
                    self.client
                        .list_parts()
                        .bucket(self.bucket())
                        .key(key)
                        .upload_id(upload_id)
                        .max_parts(page_size)
                        .set_part_number_marker(marker.clone())
                        .send(),
                )
                .await;
            let page = match page.map_err(|e| storage_error(e, "listing uploaded parts")) {
                Ok(page) => page,
                Err(StorageError::NoSuchUpload) => return Ok(None),
                Err(e) => return Err(e),
            };
            parts.extend(page.parts().iter().filter_map(|part| {
                Some(StoredPart {
                    number: part.part_number()?,
                    size: part.size()?,
                    etag: part.e_tag()?.to_owned(),
                    sha256: part.checksum_sha256().map(str::to_owned),
                    last_modified: part
                        .last_modified()
                        .and_then(|at| SystemTime::try_from(*at).ok()),
                })
            }));
            match (page.is_truncated(), page.next_part_number_marker()) {
                (Some(true), Some(next)) if Some(next) != marker.as_deref() => {
                    marker = Some(next.to_owned())
                }
                _ => break,
            }
        }
        parts.sort_by_key(|part| part.number);
        Ok(Some(parts))
    }

    /// Assembles the object from `parts`. It gets its own, longer timeout: S3 may take
    /// minutes for thousands of parts. The SDK turns an <Error> inside a 200 answer into an
    /// error, as S3 documents it.
    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[StoredPart],
    ) -> Result<(), StorageError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|part| {
                        CompletedPart::builder()
                            .part_number(part.number)
                            .e_tag(&part.etag)
                            .set_checksum_sha256(part.sha256.clone())
                            .build()
                    })
                    .collect(),
            ))
            .build();
        let complete = self.timeouts.complete;
        self.call(
            "CompleteMultipartUpload",
            self.client
                .complete_multipart_upload()
                .bucket(self.bucket())
                .key(key)
                .upload_id(upload_id)
                .multipart_upload(completed)
                .customize()
                .config_override(
                    aws_sdk_s3::Config::builder().timeout_config(
                        TimeoutConfig::builder()
                            .operation_attempt_timeout(complete)
                            .operation_timeout(complete)
                            .build(),
                    ),
                )
                .send(),
        )
        .await
        .map_err(|e| storage_error(e, "completing a multipart upload"))?;
        Ok(())
    }

    /// Aborts an upload; one that is already gone is fine.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        let aborted = self
            .call(
                "AbortMultipartUpload",
                self.client
                    .abort_multipart_upload()
                    .bucket(self.bucket())
                    .key(key)
                    .upload_id(upload_id)
                    .send(),
            )
            .await;
        match aborted.map_err(|e| storage_error(e, "aborting a multipart upload")) {
            Ok(_) | Err(StorageError::NoSuchUpload) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The object's size, or None when there is no object.
    pub async fn object_size(&self, key: &str) -> Result<Option<i64>, StorageError> {
        Ok(self.head(key, false).await?.map(|head| head.size))
    }

    /// The object's size and checksum, or None when there is no object.
    pub async fn object_head(&self, key: &str) -> Result<Option<ObjectHead>, StorageError> {
        self.head(key, true).await
    }

    /// The object's size and ETag, and with `checksum` its SHA-256 checksum (asked for with
    /// `x-amz-checksum-mode`, a header stores without S3's checksums may refuse), or None when
    /// there is no object.
    pub async fn head(
        &self,
        key: &str,
        checksum: bool,
    ) -> Result<Option<ObjectHead>, StorageError> {
        match self
            .call(
                "HeadObject",
                self.client
                    .head_object()
                    .bucket(self.bucket())
                    .key(key)
                    .set_checksum_mode(checksum.then_some(ChecksumMode::Enabled))
                    .send(),
            )
            .await
        {
            Ok(head) => Ok(Some(ObjectHead {
                size: head.content_length().unwrap_or(0),
                sha256: head.checksum_sha256().map(str::to_owned),
                etag: head.e_tag().map(|etag| etag.trim_matches('"').to_owned()),
            })),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) => Err(storage_error(e, "reading an object's size")),
        }
    }

    /// Deletes an object; a missing one is fine.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.call(
            "DeleteObject",
            self.client
                .delete_object()
                .bucket(self.bucket())
                .key(key)
                .send(),
        )
        .await
        .map_err(|e| storage_error(e, "deleting an object"))?;
        Ok(())
    }

    /// One page of the objects under `prefix` (ListObjectsV2), and the token for the next.
    pub async fn objects_page(
        &self,
        prefix: &str,
        token: Option<String>,
    ) -> Result<(Vec<StoredObject>, Option<String>), StorageError> {
        let page = self
            .call(
                "ListObjectsV2",
                self.client
                    .list_objects_v2()
                    .bucket(self.bucket())
                    .prefix(prefix)
                    .set_continuation_token(token.clone())
                    .send(),
            )
            .await
            .map_err(|e| storage_error(e, "listing objects"))?;
        let objects = page
            .contents()
            .iter()
            .filter_map(|object| {
                Some(StoredObject {
                    key: object.key()?.to_owned(),
                    last_modified: SystemTime::try_from(*object.last_modified()?).ok()?,
                })
            })
            .collect();
        let next = page
            .next_continuation_token()
            .filter(|next| page.is_truncated() == Some(true) && Some(*next) != token.as_deref())
            .map(str::to_owned);
        Ok((objects, next))
    }

    /// Every multipart upload in progress under `prefix`, following ListMultipartUploads' pages.
    pub async fn open_uploads(&self, prefix: &str) -> Result<Vec<OpenUpload>, StorageError> {
        let mut uploads = Vec::new();
        let mut marker = None;
        loop {
            let (page, next) = self.open_uploads_page(prefix, marker).await?;
            uploads.extend(page);
            match next {
                Some(next) => marker = Some(next),
                None => return Ok(uploads),
            }
        }
    }

    /// One page of the multipart uploads in progress under `prefix` (up to 1 000), after
    /// `marker`, and the marker of the next page: a caller going through any number of them
    /// holds one page at a time.
    pub async fn open_uploads_page(
        &self,
        prefix: &str,
        marker: Option<UploadMarker>,
    ) -> Result<(Vec<OpenUpload>, Option<UploadMarker>), StorageError> {
        let (key_marker, id_marker) = match &marker {
            Some(marker) => (Some(marker.key.clone()), marker.upload_id.clone()),
            None => (None, None),
        };
        let page = self
            .call(
                "ListMultipartUploads",
                self.client
                    .list_multipart_uploads()
                    .bucket(self.bucket())
                    .prefix(prefix)
                    .set_key_marker(key_marker)
                    .set_upload_id_marker(id_marker)
                    .send(),
            )
            .await
            .map_err(|e| storage_error(e, "listing multipart uploads"))?;
        let uploads = page
            .uploads()
            .iter()
            .filter_map(|upload| {
                Some(OpenUpload {
                    key: upload.key()?.to_owned(),
                    upload_id: upload.upload_id()?.to_owned(),
                    initiated: SystemTime::try_from(*upload.initiated()?).ok()?,
                })
            })
            .collect();
        let next = page.next_key_marker().map(|key| UploadMarker {
            key: key.to_owned(),
            upload_id: page.next_upload_id_marker().map(str::to_owned),
        });
        // A store that answers the same marker again would page forever.
        let next =
            next.filter(|next| page.is_truncated() == Some(true) && Some(next) != marker.as_ref());
        Ok((uploads, next))
    }
}

/// Where a listing of multipart uploads carries on: after this key and upload id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadMarker {
    pub key: String,
    pub upload_id: Option<String>,
}

/// An S3 error while setting the bucket up, with its whole context (the server stops on it).
fn setup_error<E>(error: SdkError<E>) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    anyhow::anyhow!("{}", DisplayErrorContext(error))
}

/// For the operations S3 requires a checksum of (PutBucketCors, PutBucketLifecycleConfiguration):
/// the body's Content-MD5, which every S3 store takes, in place of the SDK's own checksum
/// headers (`x-amz-checksum-crc32`, `x-amz-sdk-checksum-algorithm`), which it adds even with
/// "when required" and which some stores refuse (B2: "Unsupported header"). Runs before the
/// request is signed, after the SDK's checksum step.
fn md5_instead_of_sdk_checksum(request: &mut aws_sdk_s3::config::http::HttpRequest) {
    let sdk_headers: Vec<String> = request
        .headers()
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .filter(|name| {
            name.starts_with("x-amz-checksum-") || name == "x-amz-sdk-checksum-algorithm"
        })
        .collect();
    for name in sdk_headers {
        request.headers_mut().remove(name);
    }
    if let Some(body) = request.body().bytes() {
        use base64::Engine;
        use md5::Digest;
        let md5 = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body));
        request.headers_mut().insert("content-md5", md5);
    }
}

/// A presign's config override: these exact credentials sign it.
fn signed_by(credentials: Credentials) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::Config::builder().credentials_provider(credentials)
}

fn presigning(ttl: Duration) -> anyhow::Result<PresigningConfig> {
    PresigningConfig::expires_in(ttl).context("invalid URL lifetime")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_never_outlives_its_credentials() {
        let ttl = Duration::from_secs(15 * 60);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let minutes = |m: u64| Duration::from_secs(m * 60);
        let second = Duration::from_secs(1);
        // Static keys: HAUL_URL_TTL.
        assert_eq!(url_lifetime(ttl, now, None), ttl);
        // Credentials that outlast it: HAUL_URL_TTL.
        assert_eq!(url_lifetime(ttl, now, Some(now + minutes(60))), ttl);
        assert_eq!(url_lifetime(ttl, now, Some(now + minutes(16))), ttl);
        // Credentials ending sooner: their life less the margin.
        assert_eq!(
            url_lifetime(ttl, now, Some(now + minutes(2))),
            minutes(2) - CREDENTIALS_MARGIN
        );
        assert_eq!(
            url_lifetime(ttl, now, Some(now + minutes(10))),
            minutes(10) - CREDENTIALS_MARGIN
        );
        // Whole seconds.
        assert_eq!(
            url_lifetime(ttl, now, Some(now + minutes(2) + second / 2)),
            minutes(1)
        );
        // Within the margin, or already expired: a second, never zero (S3 refuses it).
        assert_eq!(url_lifetime(ttl, now, Some(now + second * 30)), second);
        assert_eq!(url_lifetime(ttl, now, Some(now - minutes(1))), second);
    }

    fn settings(credentials: S3Credentials) -> S3Settings {
        S3Settings {
            endpoint: Some("http://127.0.0.1:9".to_owned()),
            public_endpoint: None,
            region: "us-east-1".to_owned(),
            bucket: "haul".to_owned(),
            credentials,
            path_style: true,
            timeouts: Timeouts::default(),
        }
    }

    #[test]
    fn missing_credentials_are_a_storage_outage_not_a_bug() {
        let error = anyhow::Error::new(NoCredentials("the role's endpoint timed out".into()))
            .context("pre-signing an UploadPart");
        assert!(matches!(
            crate::backend::error::Error::from(error),
            crate::backend::error::Error::StorageUnavailable(_)
        ));
    }

    /// Pre-signing never contacts S3: these run without a store.
    #[tokio::test]
    async fn urls_carry_the_session_token_and_end_with_the_credentials() {
        let ttl = Duration::from_secs(15 * 60);
        let storage = Storage::new(&settings(S3Credentials::Static {
            access_key_id: "AKIDEXAMPLE".to_owned(),
            secret_access_key: "secret".to_owned(),
            session_token: Some("the-session-token".to_owned()),
        }));
        let part = storage
            .presign_upload_part("u/k", "upload", 1, 5, None, ttl)
            .await
            .unwrap();
        assert!(part.url.contains("X-Amz-Security-Token=the-session-token"));
        assert_eq!(part.lifetime, ttl);

        // Temporary credentials with 2 minutes left: URLs live 1 minute, not 15.
        let expiry = SystemTime::now() + Duration::from_secs(120);
        let temporary = Credentials::new(
            "ASIAEXAMPLE",
            "secret",
            Some("t".into()),
            Some(expiry),
            "test",
        );
        let storage = Storage::new(&settings(S3Credentials::Provider(
            SharedCredentialsProvider::new(temporary),
        )));
        let part = storage
            .presign_upload_part("u/k", "upload", 1, 5, None, ttl)
            .await
            .unwrap();
        assert!(part.url.contains("X-Amz-Credential=ASIAEXAMPLE"));
        assert!(
            part.url.contains("X-Amz-Security-Token=t&")
                || part.url.ends_with("X-Amz-Security-Token=t")
        );
        let lifetime = part.lifetime.as_secs();
        assert!((59..=60).contains(&lifetime), "{:?}", part.lifetime);
        assert_eq!(part.lifetime, Duration::from_secs(lifetime));
        assert!(part
            .url
            .contains(&format!("X-Amz-Expires={}", part.lifetime.as_secs())));
        let url = storage
            .presign_get("u/k", "attachment", "application/octet-stream", ttl)
            .await
            .unwrap();
        let expires: u64 = url
            .split("X-Amz-Expires=")
            .nth(1)
            .and_then(|rest| rest.split('&').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!((59..=60).contains(&expires), "{url}");
    }

    /// Part URLs signed without the SDK's pipeline are the SDK's own, byte for byte, wherever
    /// the bucket is and whatever the key, the upload's id and the digest hold.
    #[tokio::test]
    async fn part_urls_are_the_sdks_byte_for_byte() {
        let keys = |session_token: Option<&str>| S3Credentials::Static {
            access_key_id: "AKIDEXAMPLE".to_owned(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
            session_token: session_token.map(str::to_owned),
        };
        let aws = |bucket: &str| S3Settings {
            endpoint: None,
            region: "eu-west-3".to_owned(),
            bucket: bucket.to_owned(),
            path_style: false,
            ..settings(keys(None))
        };
        let stores = [
            // Path style at an endpoint (MinIO, SeaweedFS, Garage).
            settings(keys(None)),
            // Browsers sent elsewhere, with temporary credentials.
            S3Settings {
                public_endpoint: Some("https://uploads.example.com:8443".to_owned()),
                ..settings(keys(Some("FwoGZXIvYXdzE+token/with=signs")))
            },
            // AWS itself: virtual-hosted, and a dotted bucket (path style over TLS).
            aws("haul-uploads"),
            aws("haul.uploads.example"),
            // R2: its own host, the region "auto".
            S3Settings {
                endpoint: Some("https://0123abcd.r2.cloudflarestorage.com".to_owned()),
                region: "auto".to_owned(),
                path_style: false,
                ..settings(keys(None))
            },
        ];
        let sha256 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";
        let md5 = "XUFAKrxLKna5cZ2REBfFkg==";
        let digests = [
            SignedDigest::None,
            SignedDigest::Sha256(sha256),
            SignedDigest::Md5(md5),
        ];
        let uploads = [
            ("u/0b9f0a4e/5d1c2f7a", "2~xHnS0vQ.Kp_q-3"),
            ("dir/a file+(1) é.bin", "VXBsb2Fk+/=%&?#id"),
        ];
        let signed_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let lifetime = Duration::from_secs(15 * 60);
        for store in stores {
            let storage = Storage::new(&store);
            let credentials = storage.signing.get().await.unwrap();
            let signer = storage
                .part_signer(&credentials)
                .await
                .unwrap_or_else(|| panic!("no signer learnt for {store:?}"));
            for digest in digests {
                for (key, upload_id) in uploads {
                    let part = PartRequest {
                        key,
                        upload_id,
                        part_number: 10_000,
                        content_length: 5 * 1024 * 1024 * 1024,
                        digest,
                    };
                    let ours = signer
                        .sign(&credentials, &part, signed_at, lifetime)
                        .unwrap();
                    let sdk = storage
                        .sdk_presign_part(credentials.clone(), &part, signed_at, lifetime)
                        .await
                        .unwrap();
                    assert_eq!(ours, sdk, "{store:?} {part:?}");
                }
            }
        }
    }

    fn stored(number: i32, etag: &str, sha256: Option<&str>, at: Option<u64>) -> StoredPart {
        StoredPart {
            number,
            size: 5,
            etag: etag.to_owned(),
            sha256: sha256.map(str::to_owned),
            last_modified: at.map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s)),
        }
    }

    fn etags(parts: &[StoredPart]) -> Vec<(i32, &str)> {
        parts.iter().map(|p| (p.number, p.etag.as_str())).collect()
    }

    #[test]
    fn a_part_listed_once_per_put_is_kept_once() {
        // SeaweedFS after part 1 was sent three times and part 3 twice.
        let listed = vec![
            stored(1, "1a", None, Some(10)),
            stored(1, "1b", None, Some(30)),
            stored(1, "1c", None, Some(20)),
            stored(2, "2a", None, Some(10)),
            stored(3, "3a", None, None),
            stored(3, "3b", None, None),
        ];
        let kept = one_per_part(listed, |_| None);
        // The latest stored; of equally dated ones, the last listed.
        assert_eq!(etags(&kept), [(1, "1b"), (2, "2a"), (3, "3b")]);
    }

    #[test]
    fn the_entry_with_the_recorded_checksum_wins_over_a_later_one() {
        let listed = vec![
            stored(1, "right", Some("R"), Some(10)),
            stored(1, "wrong", Some("W"), Some(20)),
            stored(2, "old", Some("W"), Some(10)),
            stored(2, "new", Some("R"), Some(5)),
            stored(3, "only", Some("W"), Some(1)),
        ];
        let kept = one_per_part(listed, |_| Some("R".to_owned()));
        assert_eq!(etags(&kept), [(1, "right"), (2, "new"), (3, "only")]);
        // Without a recorded digest, the latest.
        let listed = vec![
            stored(1, "right", Some("R"), Some(10)),
            stored(1, "wrong", Some("W"), Some(20)),
        ];
        assert_eq!(etags(&one_per_part(listed, |_| None)), [(1, "wrong")]);
    }

    #[test]
    fn parts_come_out_in_ascending_order() {
        let listed = vec![
            stored(3, "3", None, None),
            stored(1, "1", None, None),
            stored(2, "2", None, None),
        ];
        let numbers: Vec<i32> = one_per_part(listed, |_| None)
            .iter()
            .map(|p| p.number)
            .collect();
        assert_eq!(numbers, [1, 2, 3]);
    }

    #[test]
    fn only_definitive_refusals_fail_a_file() {
        for code in [
            "InvalidPart",
            "InvalidPartOrder",
            "EntityTooSmall",
            "BadDigest",
            "InvalidDigest",
            "XAmzContentChecksumMismatch",
            "XAmzContentSHA256Mismatch",
        ] {
            assert_eq!(classify(Some(code)), ErrorClass::Refused, "{code}");
        }
        for code in ["InvalidArgument", "NotImplemented", "InvalidRequest"] {
            assert_eq!(classify(Some(code)), ErrorClass::Unsupported, "{code}");
        }
        assert_eq!(classify(Some("NoSuchUpload")), ErrorClass::NoSuchUpload);
        // Throttling, server errors, credentials and no answer at all may pass on a later try.
        for code in [
            Some("SlowDown"),
            Some("InternalError"),
            Some("ServiceUnavailable"),
            Some("AccessDenied"),
            Some("RequestTimeout"),
            None,
        ] {
            assert_eq!(classify(code), ErrorClass::Unavailable, "{code:?}");
        }
    }
}
