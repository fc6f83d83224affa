//! Server functions for upload requests (what the page /requests does, for scripts). Each
//! checks the session; someone else's request answers like a missing one. Visitors use the
//! upload endpoints with the `haul-via` header (see `api::uploads`).
// `create_request` takes each field of the form as its own argument (what a script posts);
// the browser build's stub of it would trip the lint, which an item attribute does not reach.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{
        request::{NewRequest, RequestView},
        RequestId,
    },
};

/// Makes an upload request link: `title`, and optional `expires_in` (`12h`, `7d`; default 7
/// days, at most HAUL_SHARE_MAX_TTL), `password`, limits `max_bytes`, `max_files`,
/// `max_file_bytes` (sizes such as `10GiB`), `note`, and the `owner_name` visitors see. The
/// answer carries the link's URL, this once.
#[server(endpoint = "create_request")]
pub async fn create_request(
    title: String,
    expires_in: Option<String>,
    password: Option<String>,
    max_bytes: Option<String>,
    max_files: Option<String>,
    max_file_bytes: Option<String>,
    note: Option<String>,
    owner_name: Option<String>,
) -> Result<NewRequest, AppError> {
    let (state, user) = super::require_user().await?;
    let ip = super::client_ip(&state).await?;
    let asked = crate::backend::requests::Asked {
        title,
        expires_in: expires_in.unwrap_or_default(),
        password: password.unwrap_or_default(),
        max_bytes: max_bytes.unwrap_or_default(),
        max_files: max_files.unwrap_or_default(),
        max_file_bytes: max_file_bytes.unwrap_or_default(),
        note: note.unwrap_or_default(),
        owner_name: owner_name.unwrap_or_default(),
    };
    Ok(crate::backend::requests::create(&state, &user, ip, &asked).await?)
}

/// The caller's upload requests, newest first, with what each received.
#[server(endpoint = "list_requests")]
pub async fn list_requests() -> Result<Vec<RequestView>, AppError> {
    let (state, user) = super::require_user().await?;
    Ok(crate::backend::requests::of_owner(&state.db, user.id).await?)
}

/// Closes one of the caller's requests: nothing more can start through it.
#[server(endpoint = "close_request")]
pub async fn close_request(request_id: RequestId) -> Result<RequestView, AppError> {
    let (state, user) = super::require_user().await?;
    let ip = super::client_ip(&state).await?;
    let actor = crate::backend::audit::Actor::user(&user, Some(ip));
    Ok(crate::backend::requests::close(&state.db, &user, request_id, &actor).await?)
}
