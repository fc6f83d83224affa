//! What the admin dashboard shows and asks for: shapes shared by its server functions and
//! its pages.

use serde::{Deserialize, Serialize};

use super::{FileStatus, FileView, Role, UserId};

/// The overview's totals and charts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub users: u64,
    /// Signed in or seen in the last 30 days.
    pub active_users: u64,
    pub complete_files: u64,
    pub stored_bytes: u64,
    pub uploading_files: u64,
    pub reserved_bytes: u64,
    /// Failed and aborted (cancelled or abandoned) in the last 7 days.
    pub failed_recently: u64,
    pub aborted_recently: u64,
    /// The last 30 days, oldest first, every day present (0 when nothing was uploaded).
    pub uploaded_per_day: Vec<DayTotal>,
    /// The 10 users storing the most, largest first.
    pub top_users: Vec<UserTotal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTotal {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTotal {
    pub email: String,
    pub bytes: u64,
}

/// How the admin file list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileSort {
    /// Newest first.
    #[default]
    Newest,
    /// Largest first.
    Largest,
}

impl FileSort {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Largest => "largest",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "" | "newest" => Some(Self::Newest),
            "largest" => Some(Self::Largest),
            _ => None,
        }
    }
}

impl FileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploading => "uploading",
            Self::Complete => "complete",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Uploading, Self::Complete, Self::Failed, Self::Aborted]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// The admin file list's filters, as they stand in the page's URL. Empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFilter {
    /// The owner's email, exactly (any case).
    #[serde(default)]
    pub owner: String,
    /// `uploading`, `complete`, `failed` or `aborted`.
    #[serde(default)]
    pub status: String,
    /// A part of the name (3 characters at least), any case.
    #[serde(default)]
    pub name: String,
    /// Created on or after this day (YYYY-MM-DD, UTC).
    #[serde(default)]
    pub from: String,
    /// Created on or before this day.
    #[serde(default)]
    pub to: String,
    /// `newest` (default) or `largest`.
    #[serde(default)]
    pub sort: String,
}

/// A file in the admin list: the owner's view of it, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminFile {
    pub file: FileView,
    pub owner_email: String,
    /// RFC 3339, for a complete file.
    pub completed_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminFilePage {
    pub files: Vec<AdminFile>,
    pub next_cursor: Option<String>,
}

/// What a (bulk) delete removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    pub files: u64,
    pub bytes: u64,
}

/// An account in the admin user list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUser {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    pub complete_files: u64,
    pub used_bytes: u64,
    pub reserved_bytes: u64,
    pub quota_bytes: u64,
    /// RFC 3339.
    pub created_at: String,
    pub last_sign_in_at: Option<String>,
    pub disabled: bool,
    /// An admin began deleting the account and it is not finished: deleting again goes on.
    pub deleting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUserPage {
    pub users: Vec<AdminUser>,
    pub next_cursor: Option<String>,
}

/// Where deleting an account stands after one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDeletion {
    /// Files removed by this step.
    pub removed_files: u64,
    /// Files still to remove; 0 with `done`.
    pub files_left: u64,
    /// The account itself is gone.
    pub done: bool,
}

/// An upload in progress, for the admin uploads page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUpload {
    pub file: FileView,
    pub owner_id: UserId,
    pub owner_email: String,
    /// Parts the browser asked URLs for (the database's knowledge; S3's is `landed_parts`).
    pub signed_parts: u32,
    pub age_seconds: u64,
    /// Until the sweeper aborts it as abandoned; 0 when it is due.
    pub seconds_left: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUploadPage {
    pub uploads: Vec<AdminUpload>,
    pub next_cursor: Option<String>,
}

/// What S3 holds of one upload in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandedParts {
    pub landed_parts: u32,
    pub landed_bytes: u64,
    pub part_count: u32,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    /// Who did it (None: the system, or the command line).
    pub actor: Option<String>,
    pub action: String,
    /// The account it was done to (for a file, its owner).
    pub target: Option<String>,
    /// The file's id.
    pub target_file: Option<String>,
    /// The file's name, as it is now or as the entry recorded it.
    pub file_name: Option<String>,
    pub ip: Option<String>,
    /// What happened, in words ("Quota changed from 100.0 GiB to 2.0 GiB.").
    pub summary: String,
    /// The rest, as JSON text (for scripts).
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// The audit log's filters, as in the page's URL; empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// The actor's email, exactly (any case).
    #[serde(default)]
    pub actor: String,
    /// An action, e.g. `user.sign_in`.
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}
