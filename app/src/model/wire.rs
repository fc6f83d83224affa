//! What the transfer core and the server say to each other about parts, as JSON (the server's
//! `sign_parts` and `uploaded_parts` answers, and what `sign_parts` takes).

use serde::{Deserialize, Serialize};

/// A part the browser wants to send: its number and the digests of its bytes its file's
/// `Integrity` asks for: the base64 SHA-256 (not for `None`), and the base64 MD5 (for `Md5`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartDigest {
    pub part_number: u32,
    #[serde(default)]
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPart {
    pub part_number: u32,
    pub url: String,
    /// Headers the PUT must carry exactly as given: they are signed into the URL (the part's
    /// SHA-256 among them, so S3 refuses other bytes).
    pub headers: Vec<(String, String)>,
    /// How long the URL still works, in milliseconds from when it was signed (S3 counts
    /// from the whole second it was signed in).
    pub expires_in_ms: u64,
    /// The lifetime URLs are signed for (HAUL_URL_TTL), in milliseconds.
    pub lifetime_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedPart {
    pub part_number: u32,
    pub size: u64,
    pub etag: String,
    /// The SHA-256 the part was signed with (S3 checked the bytes against it).
    pub sha256: Option<String>,
}
