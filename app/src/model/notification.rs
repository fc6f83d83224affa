//! Notifications as their user sees them, and their own webhook.

use serde::{Deserialize, Serialize};

/// One event, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: String,
    /// `request.received`, `share.downloaded` or `upload.failed`.
    pub kind: String,
    pub text: String,
    /// What the sender wrote, for a file received.
    pub message: Option<String>,
    pub file_id: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    pub unread: bool,
}

/// A page of events, newest first; `next` goes on after the last (None: no more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPage {
    pub events: Vec<NotificationView>,
    pub unread: u32,
    pub next: Option<String>,
}

/// The user's own webhook: where events go and the secret that signs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    pub url: Option<String>,
    pub secret: Option<String>,
}
