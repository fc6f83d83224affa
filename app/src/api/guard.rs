//! The checks every server function starts with: who is signed in (and whether an admin),
//! the session, the app state, and the client's address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use leptos::prelude::use_context;
use tower_sessions::Session;

use crate::{
    backend::{self, admin::Admin, session, state::AppState, users::User},
    error::AppError,
    model::UserView,
};

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| unexpected(anyhow::anyhow!("no AppState in context")))
}

/// A server that is not wired as it should be: logged, answered with a reference.
fn unexpected(error: anyhow::Error) -> AppError {
    backend::Error::Internal(error).into()
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| unexpected(anyhow::anyhow!("no session layer: {e}")))
}

/// The signed-in user, or `Unauthorized`. A request with `Authorization: Bearer haul_…` acts
/// with that API token alone (its session, if any, is not read): the token's scope must
/// open this endpoint, and a refusal says why in `WWW-Authenticate` (RFC 6750).
pub async fn require_user() -> Result<(AppState, User), AppError> {
    let state = state()?;
    let parts = request_parts().await?;
    if let Some(token) = bearer(&parts.headers) {
        let endpoint = parts.uri.path().strip_prefix("/api/").unwrap_or_default();
        let ip = client_ip(&state).await?;
        return match backend::tokens::authenticate(&state, token, endpoint, ip).await? {
            Ok(user) => Ok((state, user)),
            Err(refusal) => Err(refused(refusal)),
        };
    }
    let session = session().await?;
    match session::user(&state, &session).await? {
        Some(user) => Ok((state, user)),
        None => Err(AppError::Unauthorized),
    }
}

async fn request_parts() -> Result<axum::http::request::Parts, AppError> {
    leptos_axum::extract::<axum::http::request::Parts>()
        .await
        .map_err(|e| unexpected(anyhow::anyhow!("no request parts: {e}")))
}

/// The part size a client asks for in `haul-part-size` (bytes), if any.
pub async fn part_size_asked() -> Result<Option<u64>, AppError> {
    let parts = request_parts().await?;
    let Some(value) = parts.headers.get("haul-part-size") else {
        return Ok(None);
    };
    match value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        Some(bytes) => Ok(Some(bytes)),
        None => Err(AppError::Invalid(vec![crate::error::FieldError {
            field: "part_size".to_owned(),
            message: "haul-part-size must be a number of bytes.".to_owned(),
        }])),
    }
}

/// The API token a request carries, if any: `Authorization: Bearer <token>`.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A refused token's answer: 401 (or 403 for its scope, 429 for its rate) with the reason
/// in `WWW-Authenticate`.
fn refused(refusal: backend::tokens::Refusal) -> AppError {
    use backend::tokens::Refusal;
    let (error, words, answer) = match refusal {
        Refusal::Invalid(words) => ("invalid_token", words, AppError::Unauthorized),
        Refusal::Scope(words) => ("insufficient_scope", words, AppError::Forbidden),
        Refusal::RateLimited(retry_after) => {
            return AppError::RateLimited { retry_after };
        }
    };
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let words = words.replace(['"', '\\'], "'");
        let challenge = format!("Bearer error=\"{error}\", error_description=\"{words}\"");
        if let Ok(value) = axum::http::HeaderValue::from_str(&challenge) {
            response.insert_header(axum::http::header::WWW_AUTHENTICATE, value);
        }
    }
    answer
}

/// Who an upload endpoint acts for: the signed-in user (None), or with `VIA_HEADER` the
/// visitor of that upload request this session holds (`Some`), on the request owner's account.
pub async fn require_uploader(
) -> Result<(AppState, User, Option<backend::requests::Visitor>), AppError> {
    let parts = request_parts().await?;
    let Some(token) = parts
        .headers
        .get(super::client::VIA_HEADER)
        .and_then(|v| v.to_str().ok())
    else {
        let (state, user) = require_user().await?;
        return Ok((state, user, None));
    };
    let state = state()?;
    let (owner, visitor) = backend::requests::visitor(&state, &session().await?, token).await?;
    Ok((state, owner, Some(visitor)))
}

/// For a visitor (`via`), NotFound unless `file_id` is one of theirs; the owner's own calls
/// pass (they may act on any of their files).
pub async fn check_visitors_file(
    state: &AppState,
    via: Option<&backend::requests::Visitor>,
    file_id: crate::model::FileId,
) -> Result<(), AppError> {
    if let Some(visitor) = via {
        backend::requests::visitors_file(&state.db, visitor, file_id).await?;
    }
    Ok(())
}

/// The signed-in admin, acting from this request's address; a signed-in user who is not one
/// gets `Forbidden` (the backend's `Admin::check` decides).
pub async fn require_admin() -> Result<(AppState, Admin), AppError> {
    // The request's address first, before anything waits: a page rendered on the server may
    // drop the reactive owner of this call while it waits (and the request with it).
    let ip = client_ip(&state()?).await?;
    let (state, user) = require_user().await?;
    Ok((state, Admin::check(user, ip)?))
}

/// Signs in the user `check` finds for this client (its address counts attempts) on this
/// request's session, then sends the browser to `next`.
pub async fn enter(
    next: Option<String>,
    check: impl AsyncFnOnce(&AppState, IpAddr) -> Result<User, backend::Error>,
) -> Result<UserView, AppError> {
    let state = state()?;
    let ip = client_ip(&state).await?;
    let user = check(&state, ip).await?;
    session::start(&session().await?, &user).await?;
    leptos_axum::redirect(&super::safe_next(next.as_deref()));
    Ok(user.view())
}

/// The client's address: the peer, or with `trust_proxy` the address the proxy appended
/// last to X-Forwarded-For (earlier entries are the client's to forge).
pub async fn client_ip(state: &AppState) -> Result<IpAddr, AppError> {
    let parts = request_parts().await?;
    if state.config.trust_proxy {
        if let Some(ip) = last_forwarded_for(&parts.headers) {
            return Ok(ip);
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .ok_or_else(|| unexpected(anyhow::anyhow!("no peer address (serve with connect info)")))
}

/// The address a trusted proxy appended last to X-Forwarded-For: the last entry, which the
/// proxy wrote, never one before it, which the client may have. Some proxies add the port
/// (`203.0.113.7:51234`, `[2001:db8::1]:443`); an entry that is no address at all gives None
/// (the caller then counts the proxy's own address, one key for all such clients).
pub fn last_forwarded_for(headers: &axum::http::HeaderMap) -> Option<std::net::IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    let entry = last.to_str().ok()?.rsplit(',').next()?.trim();
    entry.parse().ok().or_else(|| {
        entry
            .parse::<std::net::SocketAddr>()
            .ok()
            .map(|addr| addr.ip())
    })
}

/// Records how long a server function took, from its first line (the session check too).
pub fn timed(state: &AppState, function: &'static str, started: std::time::Instant) {
    state.metrics.time(
        "haul_request_duration_seconds",
        &[("function", function)],
        started.elapsed(),
    );
}
