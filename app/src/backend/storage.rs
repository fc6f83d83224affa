//! Object storage: one S3 client built at start and shared. Only the server talks to S3 for
//! control operations; file bytes go from the browser to S3 through pre-signed URLs.

use std::{sync::Arc, time::Duration};

use anyhow::{bail, Context};
use aws_sdk_s3::{
    config::{
        timeout::TimeoutConfig, BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
        ResponseChecksumValidation,
    },
    error::DisplayErrorContext,
    operation::create_bucket::CreateBucketError,
    presigning::PresigningConfig,
    types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, CompletedMultipartUpload,
        CompletedPart, CorsConfiguration, CorsRule, ExpirationStatus, LifecycleRule,
        LifecycleRuleFilter,
    },
    Client,
};

/// How to reach a bucket.
#[derive(Clone)]
pub struct S3Settings {
    /// None means AWS itself (the endpoint follows from the region).
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `endpoint/bucket/key` rather than `bucket.endpoint/key`; MinIO and SeaweedFS need it.
    pub path_style: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("path_style", &self.path_style)
            .finish()
    }
}

#[derive(Clone)]
pub struct Storage {
    client: Client,
    bucket: Arc<str>,
}

/// Days after which S3 itself aborts a multipart upload nobody finished.
const ABORT_INCOMPLETE_AFTER_DAYS: i32 = 2;

impl Storage {
    pub fn new(settings: &S3Settings) -> Self {
        let credentials = Credentials::new(
            &settings.access_key_id,
            &settings.secret_access_key,
            None,
            None,
            "haul-settings",
        );
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(settings.path_style)
            // The SDK's default CRC32 checksum would be signed into pre-signed PUTs that the
            // browser cannot reproduce (aws-sdk-rust#1240): only send checksums we ask for.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .build(),
            );
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Self {
            client: Client::from_conf(config.build()),
            bucket: settings.bucket.as_str().into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Fails unless the bucket exists and these credentials may use it.
    pub async fn check_bucket(&self) -> anyhow::Result<()> {
        self.client
            .head_bucket()
            .bucket(self.bucket())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", DisplayErrorContext(e)))
            .with_context(|| format!("checking bucket {:?}", self.bucket()))?;
        Ok(())
    }

    /// Creates the bucket when missing and sets its CORS rule (the browser PUTs parts from
    /// `allowed_origin` and must read each part's ETag) and a rule that aborts abandoned
    /// multipart uploads. Used for the embedded store, where Haul owns the bucket.
    pub async fn ensure_bucket(&self, allowed_origin: &str) -> anyhow::Result<()> {
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
        self.set_cors(allowed_origin).await?;
        self.set_lifecycle().await
    }

    async fn set_cors(&self, allowed_origin: &str) -> anyhow::Result<()> {
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
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", DisplayErrorContext(e)))
            .with_context(|| format!("setting the CORS rule of bucket {:?}", self.bucket()))?;
        Ok(())
    }

    async fn set_lifecycle(&self) -> anyhow::Result<()> {
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
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", DisplayErrorContext(e)))
            .with_context(|| format!("setting the lifecycle rule of bucket {:?}", self.bucket()))?;
        Ok(())
    }

    /// The origin (scheme://host[:port]) that pre-signed URLs point browsers to; pages allow
    /// connections to it in their Content-Security-Policy. Pre-signing never contacts S3.
    pub async fn browser_origin(&self) -> anyhow::Result<String> {
        let probe = self
            .client
            .get_object()
            .bucket(self.bucket())
            .key("probe")
            .presigned(presigning(Duration::from_secs(60))?)
            .await
            .context("pre-signing a probe URL")?;
        let url = url::Url::parse(probe.uri()).context("parsing a pre-signed URL")?;
        Ok(url.origin().ascii_serialization())
    }

    /// A URL that lets its holder PUT exactly `content_length` bytes of `content_type` to
    /// `key` until it expires: both headers are signed, so S3 refuses any other body.
    pub async fn presign_put(
        &self,
        key: &str,
        content_length: u64,
        content_type: &str,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let length = i64::try_from(content_length).context("content length out of range")?;
        let request = self
            .client
            .put_object()
            .bucket(self.bucket())
            .key(key)
            .content_length(length)
            .content_type(content_type)
            .presigned(presigning(ttl)?)
            .await
            .context("pre-signing a PUT")?;
        Ok(request.uri().to_owned())
    }

    /// A URL for one part of a multipart upload.
    pub async fn presign_upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let request = self
            .client
            .upload_part()
            .bucket(self.bucket())
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number)
            .presigned(presigning(ttl)?)
            .await
            .context("pre-signing an UploadPart")?;
        Ok(request.uri().to_owned())
    }
}

/// A part as S3 holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    pub number: i32,
    pub size: i64,
    pub etag: String,
}

fn sdk_error<E>(e: aws_sdk_s3::error::SdkError<E>) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    anyhow::anyhow!("{}", DisplayErrorContext(e))
}

impl Storage {
    pub async fn create_multipart(&self, key: &str, content_type: &str) -> anyhow::Result<String> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(self.bucket())
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(sdk_error)
            .context("starting a multipart upload")?;
        created
            .upload_id()
            .map(str::to_owned)
            .context("S3 returned no upload id")
    }

    /// Every part S3 holds for an upload, following ListParts' pages (1 000 parts each).
    /// None when S3 knows no such upload (completed or aborted).
    pub async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> anyhow::Result<Option<Vec<StoredPart>>> {
        self.list_parts_paged(key, upload_id, 1000).await
    }

    /// `list_parts`, asking for `page_size` parts a page.
    pub async fn list_parts_paged(
        &self,
        key: &str,
        upload_id: &str,
        page_size: i32,
    ) -> anyhow::Result<Option<Vec<StoredPart>>> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_parts()
                .bucket(self.bucket())
                .key(key)
                .upload_id(upload_id)
                .max_parts(page_size)
                .set_part_number_marker(marker.clone())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(e) if is_no_such_upload(&e) => return Ok(None),
                Err(e) => return Err(sdk_error(e).context("listing uploaded parts")),
            };
            parts.extend(page.parts().iter().filter_map(|part| {
                Some(StoredPart {
                    number: part.part_number()?,
                    size: part.size()?,
                    etag: part.e_tag()?.to_owned(),
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

    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[StoredPart],
    ) -> anyhow::Result<()> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|part| {
                        CompletedPart::builder()
                            .part_number(part.number)
                            .e_tag(&part.etag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        // The SDK turns an <Error> inside a 200 answer into an error, as S3 documents it.
        self.client
            .complete_multipart_upload()
            .bucket(self.bucket())
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .send()
            .await
            .map_err(sdk_error)
            .context("completing a multipart upload")?;
        Ok(())
    }

    /// Aborts an upload; one that is already gone is fine.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> anyhow::Result<()> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(self.bucket())
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_no_such_upload(&e) => Ok(()),
            Err(e) => Err(sdk_error(e).context("aborting a multipart upload")),
        }
    }

    /// The object's size, or None when there is no object.
    pub async fn object_size(&self, key: &str) -> anyhow::Result<Option<i64>> {
        match self
            .client
            .head_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(head.content_length().unwrap_or(0))),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) => Err(sdk_error(e).context("reading an object's size")),
        }
    }

    /// Deletes an object; a missing one is fine.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.client
            .delete_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
            .map_err(sdk_error)
            .context("deleting an object")?;
        Ok(())
    }

    /// A URL that downloads the object as an attachment named `disposition` describes.
    pub async fn presign_get(
        &self,
        key: &str,
        disposition: &str,
        content_type: &str,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let request = self
            .client
            .get_object()
            .bucket(self.bucket())
            .key(key)
            .response_content_disposition(disposition)
            .response_content_type(content_type)
            .presigned(presigning(ttl)?)
            .await
            .context("pre-signing a GET")?;
        Ok(request.uri().to_owned())
    }
}

/// A multipart upload S3 holds open.
#[derive(Debug, Clone)]
pub struct OpenUpload {
    pub key: String,
    pub upload_id: String,
    pub initiated: std::time::SystemTime,
}

impl Storage {
    /// Every multipart upload in progress under `prefix`, following ListMultipartUploads' pages.
    pub async fn open_uploads(&self, prefix: &str) -> anyhow::Result<Vec<OpenUpload>> {
        let mut uploads = Vec::new();
        let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(self.bucket())
                .prefix(prefix)
                .set_key_marker(key_marker.clone())
                .set_upload_id_marker(id_marker.clone())
                .send()
                .await
                .map_err(sdk_error)
                .context("listing multipart uploads")?;
            uploads.extend(page.uploads().iter().filter_map(|upload| {
                Some(OpenUpload {
                    key: upload.key()?.to_owned(),
                    upload_id: upload.upload_id()?.to_owned(),
                    initiated: std::time::SystemTime::try_from(*upload.initiated()?).ok()?,
                })
            }));
            let next = (
                page.next_key_marker().map(str::to_owned),
                page.next_upload_id_marker().map(str::to_owned),
            );
            if page.is_truncated() != Some(true)
                || next.0.is_none()
                || (next.0.clone(), next.1.clone()) == (key_marker.clone(), id_marker.clone())
            {
                break;
            }
            (key_marker, id_marker) = next;
        }
        Ok(uploads)
    }
}

fn is_no_such_upload<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "NoSuchUpload")
}

fn presigning(ttl: Duration) -> anyhow::Result<PresigningConfig> {
    PresigningConfig::expires_in(ttl).context("invalid URL lifetime")
}
