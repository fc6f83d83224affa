//! Server functions for a user's files: list (searched and sorted), look up, find an earlier
//! copy, download, rename, delete. Each checks the session and calls `backend::files`.

use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{FileId, FilePage, FileView},
};

/// The caller's files whose name contains `name` (ignoring case; empty or absent: all),
/// sorted by `sort` (`newest`, the default, `oldest`, `name`, `name_desc`, `largest`,
/// `smallest`), 50 a page; pass `next_cursor` back, with the same name and sort, for the next.
/// With how many complete files match, and their size.
#[server(endpoint = "list_files")]
pub async fn list_files(
    cursor: Option<String>,
    name: Option<String>,
    sort: Option<String>,
) -> Result<FilePage, AppError> {
    let (state, user) = super::require_user().await?;
    let query = crate::backend::files::ListQuery::parse(
        name.as_deref().unwrap_or_default(),
        sort.as_deref().unwrap_or_default(),
    )?;
    let files = crate::backend::files::list(&state.db, user.id, &query, cursor.as_deref());
    let count = crate::backend::files::count_matching(&state.db, user.id, &query.name);
    let ((rows, next_cursor), (matching_files, matching_bytes)) = futures::try_join!(files, count)?;
    Ok(FilePage {
        files: rows.iter().map(|row| row.view()).collect(),
        next_cursor,
        matching_files,
        matching_bytes,
        usage: user.view(),
    })
}

/// The caller's newest complete file with this name and size, if there is one: the upload
/// page asks before sending a second copy.
#[server(endpoint = "find_same_file", client = crate::api::client::StatusAware)]
pub async fn find_same_file(name: String, size: u64) -> Result<Option<FileView>, AppError> {
    let (state, user, via) = super::require_uploader().await?;
    // A question for the owner about their own files: a visitor sees none of them.
    if via.is_some() {
        return Ok(None);
    }
    let file = crate::backend::files::find_same(&state.db, user.id, &name, size).await?;
    Ok(file.map(|file| file.view()))
}

/// One of the caller's files (a visitor of an upload request: one of theirs).
#[server(endpoint = "get_file", client = crate::api::client::StatusAware)]
pub async fn get_file(file_id: FileId) -> Result<FileView, AppError> {
    let (state, user, via) = super::require_uploader().await?;
    super::check_visitors_file(&state, via.as_ref(), file_id).await?;
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

/// Gives the file a new name (the bytes stay where they are). When another of the caller's
/// files has that name it answers `NameTaken` and changes nothing, unless `anyway` is true.
#[server(endpoint = "rename_file")]
pub async fn rename_file(
    file_id: FileId,
    name: String,
    anyway: Option<bool>,
) -> Result<FileView, AppError> {
    let (state, user) = super::require_user().await?;
    let anyway = anyway.unwrap_or(false);
    Ok(crate::backend::file_actions::rename(&state, &user, file_id, &name, anyway).await?)
}
