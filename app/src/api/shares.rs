//! Server functions for share links (the same as the pages under /files/{id}/share and
//! /admin/shares do, for scripts). Each checks the session; someone else's file or link
//! answers like a missing one.

use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{
        share::{NewShare, SharePage, ShareView},
        FileId, ShareId,
    },
};

/// Makes a link to the caller's complete file: `expires_in` like `12h` or `7d` (default 7
/// days, at most HAUL_SHARE_MAX_TTL), an optional password, download limit, note and the
/// name visitors see. The answer carries the link's URL, this once.
#[server(endpoint = "create_share")]
pub async fn create_share(
    file_id: FileId,
    expires_in: Option<String>,
    password: Option<String>,
    max_downloads: Option<u32>,
    note: Option<String>,
    sender_name: Option<String>,
) -> Result<NewShare, AppError> {
    let (state, user) = super::require_user().await?;
    let ip = super::client_ip(&state).await?;
    let request = crate::backend::shares::Request {
        expires_in: expires_in.unwrap_or_default(),
        password: password.unwrap_or_default(),
        max_downloads: max_downloads.map(|n| n.to_string()).unwrap_or_default(),
        note: note.unwrap_or_default(),
        sender_name: sender_name.unwrap_or_default(),
    };
    Ok(crate::backend::shares::create(&state, &user, ip, file_id, &request).await?)
}

/// The links of the caller's file, newest first, with their downloads so far.
#[server(endpoint = "list_shares")]
pub async fn list_shares(file_id: FileId) -> Result<Vec<ShareView>, AppError> {
    let (state, user) = super::require_user().await?;
    Ok(crate::backend::shares::of_file(&state, &user, file_id).await?)
}

/// Ends one of the caller's links at once.
#[server(endpoint = "revoke_share")]
pub async fn revoke_share(share_id: ShareId) -> Result<ShareView, AppError> {
    let (state, user) = super::require_user().await?;
    let ip = super::client_ip(&state).await?;
    let actor = crate::backend::audit::Actor::user(&user, Some(ip));
    Ok(crate::backend::shares::revoke(&state.db, Some(user.id), share_id, &actor).await?)
}

/// Admins: every link, newest first, 50 a page; `owner` filters by the owner's email.
#[server(endpoint = "admin/shares")]
pub async fn admin_shares(
    owner: Option<String>,
    cursor: Option<String>,
) -> Result<SharePage, AppError> {
    let (state, _admin) = super::require_admin().await?;
    let owner = owner.unwrap_or_default();
    Ok(crate::backend::shares::list_all(&state.db, &owner, cursor.as_deref()).await?)
}

/// Admins: ends any link at once.
#[server(endpoint = "admin/revoke_share")]
pub async fn admin_revoke_share(share_id: ShareId) -> Result<ShareView, AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(crate::backend::shares::revoke(&state.db, None, share_id, &admin.actor()).await?)
}
