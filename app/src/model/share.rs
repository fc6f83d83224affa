//! Share links as their owner and admins see them (visitors get a page, not this).

use serde::{Deserialize, Serialize};

use super::{FileId, ShareId};

/// Where a link stands; only an `Active` one downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareState {
    Active,
    Expired,
    Revoked,
    /// Its download limit was reached.
    UsedUp,
}

impl ShareState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Expired => "Expired",
            Self::Revoked => "Revoked",
            Self::UsedUp => "Download limit reached",
        }
    }
}

/// A share link of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareView {
    pub id: ShareId,
    pub file_id: FileId,
    pub file_name: String,
    /// The owner's email (admins list every owner's links).
    pub owner_email: String,
    pub sender_name: String,
    pub note: String,
    pub has_password: bool,
    /// RFC 3339.
    pub created_at: String,
    pub expires_at: String,
    pub max_downloads: Option<u32>,
    pub downloads: u32,
    pub state: ShareState,
}

/// A link just made: its URL is shown this once (only a hash of its token is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewShare {
    pub share: ShareView,
    pub url: String,
}

/// One page of links (admin), newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharePage {
    pub shares: Vec<ShareView>,
    pub next_cursor: Option<String>,
}
