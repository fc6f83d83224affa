//! Part URLs signed without the SDK's request pipeline.
//!
//! Every `sign_parts` call signs a batch of part URLs, and the SDK's presigner builds each one
//! as a whole request: runtime plugins, layered configuration, interceptors, the S3 endpoint
//! rules, serialisation. All that decides nothing that changes from part to part. Here it runs
//! once, for a probe URL, and tells where the bucket is and what the signature is for; each
//! part's URL is then built as the SDK builds it (the same path and query encoding, the same
//! order) and signed with SigV4 as the SDK signs it (`aws-sigv4`, with S3's settings). The
//! unit tests check that both give the same URL and headers, byte for byte.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use aws_sdk_s3::config::Credentials;
use aws_sigv4::{
    http_request::{
        sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody,
        SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
    },
    sign::v4,
};
use aws_smithy_http::{label, query};
use aws_smithy_runtime_api::client::identity::Identity;

use super::storage::SignedDigest;

/// The key of the probe URL a [`PartSigner`] is learnt from (and the browsers' origin).
pub const PROBE_KEY: &str = "haul-probe";

/// What one part's URL signs.
#[derive(Debug, Clone, Copy)]
pub struct PartRequest<'a> {
    pub key: &'a str,
    pub upload_id: &'a str,
    pub part_number: i32,
    pub content_length: u64,
    pub digest: SignedDigest<'a>,
}

impl PartRequest<'_> {
    /// The header the digest travels in, as the PUT must carry it.
    pub fn digest_header(&self) -> Option<(&'static str, &str)> {
        match self.digest {
            SignedDigest::None => None,
            SignedDigest::Sha256(sha256) => Some(("x-amz-checksum-sha256", sha256)),
            SignedDigest::Md5(md5) => Some(("content-md5", md5)),
        }
    }
}

/// Signs part PUTs for one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSigner {
    /// The bucket's URL as the SDK resolved it: scheme, host and port, and the bucket's name
    /// in the path for path-style addressing; no trailing slash.
    bucket_url: String,
    /// The region and service the SDK signed for (from the probe's `X-Amz-Credential`).
    region: String,
    service: String,
}

impl PartSigner {
    /// Learns the bucket's URL and the signing scope from a GetObject of [`PROBE_KEY`]
    /// pre-signed by the SDK. None when that URL has another shape (then the SDK signs).
    pub fn from_probe(url: &str) -> Option<Self> {
        let (path, query) = url.split_once('?')?;
        let bucket_url = path.strip_suffix(PROBE_KEY)?.strip_suffix('/')?;
        let credential = url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "X-Amz-Credential")?
            .1;
        // KEY-ID/DATE/REGION/SERVICE/aws4_request
        let mut scope = credential.rsplit('/');
        if scope.next()? != "aws4_request" {
            return None;
        }
        let service = scope.next()?.to_owned();
        let region = scope.next()?.to_owned();
        Some(Self {
            bucket_url: bucket_url.to_owned(),
            region,
            service,
        })
    }

    /// The URL of one part's PUT, signed at `signed_at` (whole seconds) to live `lifetime`,
    /// and the headers signed into it that the PUT must carry (its length aside).
    pub fn sign(
        &self,
        credentials: &Credentials,
        part: &PartRequest<'_>,
        signed_at: SystemTime,
        lifetime: Duration,
    ) -> anyhow::Result<(String, Vec<(String, String)>)> {
        // As the SDK serialises an UploadPart: the key with `/` kept, then its query.
        let mut url = format!(
            "{}/{}?x-id=UploadPart&partNumber={}&uploadId={}",
            self.bucket_url,
            label::fmt_string(part.key, label::EncodingStrategy::Greedy),
            part.part_number,
            query::fmt_string(part.upload_id),
        );
        let length = part.content_length.to_string();
        let digest = part.digest_header();
        let headers = [("content-length", length.as_str())]
            .into_iter()
            .chain(digest);
        // S3's signing settings in the SDK (aws-runtime's `settings`, with the options S3's
        // endpoint rules give): no double encoding, no path normalisation, the session token
        // signed; pre-signed, so the signature goes in the query and the payload is unsigned.
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.session_token_mode = SessionTokenMode::Include;
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(lifetime);
        let identity = Identity::from(credentials.clone());
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(signed_at)
            .settings(settings)
            .build()
            .context("signing parameters")?
            .into();
        let request =
            SignableRequest::new("PUT", url.as_str(), headers, SignableBody::UnsignedPayload)
                .context("a part URL to sign")?;
        let (instructions, _signature) = sign(request, &params)
            .context("signing a part URL")?
            .into_parts();
        let (_, signing) = instructions.into_parts();
        for (name, value) in signing {
            url.push('&');
            url.push_str(&query::fmt_string(name));
            url.push('=');
            url.push_str(&query::fmt_string(&value));
        }
        let headers = digest
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .into_iter()
            .collect();
        Ok((url, headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_and_the_bucket_come_from_the_probe() {
        let probe = format!(
            "https://haul.s3.eu-west-3.amazonaws.com/{PROBE_KEY}?x-id=GetObject&\
             X-Amz-Algorithm=AWS4-HMAC-SHA256&\
             X-Amz-Credential=AKID%2F20261204%2Feu-west-3%2Fs3%2Faws4_request&X-Amz-Date=x"
        );
        let signer = PartSigner::from_probe(&probe).unwrap();
        assert_eq!(signer.bucket_url, "https://haul.s3.eu-west-3.amazonaws.com");
        assert_eq!(signer.region, "eu-west-3");
        assert_eq!(signer.service, "s3");
        // Another shape: the SDK keeps signing.
        assert_eq!(
            PartSigner::from_probe("https://example.com/other?X-Amz-Credential=a"),
            None
        );
        assert_eq!(
            PartSigner::from_probe(&format!("https://example.com/{PROBE_KEY}?a=b")),
            None
        );
    }
}
