//! Server functions for a user's files: list, look up, download, rename, delete. Each checks
//! the session and calls `backend::files`.

use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{FileId, FilePage, FileView},
};

/// The caller's files, newest first, 50 a page; pass `next_cursor` back for the next page.
#[server(endpoint = "list_files")]
pub async fn list_files(cursor: Option<String>) -> Result<FilePage, AppError> {
    let (state, user) = super::require_user().await?;
    let (rows, next_cursor) =
        crate::backend::files::list(&state.db, user.id, cursor.as_deref()).await?;
    Ok(FilePage {
        files: rows.iter().map(|row| row.view()).collect(),
        next_cursor,
        usage: user.view(),
    })
}

/// One of the caller's files.
#[server(endpoint = "get_file")]
pub async fn get_file(file_id: FileId) -> Result<FileView, AppError> {
    let (state, user) = super::require_user().await?;
    let file = crate::backend::files::find_owned(&state.db, user.id, file_id).await?;
    Ok(file.view())
}

/// A short-lived URL that downloads the file under its name.
#[server(endpoint = "download_url")]
pub async fn download_url(file_id: FileId) -> Result<String, AppError> {
    let (state, user) = super::require_user().await?;
    Ok(crate::backend::file_actions::download_url(&state, &user, file_id).await?)
}

/// Deletes the file's bytes and its row, and frees its quota.
#[server(endpoint = "delete_file")]
pub async fn delete_file(file_id: FileId) -> Result<(), AppError> {
    let (state, user) = super::require_user().await?;
    let ip = super::client_ip(&state).await?;
    Ok(crate::backend::file_actions::delete(&state, &user, ip, file_id).await?)
}

/// Gives the file a new name (the bytes stay where they are).
#[server(endpoint = "rename_file")]
pub async fn rename_file(file_id: FileId, name: String) -> Result<FileView, AppError> {
    let (state, user) = super::require_user().await?;
    Ok(crate::backend::file_actions::rename(&state, &user, file_id, &name).await?)
}
