//! Request and response guards that apply to every route.

use axum::{
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
    if is_safe(request.method()) || same_site(&request, &origin) {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), uri = %request.uri(), "refused a cross-site request");
        (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response()
    }
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

/// Headers every response carries: no MIME sniffing, no framing, no leaking paths to other sites.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    let is_page = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_page && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        // Pages set their own policy with a script nonce (see app::shell); everything else
        // (JSON, files, errors) needs no scripts at all.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    response
}
