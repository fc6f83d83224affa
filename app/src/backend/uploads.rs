//! The upload protocol: start, sign parts, list what arrived, complete (verify), abort.
//! The browser sends bytes to S3 directly; this module only decides, signs and checks.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::{
    files::{self, FileRow, NewFile},
    state::AppState,
    storage::StoredPart,
    users::User,
};
use crate::{
    error::{noted, AppError},
    model::{FileStatus, FileView, NewUpload, SignedPart, UploadedPart},
    upload::{plan::plan, progress},
    validate,
};

/// Part URLs signed per call: a 50 GB file needs 32 calls, not 3 200.
pub const MAX_PARTS_PER_SIGN: usize = 100;

pub async fn start(
    state: &AppState,
    user: &User,
    name: &str,
    size: u64,
    content_type: &str,
) -> Result<NewUpload, AppError> {
    let config = &state.config;
    let mut problems = Vec::new();
    let name = noted(&mut problems, "name", validate::file_name(name));
    let content_type = noted(
        &mut problems,
        "content_type",
        validate::content_type(content_type),
    );
    let planned = if size > config.max_file_size {
        Err(format!(
            "The file is larger than the {} limit.",
            progress::bytes(config.max_file_size)
        ))
    } else {
        plan(size, config.part_size)
    };
    let plan = noted(&mut problems, "size", planned);
    let (Some(name), Some(content_type), Some(plan)) = (name, content_type, plan) else {
        return Err(AppError::Invalid(problems));
    };
    let size_bytes =
        i64::try_from(size).map_err(|_| AppError::invalid("size", "The file is too large."))?;

    let id = Uuid::new_v4();
    let key = format!("u/{}/{id}", user.id);
    let mut tx = state.db.begin().await?;
    if !files::reserve(&mut tx, user.id, size_bytes).await? {
        let free = (user.quota_bytes - user.used_bytes - user.reserved_bytes).max(0) as u64;
        return Err(AppError::invalid(
            "size",
            format!(
                "Not enough room: this file needs {}, and {} of your quota is free.",
                progress::bytes(size),
                progress::bytes(free)
            ),
        ));
    }
    let upload_id = if plan.is_single() {
        None
    } else {
        Some(state.storage.create_multipart(&key, &content_type).await?)
    };
    let row = files::insert(
        &mut tx,
        &NewFile {
            id,
            owner_id: user.id,
            object_key: &key,
            name: &name,
            content_type: &content_type,
            size_bytes,
            s3_upload_id: upload_id.as_deref(),
            part_size: plan.part_size as i64,
            part_count: plan.part_count as i32,
        },
    )
    .await?;
    tx.commit().await?;
    let url = match upload_id {
        None => Some(
            state
                .storage
                .presign_put(&key, size, &content_type, config.url_ttl)
                .await?,
        ),
        Some(_) => None,
    };
    Ok(NewUpload {
        file: row.view(),
        part_size: plan.part_size,
        part_count: plan.part_count,
        url,
    })
}

/// The caller's file, still uploading.
async fn uploading(state: &AppState, user: &User, file_id: &str) -> Result<FileRow, AppError> {
    let file = files::find_owned(&state.db, user.id, file_id).await?;
    match file.status() {
        FileStatus::Uploading => Ok(file),
        FileStatus::Complete => Err(AppError::invalid(
            "file",
            "This upload is already complete.",
        )),
        FileStatus::Failed | FileStatus::Aborted => Err(AppError::invalid(
            "file",
            "This upload has ended; start it again.",
        )),
    }
}

pub async fn sign_parts(
    state: &AppState,
    user: &User,
    file_id: &str,
    numbers: &[u32],
) -> Result<Vec<SignedPart>, AppError> {
    let file = uploading(state, user, file_id).await?;
    let numbers: BTreeSet<u32> = numbers.iter().copied().collect();
    let count = u32::try_from(file.part_count).unwrap_or(0);
    if numbers.is_empty() || numbers.len() > MAX_PARTS_PER_SIGN {
        return Err(AppError::invalid(
            "part_numbers",
            format!("Ask for 1 to {MAX_PARTS_PER_SIGN} parts at a time."),
        ));
    }
    if let Some(bad) = numbers.iter().find(|&&n| n == 0 || n > count) {
        return Err(AppError::invalid(
            "part_numbers",
            format!("Part {bad} does not exist: this file has parts 1 to {count}."),
        ));
    }
    let ttl = state.config.url_ttl;
    let mut signed = Vec::with_capacity(numbers.len());
    for number in numbers {
        let url = match &file.s3_upload_id {
            None => {
                state
                    .storage
                    .presign_put(
                        &file.object_key,
                        file.size_bytes as u64,
                        &file.content_type,
                        ttl,
                    )
                    .await?
            }
            Some(upload_id) => {
                state
                    .storage
                    .presign_upload_part(&file.object_key, upload_id, number as i32, ttl)
                    .await?
            }
        };
        signed.push(SignedPart {
            part_number: number,
            url,
        });
    }
    Ok(signed)
}

/// What S3 holds of an upload in progress: the truth a resumed upload starts from.
pub async fn uploaded_parts(
    state: &AppState,
    user: &User,
    file_id: &str,
) -> Result<Vec<UploadedPart>, AppError> {
    let file = uploading(state, user, file_id).await?;
    let parts = stored_parts(state, &file).await?.unwrap_or_default();
    Ok(parts
        .into_iter()
        .map(|part| UploadedPart {
            part_number: part.number as u32,
            size: part.size as u64,
            etag: part.etag,
        })
        .collect())
}

async fn stored_parts(
    state: &AppState,
    file: &FileRow,
) -> Result<Option<Vec<StoredPart>>, AppError> {
    Ok(match &file.s3_upload_id {
        Some(upload_id) => {
            state
                .storage
                .list_parts(&file.object_key, upload_id)
                .await?
        }
        None => state
            .storage
            .object_size(&file.object_key)
            .await?
            .map(|size| {
                vec![StoredPart {
                    number: 1,
                    size,
                    etag: String::new(),
                }]
            }),
    })
}

/// Assembles and verifies the file. Parts come from S3's own list, never from the client; the
/// object must then have exactly the declared size. Calling it again answers the same.
pub async fn complete(state: &AppState, user: &User, file_id: &str) -> Result<FileView, AppError> {
    let file = files::find_owned(&state.db, user.id, file_id).await?;
    match file.status() {
        FileStatus::Complete => return Ok(file.view()),
        FileStatus::Failed => {
            return Err(AppError::invalid(
                "file",
                file.failure_reason
                    .clone()
                    .unwrap_or_else(|| "The upload failed.".into()),
            ))
        }
        FileStatus::Aborted => return Err(AppError::invalid("file", "This upload was cancelled.")),
        FileStatus::Uploading => {}
    }
    if let Some(upload_id) = &file.s3_upload_id {
        // No parts listed: the upload is gone, because a concurrent call completed it (then
        // the object exists) or it was aborted (then it does not). The size check tells.
        let listed = state
            .storage
            .list_parts(&file.object_key, upload_id)
            .await?;
        if let Some(parts) = listed {
            match check_parts(&file, &parts) {
                Ok(()) => {}
                Err(PartProblem::Missing(message)) => {
                    return Err(AppError::invalid("file", message))
                }
                Err(PartProblem::WrongSize(reason)) => {
                    return Err(fail(state, &file, &reason).await)
                }
            }
            if let Err(error) = state
                .storage
                .complete_multipart(&file.object_key, upload_id, &parts)
                .await
            {
                tracing::warn!(file = %file.id, error = format!("{error:#}"), "completing failed");
                return Err(fail(state, &file, "S3 refused to assemble the parts.").await);
            }
        }
    }
    match state.storage.object_size(&file.object_key).await? {
        None => Err(AppError::invalid(
            "file",
            "Nothing has been uploaded for this file yet.",
        )),
        Some(size) if size != file.size_bytes => {
            let reason = format!(
                "The upload holds {} but {} were declared.",
                progress::bytes(size as u64),
                progress::bytes(file.size_bytes as u64)
            );
            Err(fail(state, &file, &reason).await)
        }
        Some(_) => {
            files::finish(&state.db, &file, FileStatus::Complete, None).await?;
            Ok(FileRow {
                status: "complete".to_owned(),
                ..file
            }
            .view())
        }
    }
}

enum PartProblem {
    /// Can still be sent.
    Missing(String),
    /// The bytes are not the declared file.
    WrongSize(String),
}

/// Every part present, each of the planned size.
fn check_parts(file: &FileRow, parts: &[StoredPart]) -> Result<(), PartProblem> {
    let count = file.part_count;
    let numbers: BTreeSet<i32> = parts.iter().map(|p| p.number).collect();
    if let Some(missing) = (1..=count).find(|n| !numbers.contains(n)) {
        return Err(PartProblem::Missing(format!(
            "Part {missing} of {count} has not been uploaded yet."
        )));
    }
    let last_size = file.size_bytes - i64::from(count - 1) * file.part_size;
    let wrong = parts.iter().find(|p| {
        let expected = if p.number == count {
            last_size
        } else {
            file.part_size
        };
        p.number > count || p.size != expected
    });
    match wrong {
        Some(part) => Err(PartProblem::WrongSize(format!(
            "Part {} holds {} bytes, which does not match the declared size.",
            part.number, part.size
        ))),
        None => Ok(()),
    }
}

/// Marks the file failed, removes whatever reached S3 and gives the reserved bytes back.
async fn fail(state: &AppState, file: &FileRow, reason: &str) -> AppError {
    if let Err(error) = discard_bytes(state, file).await {
        return error.into();
    }
    match files::finish(&state.db, file, FileStatus::Failed, Some(reason)).await {
        Ok(_) => AppError::invalid("file", reason),
        Err(error) => error.into(),
    }
}

/// Removes whatever of `file` reached S3: its open multipart upload and its object.
pub(crate) async fn discard_bytes(state: &AppState, file: &FileRow) -> anyhow::Result<()> {
    if let Some(upload_id) = &file.s3_upload_id {
        state
            .storage
            .abort_multipart(&file.object_key, upload_id)
            .await?;
    }
    state.storage.delete(&file.object_key).await
}

/// Deletes a file in any state: its bytes (parts too), its row, and the quota it held.
pub async fn delete(state: &AppState, user: &User, file_id: &str) -> Result<(), AppError> {
    let file = files::find_owned(&state.db, user.id, file_id).await?;
    discard_bytes(state, &file).await?;
    files::remove(&state.db, &file).await?;
    Ok(())
}

/// Cancels an upload in progress: S3 drops the parts, the quota is freed. Repeating it is fine.
pub async fn abort(state: &AppState, user: &User, file_id: &str) -> Result<(), AppError> {
    let file = files::find_owned(&state.db, user.id, file_id).await?;
    match file.status() {
        FileStatus::Aborted | FileStatus::Failed => Ok(()),
        FileStatus::Complete => Err(AppError::invalid(
            "file",
            "This upload is complete; delete the file instead.",
        )),
        FileStatus::Uploading => {
            discard_bytes(state, &file).await?;
            files::finish(&state.db, &file, FileStatus::Aborted, None).await?;
            Ok(())
        }
    }
}
