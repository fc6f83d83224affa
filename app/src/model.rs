//! Data shapes shared by the server and the browser. Nothing secret lives here.

use serde::{Deserialize, Serialize};

pub mod admin;
pub mod id;
pub mod notification;
pub mod request;
pub mod share;

pub use id::{Email, FileId, RequestId, ShareId, UserId};
/// The parts' wire types, shared as source with the `transfer` crate (the transfer core of the
/// browser and of the `haul` command line).
pub(crate) mod wire;
pub use wire::{PartDigest, SignedPart, UploadedPart};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// The database's spelling; anything unknown is the least privileged role.
    pub fn from_db(role: &str) -> Self {
        match role {
            "admin" => Role::Admin,
            _ => Role::User,
        }
    }
}

/// The signed-in user as the browser sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub email: String,
    pub role: Role,
    pub quota_bytes: u64,
    pub used_bytes: u64,
    pub reserved_bytes: u64,
    /// Notifications they have not read (the header's count).
    pub unread: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "lowercase"))]
pub enum FileStatus {
    Uploading,
    Complete,
    Failed,
    Aborted,
}

impl FileStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Uploading => "Uploading",
            Self::Complete => "Complete",
            Self::Failed => "Failed",
            Self::Aborted => "Cancelled",
        }
    }
}

/// What the storage checked a file's bytes against, part by part, as it went up
/// (HAUL_S3_CHECKSUM when its upload began).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "lowercase"))]
pub enum Integrity {
    /// Each part's SHA-256 was signed into its URL (`x-amz-checksum-sha256`): the store refused
    /// other bytes, and the file's checksum is the composite of those digests.
    #[default]
    Sha256,
    /// Each part's MD5 was signed into its URL (`Content-MD5`): the store refused other bytes.
    /// The file's checksum is the SHA-256 composite of the digests the browser computed.
    Md5,
    /// Only sizes: the store was not asked to check the bytes, and no checksum is recorded.
    None,
}

impl Integrity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Md5 => "md5",
            Self::None => "none",
        }
    }

    /// What it means for the file, in words, for the file lists.
    pub fn label(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256, checked by the storage part by part",
            Self::Md5 => "SHA-256 from your browser; the storage checked each part's MD5",
            Self::None => "Not checked: the storage was not asked to check the bytes",
        }
    }

    /// Whether the browser hashes each part (SHA-256, and MD5 for `Md5`) before asking for
    /// its URL.
    pub fn hashes(self) -> bool {
        self != Self::None
    }
}

impl std::fmt::Display for Integrity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileView {
    pub id: FileId,
    pub name: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub status: FileStatus,
    /// RFC 3339.
    pub created_at: String,
    /// Why verification failed, for a failed file.
    pub failure: Option<String>,
    /// The verified SHA-256 of a complete file, as S3 spells it (base64): the file's own
    /// SHA-256 when it went up in one part, else the composite `<digest of the part
    /// digests>-<parts>`. None for files completed before checksums were recorded.
    pub checksum: Option<String>,
    /// How the file is cut into parts (to resume it from another page or browser).
    pub part_size: u64,
    pub part_count: u32,
    /// What the storage checked the bytes against; it decides what the browser computes for
    /// each part.
    #[serde(default)]
    pub integrity: Integrity,
    /// Sent in through an upload request: the name the sender left (empty: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_from: Option<String>,
    /// And their message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_message: Option<String>,
}

/// What `start_upload` answers: how to cut the file. Part URLs come from `sign_parts`. A
/// 0-byte file is complete at once (`file.status`): there is nothing to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUpload {
    pub file: FileView,
    pub part_size: u64,
    pub part_count: u32,
}

/// One page of "My files" as searched and sorted, how many files match and their size, and
/// the owner's storage use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePage {
    pub files: Vec<FileView>,
    /// Pass back to get the next page; None on the last one.
    pub next_cursor: Option<String>,
    /// The complete files (those stored) that match the search, on every page, and their
    /// sizes summed; uploads in progress and failed ones are listed but not counted.
    pub matching_files: u64,
    pub matching_bytes: u64,
    pub usage: UserView,
}
