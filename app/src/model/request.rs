//! Upload requests as their owner sees them (visitors get pages, not this).

use serde::{Deserialize, Serialize};

use super::RequestId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Open,
    Expired,
    Closed,
}

impl RequestState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Expired => "Expired",
            Self::Closed => "Closed",
        }
    }
}

/// An upload request and what it received so far (complete files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestView {
    pub id: RequestId,
    pub title: String,
    /// Who visitors are told asks.
    pub owner_name: String,
    pub note: String,
    pub has_password: bool,
    /// RFC 3339.
    pub created_at: String,
    pub expires_at: String,
    pub max_bytes: Option<u64>,
    pub max_files: Option<u32>,
    pub max_file_bytes: Option<u64>,
    pub received_files: u64,
    pub received_bytes: u64,
    pub state: RequestState,
}

/// A request just made: its URL is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRequest {
    pub request: RequestView,
    pub url: String,
}
