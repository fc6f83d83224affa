//! Share links' pages, rendered here as plain HTML: they work without the wasm bundle (a
//! visitor's browser loads no script at all) and add nothing to it.
//! - `/s/{token}`: what a visitor sees; its password form; its download button (a POST, so a
//!   link preview or a prefetch never spends a download), which answers a 303 to a
//!   short-lived pre-signed URL of the bytes.
//! - `/files/{id}/share`: the owner makes links to a file, sees them with their downloads,
//!   revokes them.
//! - `/admin/shares`: every link, by owner, to revoke.

use std::net::SocketAddr;

use app::{
    backend::{
        self,
        admin::Admin,
        shares::{self, Closed, Shared},
        state::AppState,
        users::User,
    },
    error::FieldError,
    format,
    model::{share::ShareView, FileId, Integrity, ShareId},
};
use axum::{
    extract::{ConnectInfo, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::Deserialize;
use tower_sessions::Session;

use crate::html::{
    admin, admin_nav, client_ip, error_page, esc, input, page, signed_in, when, when_text,
};

/// The routes, added to the app's router (before its pages).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/s/{token}", get(visit).post(unlock))
        .route("/s/{token}/download", post(download))
        .route("/files/{file_id}/share", get(file_links).post(make_link))
        .route("/shares/{share_id}/revoke", post(revoke))
        .route("/admin/shares", get(all_links))
        .route("/admin/shares/{share_id}/revoke", post(admin_revoke))
}

/// What a visitor's session remembers of a link whose password they gave.
fn unlocked_key(share: &Shared) -> String {
    format!("share-unlocked:{}", share.id)
}

async fn visit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    session: Session,
) -> Response {
    match shares::open(&state.db, &token).await {
        Ok(Ok(share)) => {
            if share.has_password && !is_unlocked(&session, &share).await {
                return password_page(&state, &token, None, StatusCode::OK);
            }
            visitor_page(&state, &token, &share)
        }
        Ok(Err(closed)) => closed_page(&state, closed),
        Err(error) => error_page(&state, None, error),
    }
}

async fn is_unlocked(session: &Session, share: &Shared) -> bool {
    matches!(
        session.get::<bool>(&unlocked_key(share)).await,
        Ok(Some(true))
    )
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// The password form's answer: right, the session remembers it and the visitor goes back to
/// the link's page; wrong, the form again with the reason.
async fn unlock(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    Form(form): Form<PasswordForm>,
) -> Response {
    let share = match shares::open(&state.db, &token).await {
        Ok(Ok(share)) => share,
        Ok(Err(closed)) => return closed_page(&state, closed),
        Err(error) => return error_page(&state, None, error),
    };
    let ip = client_ip(&state, &headers, peer);
    match shares::check_password(&state, ip, &share, &form.password).await {
        Ok(true) => match session.insert(&unlocked_key(&share), true).await {
            Ok(()) => Redirect::to(&format!("/s/{token}")).into_response(),
            Err(error) => error_page(&state, None, backend::Error::Internal(error.into())),
        },
        Ok(false) => password_page(
            &state,
            &token,
            Some("That is not the password of this link."),
            StatusCode::UNAUTHORIZED,
        ),
        Err(backend::Error::RateLimited { retry_after }) => password_page(
            &state,
            &token,
            Some(&format!(
                "Too many wrong passwords. Try again in {}.",
                format::duration(retry_after as f64)
            )),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(error) => error_page(&state, None, error),
    }
}

async fn download(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let share = match shares::open(&state.db, &token).await {
        Ok(Ok(share)) => share,
        Ok(Err(closed)) => return closed_page(&state, closed),
        Err(error) => return error_page(&state, None, error),
    };
    let unlocked = !share.has_password || is_unlocked(&session, &share).await;
    if !unlocked {
        return password_page(
            &state,
            &token,
            Some("Give the link's password first."),
            StatusCode::UNAUTHORIZED,
        );
    }
    let ip = client_ip(&state, &headers, peer);
    match shares::download(&state, ip, &token, unlocked).await {
        // 303: the browser fetches the bytes with GET from the store, as a download.
        Ok(Ok(url)) => Redirect::to(&url).into_response(),
        Ok(Err(closed)) => closed_page(&state, closed),
        Err(error) => error_page(&state, None, error),
    }
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    expires_in: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    max_downloads: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    sender_name: String,
}

async fn file_links(
    State(state): State<AppState>,
    Path(file_id): Path<String>,
    session: Session,
) -> Response {
    let file_id = FileId::read(&file_id);
    let user = match signed_in(&state, &session, &format!("/files/{file_id}/share")).await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    owner_page(&state, &user, file_id, None, &[], None, StatusCode::OK).await
}

async fn make_link(
    State(state): State<AppState>,
    Path(file_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    Form(form): Form<LinkForm>,
) -> Response {
    let file_id = FileId::read(&file_id);
    let user = match signed_in(&state, &session, &format!("/files/{file_id}/share")).await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    let request = shares::Request {
        expires_in: form.expires_in,
        password: form.password,
        max_downloads: form.max_downloads,
        note: form.note,
        sender_name: form.sender_name,
    };
    let ip = client_ip(&state, &headers, peer);
    match shares::create(&state, &user, ip, file_id, &request).await {
        Ok(made) => {
            owner_page(
                &state,
                &user,
                file_id,
                Some(&made.url),
                &[],
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(backend::Error::Invalid(problems)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            owner_page(
                &state,
                &user,
                file_id,
                None,
                &problems,
                Some(&request),
                status,
            )
            .await
        }
        Err(error) => error_page(&state, Some(&user), error),
    }
}

async fn revoke(
    State(state): State<AppState>,
    Path(share_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let user = match signed_in(&state, &session, "/files").await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    let actor = backend::audit::Actor::user(&user, Some(client_ip(&state, &headers, peer)));
    match shares::revoke(&state.db, Some(user.id), ShareId::read(&share_id), &actor).await {
        Ok(share) => Redirect::to(&format!("/files/{}/share", share.file_id)).into_response(),
        Err(error) => error_page(&state, Some(&user), error),
    }
}

#[derive(Deserialize)]
struct AdminQuery {
    #[serde(default)]
    owner: String,
    #[serde(default)]
    cursor: Option<String>,
}

async fn all_links(
    State(state): State<AppState>,
    Query(query): Query<AdminQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let admin = match admin(&state, &session, &headers, peer, "/admin/shares").await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    match shares::list_all(&state.db, &query.owner, query.cursor.as_deref()).await {
        Ok(page) => admin_page(&state, &admin, &query.owner, &page, None),
        Err(backend::Error::Invalid(problems)) => {
            let empty = Default::default();
            let message = problems.first().map(|p| p.message.as_str());
            let mut answer = admin_page(&state, &admin, &query.owner, &empty, message);
            *answer.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            answer
        }
        Err(error) => error_page(&state, Some(admin.user()), error),
    }
}

async fn admin_revoke(
    State(state): State<AppState>,
    Path(share_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let admin = match admin(&state, &session, &headers, peer, "/admin/shares").await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    match shares::revoke(&state.db, None, ShareId::read(&share_id), &admin.actor()).await {
        Ok(_) => Redirect::to("/admin/shares").into_response(),
        Err(error) => error_page(&state, Some(admin.user()), error),
    }
}

// ---- the pages ----

/// Unknown (404) and ended (410) links answer the same words: a token tells nothing more.
fn closed_page(state: &AppState, closed: Closed) -> Response {
    let status = match closed {
        Closed::Unknown => StatusCode::NOT_FOUND,
        Closed::Ended => StatusCode::GONE,
    };
    page(
        state,
        status,
        "Link not available",
        None,
        r#"<section class="share-card"><h1>This link is not available</h1>
<p>It may have expired, been revoked, or reached its download limit, or the file was deleted. Ask the person who sent it for a new link.</p></section>"#,
    )
}

fn password_page(
    state: &AppState,
    token: &str,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let (invalid, message) = match problem {
        Some(problem) => (
            r#" aria-invalid="true" aria-describedby="password-error""#,
            esc(problem),
        ),
        None => ("", String::new()),
    };
    let body = format!(
        r#"<section class="share-card"><h1>This link has a password</h1>
<p>Type the password the sender gave you to see the file.</p>
<form method="post" action="/s/{token}" class="share-form">
<div class="field"><label for="password">Password</label>
<input id="password" name="password" type="password" required autocomplete="off" autofocus{invalid}>
<p class="field-error" id="password-error" role="alert">{message}</p></div>
<button type="submit" class="button">Open</button></form></section>"#,
        token = esc(token),
    );
    page(state, status, "Password needed", None, &body)
}

fn visitor_page(state: &AppState, token: &str, share: &Shared) -> Response {
    let left = match share.downloads_left {
        Some(1) => "<dt>Downloads left</dt><dd>1 (this link then ends)</dd>".to_owned(),
        Some(n) => format!("<dt>Downloads left</dt><dd>{n}</dd>"),
        None => String::new(),
    };
    let note = if share.note.is_empty() {
        String::new()
    } else {
        format!(
            r#"<blockquote class="share-note"><p>{}</p></blockquote>"#,
            esc(&share.note).replace('\n', "<br>")
        )
    };
    let body = format!(
        r#"<section class="share-card" aria-labelledby="file-name">
<p class="share-from">{sender} sent you a file</p>
<h1 id="file-name" class="share-name">{name}</h1>
{note}
<dl class="facts"><dt>Size</dt><dd>{size} ({exact} bytes)</dd><dt>Type</dt><dd>{kind}</dd>{checksum}<dt>Link expires</dt><dd>{expires}</dd>{left}</dl>
<form method="post" action="/s/{token}/download" class="share-download">
<button type="submit" class="button">Download</button></form>
{how}
</section>"#,
        sender = esc(&share.sender_name),
        name = esc(&share.file_name),
        size = format::bytes(share.size_bytes),
        exact = share.size_bytes,
        kind = esc(&share.content_type),
        checksum = checksum_fact(share),
        expires = when(share.expires_at),
        token = esc(token),
        how = how_to_check(share),
    );
    page(state, StatusCode::OK, &share.file_name, None, &body)
}

/// The checksum as `sha256sum` prints it (hex); a composite one with its part count.
fn checksum_hex(share: &Shared) -> Option<(String, Option<u32>)> {
    let checksum = share.checksum.as_deref()?;
    let (digest, parts) = match checksum.split_once('-') {
        Some((digest, parts)) => (digest, parts.parse().ok()),
        None => (checksum, None),
    };
    let bytes = STANDARD.decode(digest).ok()?;
    let hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Some((hex, parts))
}

fn checksum_fact(share: &Shared) -> String {
    match checksum_hex(share) {
        Some((hex, None)) => {
            format!(r#"<dt>SHA-256</dt><dd><code class="checksum">{hex}</code></dd>"#)
        }
        Some((hex, Some(parts))) => format!(
            r#"<dt>SHA-256 of parts</dt><dd><code class="checksum">{hex}-{parts}</code></dd>"#
        ),
        None => match share.integrity {
            Integrity::None => "<dt>Checked</dt><dd>By size only</dd>".to_owned(),
            _ => String::new(),
        },
    }
}

/// How the receiver checks the bytes they got against what the store verified.
fn how_to_check(share: &Shared) -> String {
    let name = shell_quote(&share.file_name);
    let steps = match checksum_hex(share) {
        Some((hex, None)) => format!(
            "<p>Run this where the file was saved; it prints the same digest:</p>\
             <pre><code>sha256sum {}</code></pre><p>It should print <code>{hex}</code>.</p>",
            esc(&name)
        ),
        Some((hex, Some(parts))) => format!(
            "<p>The file was stored in {parts} parts of {size} bytes; the digest is the SHA-256 of \
             the parts' SHA-256 digests, one after the other. Run this where the file was saved:</p>\
             <pre><code>split -b {size} -a 5 {file} haul-part- &amp;&amp; for p in haul-part-*; do sha256sum \"$p\" | head -c 64 | xxd -r -p; done | sha256sum; rm haul-part-*</code></pre>\
             <p>It should print <code>{hex}</code>.</p>",
            size = share.part_size,
            file = esc(&name),
        ),
        None => return String::new(),
    };
    format!(
        r#"<details class="share-check"><summary>How to check the file</summary>{steps}</details>"#
    )
}

/// `name` as one shell word.
fn shell_quote(name: &str) -> String {
    format!("'{}'", name.replace('\'', r"'\''"))
}

async fn owner_page(
    state: &AppState,
    user: &User,
    file_id: FileId,
    made: Option<&str>,
    problems: &[FieldError],
    typed: Option<&shares::Request>,
    status: StatusCode,
) -> Response {
    let file = match backend::files::find_owned(&state.db, user.id, file_id).await {
        Ok(file) => file,
        Err(error) => return error_page(state, Some(user), error),
    };
    let links = match shares::of_file(state, user, file_id).await {
        Ok(links) => links,
        Err(error) => return error_page(state, Some(user), error),
    };
    let made = made.map_or_else(String::new, |url| {
        format!(
            r#"<div class="notice share-made" role="status"><p><strong>Link created.</strong> Copy it now: Haul keeps only a fingerprint of it and cannot show it again.</p>
<label for="new-link">New link</label><input id="new-link" class="share-url" type="text" readonly value="{}"></div>"#,
            esc(url)
        )
    });
    let default = shares::Request::default();
    let typed = typed.unwrap_or(&default);
    let max = app::backend::capability::span(state.config.share_max_ttl);
    let sender_default = user.email.split('@').next().unwrap_or_default();
    let form = if file.status == app::model::FileStatus::Complete {
        let general = problems
            .iter()
            .find(|p| p.field == "file")
            .map(|p| {
                format!(
                    r#"<p class="form-error" role="alert">{}</p>"#,
                    esc(&p.message)
                )
            })
            .unwrap_or_default();
        format!(
            r#"<h2>New link</h2><form method="post" class="share-form">{general}{}{}{}{}{}<button type="submit" class="button">Create link</button></form>"#,
            input(
                problems,
                "expires_in",
                "Expires in",
                "text",
                &typed.expires_in,
                &format!("For example 12h, 7d or 30d; empty: 7 days; at most {max}.")
            ),
            input(
                problems,
                "password",
                "Password (optional)",
                "password",
                "",
                "Visitors type it before they see the file."
            ),
            input(
                problems,
                "max_downloads",
                "Download limit (optional)",
                "text",
                &typed.max_downloads,
                "The link ends after this many downloads."
            ),
            input(
                problems,
                "sender_name",
                "Your name, as visitors see it",
                "text",
                if typed.sender_name.is_empty() {
                    sender_default
                } else {
                    &typed.sender_name
                },
                "Shown on the link's page."
            ),
            input(
                problems,
                "note",
                "Note (optional)",
                "textarea",
                &typed.note,
                "A message shown with the file."
            ),
        )
    } else {
        r#"<p class="notice">Only a complete file can be shared.</p>"#.to_owned()
    };
    let rows: String = links.iter().map(owner_row).collect();
    let table = if links.is_empty() {
        r#"<p class="empty">No links to this file yet.</p>"#.to_owned()
    } else {
        format!(
            r#"<div class="table-scroll" tabindex="0" role="region" aria-label="Links"><table class="admin-table share-links"><thead><tr><th>Created</th><th>Expires</th><th>Downloads</th><th>Password</th><th>Note</th><th>State</th><th><span class="visually-hidden">Actions</span></th></tr></thead><tbody>{rows}</tbody></table></div>"#
        )
    };
    let body = format!(
        r#"<section class="share-owner"><p><a href="/files">← My files</a></p>
<h1>Share <span class="share-name">{name}</span></h1><p class="muted">{size}</p>{made}{form}<h2>Links</h2>{table}</section>"#,
        name = esc(&file.name),
        size = format::bytes(u64::try_from(file.size_bytes).unwrap_or(0)),
    );
    page(
        state,
        status,
        &format!("Share {}", file.name),
        Some(user),
        &body,
    )
}

fn downloads(link: &ShareView) -> String {
    match link.max_downloads {
        Some(max) => format!("{} of {max}", link.downloads),
        None => link.downloads.to_string(),
    }
}

fn revoke_form(action: &str, link: &ShareView) -> String {
    if link.state == app::model::share::ShareState::Revoked {
        return String::new();
    }
    format!(
        r#"<form method="post" action="{action}" class="inline-form"><button type="submit" class="link danger" aria-label="Revoke the link made {}">Revoke</button></form>"#,
        esc(&when_text(&link.created_at))
    )
}

fn owner_row(link: &ShareView) -> String {
    format!(
        r#"<tr data-share="{id}"><td class="when">{created}</td><td class="when">{expires}</td><td>{downloads}</td><td>{password}</td><td class="detail">{note}</td><td>{state}</td><td>{revoke}</td></tr>"#,
        id = link.id,
        created = esc(&when_text(&link.created_at)),
        expires = esc(&when_text(&link.expires_at)),
        downloads = downloads(link),
        password = if link.has_password { "Yes" } else { "No" },
        note = esc(&link.note),
        state = link.state.label(),
        revoke = revoke_form(&format!("/shares/{}/revoke", link.id), link),
    )
}

fn admin_page(
    state: &AppState,
    admin: &Admin,
    owner: &str,
    page_of: &app::model::share::SharePage,
    problem: Option<&str>,
) -> Response {
    let rows: String = page_of
        .shares
        .iter()
        .map(|link| {
            format!(
                r#"<tr data-share="{id}"><td class="email" title="{owner}">{owner}</td><td class="file-name" title="{file}">{file}</td><td class="when">{created}</td><td class="when">{expires}</td><td>{downloads}</td><td>{state}</td><td>{revoke}</td></tr>"#,
                id = link.id,
                owner = esc(&link.owner_email),
                file = esc(&link.file_name),
                created = esc(&when_text(&link.created_at)),
                expires = esc(&when_text(&link.expires_at)),
                downloads = downloads(link),
                state = link.state.label(),
                revoke = revoke_form(&format!("/admin/shares/{}/revoke", link.id), link),
            )
        })
        .collect();
    let table = if page_of.shares.is_empty() {
        r#"<p class="empty">No share links.</p>"#.to_owned()
    } else {
        format!(
            r#"<div class="table-scroll" tabindex="0" role="region" aria-label="Share links"><table class="admin-table"><thead><tr><th>Owner</th><th>File</th><th>Created</th><th>Expires</th><th>Downloads</th><th>State</th><th><span class="visually-hidden">Actions</span></th></tr></thead><tbody>{rows}</tbody></table></div>"#
        )
    };
    let next = page_of.next_cursor.as_deref().map_or_else(String::new, |cursor| {
        format!(
            r#"<nav class="pager" aria-label="Pages"><a class="button secondary" href="/admin/shares?owner={}&amp;cursor={}">Older links</a></nav>"#,
            esc(&format::url_encode(owner)),
            esc(&format::url_encode(cursor))
        )
    });
    let (invalid, message) = match problem {
        Some(problem) => (r#" aria-invalid="true""#, esc(problem)),
        None => ("", String::new()),
    };
    let body = format!(
        r#"<div class="admin">{nav}
<h1>Share links</h1>
<form method="get" class="filters"><div class="filter-field"><label for="owner">Owner's email contains</label><input id="owner" name="owner" value="{owner}" aria-describedby="owner-error"{invalid}><p class="field-error" id="owner-error" role="alert">{message}</p></div><button type="submit" class="button">Filter</button></form>
{table}{next}</div>"#,
        owner = esc(owner),
        nav = admin_nav("/admin/shares"),
    );
    page(
        state,
        StatusCode::OK,
        "Share links",
        Some(admin.user()),
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_shell_word() {
        assert_eq!(shell_quote("it's here.iso"), r"'it'\''s here.iso'");
    }
}
