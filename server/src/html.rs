//! What the server's own HTML pages share (share links, upload requests): the page around
//! them, escaping, form fields with their messages, and who is asking.

use std::net::{IpAddr, SocketAddr};

use app::{
    backend::{self, admin::Admin, session, state::AppState, users::User},
    error::{AppError, FieldError},
    format,
};
use axum::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use time::{format_description::BorrowedFormatItem, macros::format_description, OffsetDateTime};
use tower_sessions::Session;

/// The signed-in user, or the answer that sends a stranger to sign in (and back to `here`).
pub async fn signed_in(state: &AppState, session: &Session, here: &str) -> Result<User, Response> {
    match session::user(state, session).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => {
            Err(Redirect::to(&format!("/signin?next={}", format::url_encode(here))).into_response())
        }
        Err(error) => Err(error_page(state, None, error)),
    }
}

/// The signed-in administrator, or the answer for anyone else (sign in, or 403).
pub async fn admin(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    peer: SocketAddr,
    here: &str,
) -> Result<Admin, Response> {
    let user = signed_in(state, session, here).await?;
    Admin::check(user.clone(), client_ip(state, headers, peer))
        .map_err(|error| error_page(state, Some(&user), error))
}

/// The client's address, as `api::client_ip` reads it for server functions.
pub fn client_ip(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    state
        .config
        .trust_proxy
        .then(|| app::api::last_forwarded_for(headers))
        .flatten()
        .unwrap_or(peer.ip())
}

const WHEN: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute] UTC");

pub fn when(time: OffsetDateTime) -> String {
    time.format(WHEN).unwrap_or_default()
}

pub fn when_text(rfc3339: &str) -> String {
    OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(when)
        .unwrap_or_default()
}

/// Text for HTML: the five characters that could end it, escaped.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: the app's stylesheet, a header like the app's, `body` in `<main>`. No script
/// may run, and forms may post here and, for a download, go on to the store.
pub fn page(
    state: &AppState,
    status: StatusCode,
    title: &str,
    user: Option<&User>,
    body: &str,
) -> Response {
    let options = &state.leptos_options;
    let nav = match user {
        Some(user) => {
            let admin = if user.role == app::model::Role::Admin {
                r#"<a href="/admin">Admin</a>"#
            } else {
                ""
            };
            format!(
                r#"{admin}<a href="/upload">Upload</a><a href="/files">My files</a><a href="/requests">Requests</a><a href="/notifications">Notifications</a><a href="/account" class="user-email">{}</a>"#,
                esc(&user.email)
            )
        }
        None => String::new(),
    };
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/svg+xml" href="/favicon.svg">
<link rel="stylesheet" href="/{pkg}/{css}.css">
<meta name="robots" content="noindex">
<title>{title} · Haul</title></head>
<body><header class="site-header"><a href="/" class="brand">Haul</a><nav class="account-nav" aria-label="Account">{nav}</nav></header>
<main id="main">{body}</main></body></html>"#,
        pkg = options.site_pkg_dir,
        css = options.output_name,
        title = esc(title),
    );
    let policy = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' {}; \
         base-uri 'none'; frame-ancestors 'none'",
        state.config.storage_origin
    );
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// The admin pages' navigation, as the app draws it, with `current` (a path) marked.
pub fn admin_nav(current: &str) -> String {
    let links: String = [
        ("/admin", "Overview"),
        ("/admin/files", "Files"),
        ("/admin/users", "Users"),
        ("/admin/uploads", "Uploads"),
        ("/admin/shares", "Share links"),
        ("/admin/webhooks", "Webhooks"),
        ("/admin/tokens", "API tokens"),
        ("/admin/audit", "Audit log"),
    ]
    .iter()
    .map(|(href, label)| {
        let mark = if *href == current {
            r#" aria-current="page""#
        } else {
            ""
        };
        format!(r#"<a href="{href}"{mark}>{label}</a>"#)
    })
    .collect();
    format!(r#"<nav class="admin-nav" aria-label="Admin">{links}</nav>"#)
}

pub fn error_page(state: &AppState, user: Option<&User>, error: backend::Error) -> Response {
    let error = AppError::from(error);
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (title, words) = match error {
        AppError::NotFound => (
            "Not found".to_owned(),
            "There is no such file or link here.".to_owned(),
        ),
        AppError::Forbidden => (
            "Not allowed".to_owned(),
            "Only administrators can see this page.".to_owned(),
        ),
        other => ("Something went wrong".to_owned(), other.to_string()),
    };
    let body = format!(
        r#"<section class="share-card"><h1>{}</h1><p role="alert">{}</p></section>"#,
        esc(&title),
        esc(&words)
    );
    page(state, status, &title, user, &body)
}

pub fn field_error(problems: &[FieldError], field: &str) -> Option<String> {
    problems
        .iter()
        .find(|p| p.field == field)
        .map(|p| p.message.clone())
}

/// One labelled input of the link form, with its problem if it has one.
pub fn input(
    problems: &[FieldError],
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    hint: &str,
) -> String {
    let problem = field_error(problems, name);
    let invalid = if problem.is_some() {
        format!(r#" aria-invalid="true" aria-describedby="{name}-error""#)
    } else {
        format!(r#" aria-describedby="{name}-hint""#)
    };
    let control = if kind == "textarea" {
        format!(
            r#"<textarea id="{name}" name="{name}" rows="3"{invalid}>{}</textarea>"#,
            esc(value)
        )
    } else {
        format!(
            r#"<input id="{name}" name="{name}" type="{kind}" value="{}" autocomplete="off"{invalid}>"#,
            esc(value)
        )
    };
    format!(
        r#"<div class="field"><label for="{name}">{label}</label>{control}<p class="hint" id="{name}-hint">{hint}</p><p class="field-error" id="{name}-error" role="alert">{}</p></div>"#,
        esc(&problem.unwrap_or_default())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_end_its_element() {
        assert_eq!(
            esc(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
