//! What is done to a stored file as a whole, by its owner or an admin: a download URL, a new
//! name, deletion (its row and quota, then its bytes), purge (its bytes, then its row).
//! Dropping a file's bytes from the storage is here too, for `uploads` and the sweeper.

use std::net::IpAddr;

use super::{
    audit::Actor,
    files::{self, FileRow},
    lease,
    state::AppState,
    storage::StorageError,
    users::User,
    Error,
};
use crate::model::{FileId, FileStatus, FileView};

/// A short-lived URL that downloads the caller's complete file under its name.
pub async fn download_url(state: &AppState, user: &User, file_id: FileId) -> Result<String, Error> {
    let file = files::find_owned(&state.db, user.id, file_id).await?;
    presign_download(state, &file).await
}

/// A short-lived URL that downloads a complete file under its name, as a download (never
/// shown as a page).
pub async fn presign_download(state: &AppState, file: &FileRow) -> Result<String, Error> {
    if file.status != FileStatus::Complete {
        return Err(Error::invalid(
            "file",
            "Only a complete file can be downloaded.",
        ));
    }
    let url = state
        .storage
        .presign_get(
            &file.object_key,
            &crate::format::content_disposition(&file.name),
            download_type(&file.content_type),
            state.config.url_ttl,
        )
        .await?;
    Ok(url)
}

/// Gives the caller's file a new name (the bytes stay where they are); unless `anyway`, not
/// a name another of their files has.
pub async fn rename(
    state: &AppState,
    user: &User,
    file_id: FileId,
    name: &str,
    anyway: bool,
) -> Result<FileView, Error> {
    let name = crate::validate::file_name(name).map_err(|m| Error::invalid("name", m))?;
    let file = files::find_owned(&state.db, user.id, file_id).await?;
    // A question for the owner, asked once; names stay free to repeat.
    if !anyway {
        if let Some(taken) = files::same_name(&state.db, user.id, file.id, &name).await? {
            return Err(Error::NameTaken(taken));
        }
    }
    // Deleted since it was read: it answers as missing, not with the details of a file gone.
    if !files::set_name(&state.db, &file, &name).await? {
        return Err(Error::NotFound);
    }
    Ok(FileRow { name, ..file }.view())
}

/// Deletes the caller's file in any state: its row and the quota it held, then its bytes
/// (an upload's parts too). An uploading file is deleted under its lease.
pub async fn delete(
    state: &AppState,
    user: &User,
    ip: IpAddr,
    file_id: FileId,
) -> Result<(), Error> {
    let file = files::find_owned(&state.db, user.id, file_id).await?;
    let (file, lease) = if file.status == FileStatus::Uploading {
        match files::claim(&state.db, file.id, lease::hold(state)).await? {
            Some((file, lease)) => (file, Some(lease)),
            None => return Err(lease::busy()),
        }
    } else {
        (file, None)
    };
    if files::remove(&state.db, &file, lease, &Actor::user(user, Some(ip))).await? {
        discard_or_leave_to_sweeper(state, &file).await;
    }
    Ok(())
}

/// Deletes any file bytes first, then its row (the quota freed): when it answers, the bytes
/// are gone from the storage. An upload is deleted under its lease; a storage failure changes
/// nothing and can be retried. False when the file was already gone.
pub async fn purge(state: &AppState, file: &FileRow, actor: &Actor) -> Result<bool, Error> {
    let lease = if file.status == FileStatus::Uploading {
        match files::claim(&state.db, file.id, lease::hold(state)).await? {
            Some((_, lease)) => Some(lease),
            None => return Err(lease::busy()),
        }
    } else {
        None
    };
    if let Err(error) = discard_bytes(state, file).await {
        if let Some(lease) = lease {
            lease::release(&state.db, lease).await?;
        }
        return Err(error.into());
    }
    files::remove(&state.db, file, lease, actor).await
}

/// Removes whatever of `file` reached S3: its open multipart upload and its object.
pub async fn discard_bytes(state: &AppState, file: &FileRow) -> Result<(), StorageError> {
    if let Some(upload_id) = &file.s3_upload_id {
        state
            .storage
            .abort_multipart(&file.object_key, upload_id)
            .await?;
    }
    state.storage.delete(&file.object_key).await
}

/// `discard_bytes` for a file whose row already says it is gone: a failure is logged, and the
/// sweeper removes what is left (bytes that no live row owns).
pub async fn discard_or_leave_to_sweeper(state: &AppState, file: &FileRow) {
    if let Err(error) = discard_bytes(state, file).await {
        tracing::warn!(file = %file.id, error = %error, "removing a file's bytes failed; the sweeper will");
    }
}

/// The type a download is served as: the declared one, except types a browser would run as
/// a page (HTML, SVG, XML, JavaScript), which go out as opaque bytes.
pub fn download_type(content_type: &str) -> &str {
    let active = content_type.contains("html")
        || content_type.contains("xml")
        || content_type.contains("javascript")
        || content_type.contains("ecmascript");
    if active {
        "application/octet-stream"
    } else {
        content_type
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_types_download_as_bytes() {
        assert_eq!(download_type("text/html"), "application/octet-stream");
        assert_eq!(download_type("image/svg+xml"), "application/octet-stream");
        assert_eq!(download_type("video/mp4"), "video/mp4");
    }
}
