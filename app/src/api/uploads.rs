//! Server functions of the upload protocol: start, sign parts, list what arrived, complete,
//! abort. Each checks the session and calls `backend::uploads`: for the signed-in user, or
//! (with the `haul-via` header of an upload request's page) for that request's visitor, who
//! reaches only their own uploads. The browser calls them with
//! `StatusAware`, which reads a proxy's error page by its status.

use leptos::{prelude::*, server_fn::codec::Json};

use crate::{
    api::client::StatusAware,
    error::AppError,
    model::{FileId, FileView, NewUpload, PartDigest, SignedPart, UploadedPart},
};

/// Reserves quota and returns the plan: how the file is cut into parts, whose URLs come from
/// `sign_parts`. A 0-byte file is complete at once. A client may ask for parts of at least
/// `haul-part-size: <bytes>` (5 MiB to 5 GiB; the server's HAUL_PART_SIZE is the least).
#[server(endpoint = "start_upload", client = StatusAware)]
pub async fn start_upload(
    name: String,
    size: u64,
    content_type: String,
) -> Result<NewUpload, AppError> {
    let started = std::time::Instant::now();
    let (state, user, via) = super::require_uploader().await?;
    if let Some(visitor) = &via {
        let ip = super::client_ip(&state).await?;
        let per_ip = state.config.request_starts_per_ip;
        crate::backend::requests::limit(&state, ip, visitor, "start", per_ip).await?;
    }
    let part_size = super::part_size_asked().await?;
    let answer = crate::backend::uploads::start(
        &state,
        &user,
        &name,
        size,
        &content_type,
        via.as_ref(),
        part_size,
    )
    .await;
    super::timed(&state, "start_upload", started);
    Ok(answer?)
}

/// Pre-signed URLs for up to 100 parts, each given with the base64 SHA-256 of its bytes,
/// which the URL signs (S3 refuses other bytes). PUT each with the headers returned. Ask
/// again when a URL has expired.
#[server(endpoint = "sign_parts", input = Json, client = StatusAware)]
pub async fn sign_parts(
    file_id: FileId,
    parts: Vec<PartDigest>,
) -> Result<Vec<SignedPart>, AppError> {
    let started = std::time::Instant::now();
    let (state, user, via) = super::require_uploader().await?;
    if let Some(visitor) = &via {
        let ip = super::client_ip(&state).await?;
        // Signs come in batches of up to 100 parts, and again as URLs expire.
        let per_ip = state.config.request_starts_per_ip.saturating_mul(50);
        crate::backend::requests::limit(&state, ip, visitor, "sign", per_ip).await?;
    }
    super::check_visitors_file(&state, via.as_ref(), file_id).await?;
    let answer = crate::backend::uploads::sign_parts(&state, &user, file_id, &parts).await;
    super::timed(&state, "sign_parts", started);
    Ok(answer?)
}

/// The parts S3 already holds: resume from here.
#[server(endpoint = "uploaded_parts", client = StatusAware)]
pub async fn uploaded_parts(file_id: FileId) -> Result<Vec<UploadedPart>, AppError> {
    let (state, user, via) = super::require_uploader().await?;
    super::check_visitors_file(&state, via.as_ref(), file_id).await?;
    Ok(crate::backend::uploads::uploaded_parts(&state, &user, file_id).await?)
}

/// Assembles the parts S3 holds and checks the result against the declared size and the
/// parts' checksums; the file's checksum is recorded.
#[server(endpoint = "complete_upload", client = StatusAware)]
pub async fn complete_upload(file_id: FileId) -> Result<FileView, AppError> {
    let started = std::time::Instant::now();
    let (state, user, via) = super::require_uploader().await?;
    super::check_visitors_file(&state, via.as_ref(), file_id).await?;
    let answer = crate::backend::uploads::complete(&state, &user, file_id).await;
    super::timed(&state, "complete_upload", started);
    Ok(answer?)
}

/// Cancels an upload in progress and frees its quota.
#[server(endpoint = "abort_upload", client = StatusAware)]
pub async fn abort_upload(file_id: FileId) -> Result<(), AppError> {
    let (state, user, via) = super::require_uploader().await?;
    super::check_visitors_file(&state, via.as_ref(), file_id).await?;
    Ok(crate::backend::uploads::abort(&state, &user, file_id).await?)
}

/// The storage refused a part's PUT for good, in these words (a header or checksum it does not
/// take, as S3's error body says): the upload fails with them, and the server logs them for
/// its administrator. Only for the caller's upload in progress; for one that has ended, its
/// ending is answered.
#[server(endpoint = "report_refusal", client = StatusAware)]
pub async fn report_refusal(
    file_id: FileId,
    part_number: u32,
    refusal: String,
) -> Result<(), AppError> {
    let (state, user, via) = super::require_uploader().await?;
    super::check_visitors_file(&state, via.as_ref(), file_id).await?;
    Ok(crate::backend::uploads::refused(&state, &user, file_id, part_number, &refusal).await?)
}
