//! Server functions for notifications and the caller's own webhook (what /notifications does,
//! for scripts). Each checks the session and reads only the caller's events.

use leptos::prelude::*;

use crate::{
    error::AppError,
    model::notification::{NotificationPage, WebhookView},
};

/// The caller's events, newest first (50 a page; `before`: the last id of the page before),
/// with the unread count. Listing does not mark them read.
#[server(endpoint = "notifications")]
pub async fn notifications(before: Option<String>) -> Result<NotificationPage, AppError> {
    let (state, user) = super::require_user().await?;
    let before = match before.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => None,
        Some(text) => Some(uuid::Uuid::parse_str(text).map_err(|_| {
            AppError::from(crate::backend::Error::invalid("before", "Not an event id."))
        })?),
    };
    Ok(crate::backend::notifications::list(&state.db, user.id, before).await?)
}

/// Marks all of the caller's events read; answers how many were unread.
#[server(endpoint = "read_notifications")]
pub async fn read_notifications() -> Result<u64, AppError> {
    let (state, user) = super::require_user().await?;
    Ok(crate::backend::notifications::mark_read(&state.db, user.id, None).await?)
}

/// The caller's own webhook: its URL and signing secret.
#[server(endpoint = "webhook")]
pub async fn webhook() -> Result<WebhookView, AppError> {
    let (state, user) = super::require_user().await?;
    Ok(crate::backend::notifications::webhook(&state.db, user.id).await?)
}

/// Sets the caller's webhook URL (a new URL gets a new secret), or removes it (empty).
#[server(endpoint = "set_webhook")]
pub async fn set_webhook(url: String) -> Result<WebhookView, AppError> {
    let (state, user) = super::require_user().await?;
    let allow_private = state.config.webhook_allow_private;
    Ok(crate::backend::notifications::set_webhook(&state.db, user.id, &url, allow_private).await?)
}
