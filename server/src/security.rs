//! Request and response guards that apply to every route.

use std::time::Duration;

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use url::Url;

/// Refuses state-changing requests that a browser sent from another site. Server functions
/// have no CSRF token of their own; browsers mark every cross-site request with Origin (or,
/// failing that, Sec-Fetch-Site or Referer). Requests without any of them come from scripts
/// and command-line clients, which carry no ambient cookies of a victim, and are let through.
pub async fn reject_cross_site(
    State(origin): State<String>,
    request: Request,
    next: Next,
) -> Response {
    if is_safe(request.method()) || bearer_only(&request) || same_site(&request, &origin) {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), uri = %request.uri(), "refused a cross-site request");
        (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response()
    }
}

/// A request with an API token and no cookie: a browser cannot be made to send one
/// cross-site (a script would need the token, and the CORS preflight it triggers is
/// refused), so it needs no Origin check. With a cookie too, it is checked like any other.
fn bearer_only(request: &Request) -> bool {
    let headers = request.headers();
    app::api::bearer(headers).is_some() && !headers.contains_key(header::COOKIE)
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn same_site(request: &Request, origin: &str) -> bool {
    let headers = request.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(sent) = text("origin") {
        return sent == origin;
    }
    if let Some(site) = text("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    if let Some(referer) = text("referer") {
        return Url::parse(referer).is_ok_and(|url| url.origin().ascii_serialization() == origin);
    }
    true
}

/// Headers every answer carries, whatever answers it (a page, JSON, the bundle, a 404, a 413,
/// a panic's 500, a refused connection's 503): no MIME sniffing, no framing, no paths leaked.
pub const HEADERS: [(header::HeaderName, &str); 3] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
];

/// The policy of everything but pages: JSON, files and errors need no scripts at all. Pages
/// set their own, with a script nonce (see app::shell).
pub const NON_PAGE_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// The hashing worker's policy (a worker runs under its own script's): it may load
/// `/md5.js` from this origin (`importScripts`), nothing else.
pub const WORKER_POLICY: &str = "default-src 'none'; script-src 'self'; frame-ancestors 'none'";

/// The script the page starts as its hashing worker.
const WORKER_PATH: &str = "/hash-worker.js";

/// Adds `HEADERS`, and `NON_PAGE_POLICY` to answers that are not pages. The outermost layer,
/// so that no early answer escapes it.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let worker = request.uri().path() == WORKER_PATH;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    let is_page = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_page && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let policy = if worker {
            WORKER_POLICY
        } else {
            NON_PAGE_POLICY
        };
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    response
}

/// Bounds on request bodies: server functions take small JSON or form bodies, and file bytes
/// never come through here.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: usize,
    /// The whole body must arrive within this time of the headers.
    pub timeout: Duration,
}

/// Reads a request's whole body before handing the request on: one larger than allowed gets a
/// 413, one that has not all arrived within the timeout a 408, and its connection is closed.
/// A client that trickles a body can hold a connection for the timeout at most.
pub async fn read_body_within(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes as u64) {
        return too_large(limits);
    }
    if declared == Some(0) || (declared.is_none() && is_safe(request.method())) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(limits.timeout, to_bytes(body, limits.max_bytes)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(error)) if is_length_limit(&error) => too_large(limits),
        Ok(Err(_)) => closing(
            StatusCode::BAD_REQUEST,
            "The request body could not be read.".into(),
        ),
        Err(_) => {
            tracing::info!(uri = %parts.uri, "a request body did not arrive in time");
            closing(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "The request body did not arrive within {} s.",
                    limits.timeout.as_secs_f64()
                ),
            )
        }
    }
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = cause.source();
    }
    false
}

fn too_large(limits: BodyLimits) -> Response {
    closing(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "The request body is larger than {} bytes.",
            limits.max_bytes
        ),
    )
}

/// A plain-text answer after which the connection is closed (what is left of the body is
/// not worth reading).
fn closing(status: StatusCode, message: String) -> Response {
    (status, [(header::CONNECTION, "close")], message).into_response()
}
