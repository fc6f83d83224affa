//! Server functions for the admin dashboard, under /api/admin/. Each one checks that the
//! caller is a signed-in admin (the backend's `Admin`) and calls `backend::admin`. A user who
//! is not an admin gets 403, a stranger 401.

use leptos::{prelude::*, server_fn::codec::Json};

use crate::{
    error::AppError,
    model::{
        admin::{
            AdminFilePage, AdminUploadPage, AdminUser, AdminUserPage, AuditFilter, AuditPage,
            Deleted, FileFilter, LandedParts, Overview, UserDeletion,
        },
        FileId, Role, UserId,
    },
};

#[cfg(feature = "ssr")]
use crate::backend::admin as backend;

/// Totals, uploads per day for 30 days, and the 10 users storing the most.
#[server(endpoint = "admin/overview")]
pub async fn admin_overview() -> Result<Overview, AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(backend::overview::overview(&state, &admin).await?)
}

/// Every user's files that pass `filter`, 50 a page; pass `next_cursor` back for more.
#[server(endpoint = "admin/files", input = Json)]
pub async fn admin_files(
    filter: FileFilter,
    cursor: Option<String>,
) -> Result<AdminFilePage, AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(backend::files::list(&state, &admin, &filter, cursor.as_deref()).await?)
}

/// A short-lived URL that downloads any user's complete file.
#[server(endpoint = "admin/download_url")]
pub async fn admin_download_url(file_id: FileId) -> Result<String, AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(backend::files::download_url(&state, &admin, file_id).await?)
}

/// Deletes the files named (1 to 500), each from S3 first, then its row; the quota is freed.
#[server(endpoint = "admin/delete_files", input = Json)]
pub async fn admin_delete_files(file_ids: Vec<FileId>) -> Result<Deleted, AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(backend::files::delete(&state, &admin, &file_ids).await?)
}

/// Aborts any user's upload in progress.
#[server(endpoint = "admin/abort_upload")]
pub async fn admin_abort_upload(file_id: FileId) -> Result<(), AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(backend::files::abort(&state, &admin, file_id).await?)
}

/// Accounts whose email contains `email`, newest first, 50 a page.
#[server(endpoint = "admin/users")]
pub async fn admin_users(
    email: Option<String>,
    cursor: Option<String>,
) -> Result<AdminUserPage, AppError> {
    let (state, admin) = super::require_admin().await?;
    let email = email.unwrap_or_default();
    Ok(backend::users::list(&state, &admin, &email, cursor.as_deref()).await?)
}

/// Sets a quota: a size such as `500GB` or `2TiB`.
#[server(endpoint = "admin/set_quota")]
pub async fn admin_set_quota(user_id: UserId, quota: String) -> Result<AdminUser, AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(backend::users::set_quota(&state, &admin, user_id, &quota).await?)
}

/// Promotes or demotes; the last admin cannot be demoted.
#[server(endpoint = "admin/set_role")]
pub async fn admin_set_role(user_id: UserId, role: Role) -> Result<AdminUser, AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(backend::users::set_role(&state, &admin, user_id, role).await?)
}

/// Disables (sessions stop at once, no sign-in) or enables an account.
#[server(endpoint = "admin/set_disabled")]
pub async fn admin_set_disabled(user_id: UserId, disabled: bool) -> Result<AdminUser, AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(backend::users::set_disabled(&state, &admin, user_id, disabled).await?)
}

/// One step of deleting an account with all its files; call again until `done`.
#[server(endpoint = "admin/delete_user")]
pub async fn admin_delete_user(user_id: UserId) -> Result<UserDeletion, AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(backend::users::delete_step(&state, &admin, user_id).await?)
}

/// Uploads in progress, oldest first, optionally of one owner (email).
#[server(endpoint = "admin/uploads")]
pub async fn admin_uploads(
    owner: Option<String>,
    cursor: Option<String>,
) -> Result<AdminUploadPage, AppError> {
    let (state, admin) = super::require_admin().await?;
    let owner = owner.unwrap_or_default();
    Ok(backend::uploads::list(&state, &admin, &owner, cursor.as_deref()).await?)
}

/// What S3 holds of one upload in progress (ListParts).
#[server(endpoint = "admin/landed_parts")]
pub async fn admin_landed_parts(file_id: FileId) -> Result<LandedParts, AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(backend::uploads::landed(&state, &admin, file_id).await?)
}

/// Aborts every upload in progress of one user; answers how many.
#[server(endpoint = "admin/abort_user_uploads")]
pub async fn admin_abort_user_uploads(user_id: UserId) -> Result<u64, AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(backend::uploads::abort_all(&state, &admin, user_id).await?)
}

/// The audit log, newest first, 50 a page.
#[server(endpoint = "admin/audit", input = Json)]
pub async fn admin_audit(
    filter: AuditFilter,
    cursor: Option<String>,
) -> Result<AuditPage, AppError> {
    let (state, admin) = super::require_admin().await?;
    Ok(crate::backend::admin::audit::list(&state.db, &admin, &filter, cursor.as_deref()).await?)
}
