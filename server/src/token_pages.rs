//! API tokens' pages, rendered here as plain HTML (nothing added to the wasm bundle):
//! - `/tokens`: the signed-in user's tokens, with their scope, expiry and last use; the form
//!   that makes one (shown once, on the answer to that form) and a revoke button each.
//! - `/admin/tokens`: every user's tokens, for administrators, each revocable.

use std::net::SocketAddr;

use app::{
    backend::{
        self,
        audit::Actor,
        state::AppState,
        tokens::{self, NewToken, Token},
        users::User,
    },
    error::FieldError,
};
use axum::{
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Router,
};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::html::{admin, admin_nav, client_ip, error_page, esc, input, page, signed_in, when};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}/revoke", post(revoke))
        .route("/admin/tokens", get(admin_list))
        .route("/admin/tokens/{id}/revoke", post(admin_revoke))
}

async fn list(State(state): State<AppState>, session: Session) -> Response {
    let user = match signed_in(&state, &session, "/tokens").await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    shown(&state, &user, None, &Typed::default(), &[], StatusCode::OK).await
}

#[derive(Deserialize, Default)]
struct Typed {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    expires_in: String,
}

async fn create(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    Form(typed): Form<Typed>,
) -> Response {
    let user = match signed_in(&state, &session, "/tokens").await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    let ip = client_ip(&state, &headers, peer);
    let new = NewToken {
        name: &typed.name,
        scope: &typed.scope,
        expires_in: &typed.expires_in,
    };
    match tokens::create(&state.db, &user, ip, &new).await {
        Ok(token) => {
            let created = Some((token.as_str(), typed.name.trim()));
            let empty = Typed::default();
            shown(&state, &user, created, &empty, &[], StatusCode::CREATED).await
        }
        Err(backend::Error::Invalid(problems)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            shown(&state, &user, None, &typed, &problems, status).await
        }
        Err(error) => error_page(&state, Some(&user), error),
    }
}

async fn revoke(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let user = match signed_in(&state, &session, "/tokens").await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    let actor = Actor::user(&user, Some(client_ip(&state, &headers, peer)));
    revoked(&state, &user, Some(user.id), &id, &actor, "/tokens").await
}

/// Revokes token `id` (`owner`'s, or with None anyone's) for `actor`, then back to `page`.
/// A malformed id is nobody's token: it answers like another user's.
async fn revoked(
    state: &AppState,
    user: &User,
    owner: Option<Uuid>,
    id: &str,
    actor: &Actor,
    page: &str,
) -> Response {
    let id = Uuid::parse_str(id).unwrap_or(Uuid::nil());
    match tokens::revoke(&state.db, owner, id, actor).await {
        Ok(()) => Redirect::to(page).into_response(),
        Err(error) => error_page(state, Some(user), error),
    }
}

async fn admin_list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let admin = match admin(&state, &session, &headers, peer, "/admin/tokens").await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    match tokens::list(&state.db, None).await {
        Ok(rows) => {
            let body = format!(
                r#"<div class="admin">{nav}
<h1>API tokens</h1>
<p>Every user's tokens, newest first (the newest 500). A revoked token stops at once; disabling a user stops all of theirs.</p>
{table}</div>"#,
                nav = admin_nav("/admin/tokens"),
                table = table(&rows, "/admin/tokens", true),
            );
            page(
                &state,
                StatusCode::OK,
                "API tokens",
                Some(admin.user()),
                &body,
            )
        }
        Err(error) => error_page(&state, Some(admin.user()), error),
    }
}

async fn admin_revoke(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let admin = match admin(&state, &session, &headers, peer, "/admin/tokens").await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    revoked(
        &state,
        admin.user(),
        None,
        &id,
        &admin.actor(),
        "/admin/tokens",
    )
    .await
}

/// The user's page: the token just made (`created`, shown this once), their tokens, and the
/// form with what was `typed` and its `problems`.
async fn shown(
    state: &AppState,
    user: &User,
    created: Option<(&str, &str)>,
    typed: &Typed,
    problems: &[FieldError],
    status: StatusCode,
) -> Response {
    let rows = match tokens::list(&state.db, Some(user.id)).await {
        Ok(rows) => rows,
        Err(error) => return error_page(state, Some(user), error),
    };
    let fresh = created.map_or_else(String::new, |(token, name)| {
        format!(
            r#"<section class="share-card new-token" role="status"><h2>Token “{name}” made</h2>
<p>Copy it now: it is shown only this once.</p>
<p><code class="api-token">{token}</code></p>
<p>With the command line: <code>haul login {origin}</code>, then paste it. With curl: <code>-H "Authorization: Bearer {token}"</code>.</p></section>"#,
            name = esc(name),
            token = esc(token),
            origin = esc(&state.config.public_origin),
        )
    });
    let scope = |value: &str, label: &str| {
        let chosen = typed.scope == value || (typed.scope.is_empty() && value == "upload");
        format!(
            r#"<label class="choice"><input type="radio" name="scope" value="{value}"{}> {label}</label>"#,
            if chosen { " checked" } else { "" }
        )
    };
    let scope_problem = crate::html::field_error(problems, "scope").unwrap_or_default();
    let body = format!(
        r#"<section class="tokens-page"><h1>API tokens</h1>
<p>A token lets a script or the <code>haul</code> command line act for you on the API (<code>Authorization: Bearer …</code>), within its scope. Keep it secret; revoke it when it is no longer needed.</p>
{fresh}
{table}
<h2>New token</h2>
<form method="post" action="/tokens" class="share-form">
{name}
<fieldset class="field"><legend>It may</legend>
{upload}{read}{full}
<p class="field-error" id="scope-error" role="alert">{scope_problem}</p></fieldset>
{expires}
<button type="submit" class="button">Make the token</button></form></section>"#,
        table = table(&rows, "/tokens", false),
        name = input(
            problems,
            "name",
            "Name",
            "text",
            &typed.name,
            "What it is for, such as \"render node 3\"."
        ),
        upload = scope(
            "upload",
            "upload: start, send and finish uploads, and list my files"
        ),
        read = scope("read", "read: list and download my files"),
        full = scope("full", "full: upload, read, rename and delete my files"),
        scope_problem = esc(&scope_problem),
        expires = input(
            problems,
            "expires_in",
            "Expires after",
            "text",
            &typed.expires_in,
            "Such as 30d or 12h; empty: never (at most 366d)."
        ),
    );
    page(state, status, "API tokens", Some(user), &body)
}

/// Tokens as a table; with `owners`, each row names its owner. Active ones can be revoked
/// by a POST to `{base}/{id}/revoke`.
fn table(rows: &[Token], base: &str, owners: bool) -> String {
    if rows.is_empty() {
        return r#"<p class="empty">No tokens yet.</p>"#.to_owned();
    }
    let body: String = rows
        .iter()
        .map(|row| {
            let state = row.state();
            let action = if state == "Active" {
                format!(
                    r#"<form method="post" action="{base}/{id}/revoke"><button type="submit" class="button secondary">Revoke</button></form>"#,
                    id = row.id
                )
            } else {
                String::new()
            };
            let owner = if owners {
                format!(r#"<td class="email">{}</td>"#, esc(&row.owner_email))
            } else {
                String::new()
            };
            format!(
                r#"<tr data-token="{id}"><td>{name} <code>{prefix}…</code></td>{owner}<td>{scope}</td><td class="when">{created}</td><td class="when">{expires}</td><td class="when">{used}</td><td class="token-state">{state}</td><td>{action}</td></tr>"#,
                id = row.id,
                name = esc(&row.name),
                prefix = esc(&row.prefix),
                scope = esc(&row.scope),
                created = when(row.created_at),
                expires = row.expires_at.map_or_else(|| "never".to_owned(), when),
                used = row.last_used_at.map_or_else(|| "never".to_owned(), when),
            )
        })
        .collect();
    let owner_head = if owners { "<th>Owner</th>" } else { "" };
    format!(
        r#"<div class="table-scroll" tabindex="0" role="region" aria-label="API tokens"><table class="admin-table tokens"><thead><tr><th>Name</th>{owner_head}<th>Scope</th><th>Made</th><th>Expires</th><th>Last used</th><th>State</th><th></th></tr></thead><tbody>{body}</tbody></table></div>"#
    )
}
