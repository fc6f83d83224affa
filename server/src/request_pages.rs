//! Upload requests' pages, rendered here as plain HTML (no bundle):
//! - `/requests`: the owner makes request links, sees what each received, closes them.
//! - `/r/{token}`: the gate a visitor passes once (the password, if any; a name and a
//!   message, if they like), then what they sent through it. Sending itself is the app's
//!   page `/r/{token}/send` (the upload engine); `guard_send_page` lets only a visitor who
//!   passed the gate reach it.

use std::net::SocketAddr;

use app::{
    backend::{
        self,
        requests::{self, Closed, Opened, Visitor},
        state::AppState,
        users::User,
    },
    error::FieldError,
    format,
    model::{request::RequestView, RequestId},
};
use axum::{
    extract::{ConnectInfo, Path, Request, State},
    http::{HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Router,
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::html::{client_ip, error_page, esc, input, page, signed_in, when, when_text};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/requests", get(own_requests).post(make_request))
        .route("/requests/{request_id}/close", post(close))
        .route("/r/{token}", get(gate).post(enter))
}

/// In front of `/r/{token}/send`: a visitor who has not passed the gate of that request (or
/// whose request has ended) is sent to the gate, which says why.
pub async fn guard_send_page(
    State(state): State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    let token = request
        .uri()
        .path()
        .strip_prefix("/r/")
        .and_then(|rest| rest.strip_suffix("/send"))
        .map(str::to_owned);
    let Some(token) = token.filter(|_| request.method() == Method::GET) else {
        return next.run(request).await;
    };
    match requests::open(&state.db, &token).await {
        Ok(Ok(opened)) if visitor_of(&session, &opened).await.is_some() => next.run(request).await,
        _ => Redirect::to(&format!("/r/{token}")).into_response(),
    }
}

async fn visitor_of(session: &Session, request: &Opened) -> Option<Visitor> {
    session
        .get::<Visitor>(&requests::session_key(request.id))
        .await
        .ok()
        .flatten()
}

async fn gate(
    State(state): State<AppState>,
    Path(token): Path<String>,
    session: Session,
) -> Response {
    match requests::open(&state.db, &token).await {
        Ok(Ok(request)) => match visitor_of(&session, &request).await {
            Some(visitor) => sent_page(&state, &token, &request, &visitor).await,
            None => gate_page(
                &state,
                &token,
                &request,
                &GateForm::default(),
                &[],
                StatusCode::OK,
            ),
        },
        Ok(Err(closed)) => closed_page(&state, closed),
        Err(error) => error_page(&state, None, error),
    }
}

#[derive(Deserialize, Default)]
struct GateForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    message: String,
}

/// The gate's form: the password checked (guesses limited like sign-ins), the visitor made
/// and kept in the session, then on to the page that sends.
async fn enter(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    Form(form): Form<GateForm>,
) -> Response {
    let request = match requests::open(&state.db, &token).await {
        Ok(Ok(request)) => request,
        Ok(Err(closed)) => return closed_page(&state, closed),
        Err(error) => return error_page(&state, None, error),
    };
    let ip = client_ip(&state, &headers, peer);
    let entered = requests::enter(
        &state,
        ip,
        &request,
        &form.password,
        &form.name,
        &form.message,
    )
    .await;
    let problem = |field: &str, message: String| {
        vec![FieldError {
            field: field.to_owned(),
            message,
        }]
    };
    match entered {
        Ok(Some(visitor)) => {
            // Passing the gate again keeps the same visitor: their uploads stay theirs.
            let visitor = match visitor_of(&session, &request).await {
                Some(earlier) => Visitor {
                    visitor_id: earlier.visitor_id,
                    ..visitor
                },
                None => visitor,
            };
            match session
                .insert(&requests::session_key(request.id), &visitor)
                .await
            {
                Ok(()) => Redirect::to(&format!("/r/{token}/send")).into_response(),
                Err(error) => error_page(&state, None, backend::Error::Internal(error.into())),
            }
        }
        Ok(None) => {
            let problems = problem(
                "password",
                "That is not the password of this request.".to_owned(),
            );
            gate_page(
                &state,
                &token,
                &request,
                &form,
                &problems,
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(backend::Error::Invalid(problems)) => gate_page(
            &state,
            &token,
            &request,
            &form,
            &problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(backend::Error::RateLimited { retry_after }) => {
            let words = format!(
                "Too many wrong passwords. Try again in {}.",
                format::duration(retry_after as f64)
            );
            let problems = problem("password", words);
            gate_page(
                &state,
                &token,
                &request,
                &form,
                &problems,
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Err(error) => error_page(&state, None, error),
    }
}

fn closed_page(state: &AppState, closed: Closed) -> Response {
    let status = match closed {
        Closed::Unknown => StatusCode::NOT_FOUND,
        Closed::Ended => StatusCode::GONE,
    };
    page(
        state,
        status,
        "Request not available",
        None,
        r#"<section class="share-card"><h1>This request is not available</h1>
<p>It may have expired or been closed. Ask the person who sent you the link for a new one.</p></section>"#,
    )
}

/// What the request asks for, in words.
fn limits(request: &Opened) -> String {
    let mut facts = String::new();
    if let Some(max) = request.max_file_bytes {
        facts.push_str(&format!(
            "<dt>Largest file</dt><dd>{}</dd>",
            format::bytes(max)
        ));
    }
    if let Some(max) = request.max_files {
        facts.push_str(&format!("<dt>Files at most</dt><dd>{max}</dd>"));
    }
    if let Some(max) = request.max_bytes {
        facts.push_str(&format!(
            "<dt>In all at most</dt><dd>{}</dd>",
            format::bytes(max)
        ));
    }
    facts.push_str(&format!(
        "<dt>Open until</dt><dd>{}</dd>",
        when(request.expires_at)
    ));
    format!(r#"<dl class="facts">{facts}</dl>"#)
}

fn heading(request: &Opened) -> String {
    let note = if request.note.is_empty() {
        String::new()
    } else {
        format!(
            r#"<blockquote class="share-note"><p>{}</p></blockquote>"#,
            esc(&request.note).replace('\n', "<br>")
        )
    };
    let full = if request.owner_full {
        r#"<p class="form-error" role="alert">This request cannot take files right now: its owner has no room left. Let them know.</p>"#
    } else {
        ""
    };
    format!(
        r#"<p class="share-from">{} asks you to send files</p><h1 class="share-name">{}</h1>{note}{}{full}"#,
        esc(&request.owner_name),
        esc(&request.title),
        limits(request),
    )
}

fn gate_page(
    state: &AppState,
    token: &str,
    request: &Opened,
    form: &GateForm,
    problems: &[FieldError],
    status: StatusCode,
) -> Response {
    let password = if request.has_password {
        input(
            problems,
            "password",
            "Password",
            "password",
            "",
            "The person who asked gave it to you with the link.",
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"<section class="share-card">{heading}
<form method="post" action="/r/{token}" class="share-form">{password}{name}{message}<button type="submit" class="button">Continue</button></form>
<p class="hint">Nobody sees what you send but them. You will not see their files.</p></section>"#,
        heading = heading(request),
        token = esc(token),
        name = input(
            problems,
            "name",
            "Your name (optional)",
            "text",
            &form.name,
            "So they know who sent the files."
        ),
        message = input(
            problems,
            "message",
            "Message (optional)",
            "textarea",
            &form.message,
            "Shown with your files."
        ),
    );
    page(state, status, &request.title, None, &body)
}

/// A visitor who passed the gate: what they sent through it, and on to send more.
async fn sent_page(state: &AppState, token: &str, request: &Opened, visitor: &Visitor) -> Response {
    let sent = match requests::sent_by(&state.db, visitor).await {
        Ok(sent) => sent,
        Err(error) => return error_page(state, None, error),
    };
    let rows: String = sent
        .iter()
        .map(|file| {
            format!(
                r#"<tr><td class="file-name" title="{name}">{name}</td><td>{size}</td><td>{status}</td></tr>"#,
                name = esc(&file.name),
                size = format::bytes(u64::try_from(file.size_bytes).unwrap_or(0)),
                status = requests::visitor_status(file),
            )
        })
        .collect();
    let list = if sent.is_empty() {
        r#"<p class="empty">Nothing sent yet.</p>"#.to_owned()
    } else {
        format!(
            r#"<div class="table-scroll" tabindex="0" role="region" aria-label="What you sent"><table class="admin-table"><thead><tr><th>Name</th><th>Size</th><th>State</th></tr></thead><tbody>{rows}</tbody></table></div>"#
        )
    };
    let from = if visitor.name.is_empty() {
        String::new()
    } else {
        format!("<p class=\"muted\">Sending as {}.</p>", esc(&visitor.name))
    };
    let body = format!(
        r#"<section class="share-card">{heading}{from}
<p class="share-download"><a class="button" href="/r/{token}/send">Send files</a></p>
<h2>What you sent</h2>{list}</section>"#,
        heading = heading(request),
        token = esc(token),
    );
    page(state, StatusCode::OK, &request.title, None, &body)
}

#[derive(Deserialize)]
struct RequestForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    expires_in: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    max_bytes: String,
    #[serde(default)]
    max_files: String,
    #[serde(default)]
    max_file_bytes: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    owner_name: String,
}

async fn own_requests(State(state): State<AppState>, session: Session) -> Response {
    let user = match signed_in(&state, &session, "/requests").await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    owner_page(
        &state,
        &user,
        None,
        &[],
        &requests::Asked::default(),
        StatusCode::OK,
    )
    .await
}

async fn make_request(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    Form(form): Form<RequestForm>,
) -> Response {
    let user = match signed_in(&state, &session, "/requests").await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    let asked = requests::Asked {
        title: form.title,
        expires_in: form.expires_in,
        password: form.password,
        max_bytes: form.max_bytes,
        max_files: form.max_files,
        max_file_bytes: form.max_file_bytes,
        note: form.note,
        owner_name: form.owner_name,
    };
    let ip = client_ip(&state, &headers, peer);
    match requests::create(&state, &user, ip, &asked).await {
        Ok(made) => {
            let blank = requests::Asked::default();
            owner_page(&state, &user, Some(&made.url), &[], &blank, StatusCode::OK).await
        }
        Err(backend::Error::Invalid(problems)) => {
            owner_page(
                &state,
                &user,
                None,
                &problems,
                &asked,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => error_page(&state, Some(&user), error),
    }
}

async fn close(
    State(state): State<AppState>,
    Path(request_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let user = match signed_in(&state, &session, "/requests").await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    let actor = backend::audit::Actor::user(&user, Some(client_ip(&state, &headers, peer)));
    match requests::close(&state.db, &user, RequestId::read(&request_id), &actor).await {
        Ok(_) => Redirect::to("/requests").into_response(),
        Err(error) => error_page(&state, Some(&user), error),
    }
}

fn request_row(request: &RequestView) -> String {
    let limit = |max: Option<String>| max.unwrap_or_else(|| "—".to_owned());
    let close = if request.state == app::model::request::RequestState::Open {
        format!(
            r#"<form method="post" action="/requests/{}/close" class="inline-form"><button type="submit" class="link danger" aria-label="Close {}">Close</button></form>"#,
            request.id,
            esc(&request.title)
        )
    } else {
        String::new()
    };
    format!(
        r#"<tr data-request="{id}"><td class="file-name" title="{title}">{title}</td><td class="when">{created}</td><td class="when">{expires}</td><td>{files} · {bytes}</td><td>{limits}</td><td>{password}</td><td>{state}</td><td>{close}</td></tr>"#,
        id = request.id,
        title = esc(&request.title),
        created = esc(&when_text(&request.created_at)),
        expires = esc(&when_text(&request.expires_at)),
        files = request.received_files,
        bytes = format::bytes(request.received_bytes),
        limits = esc(&format!(
            "{} files, {} in all, {} a file",
            limit(request.max_files.map(|n| n.to_string())),
            limit(request.max_bytes.map(format::bytes)),
            limit(request.max_file_bytes.map(format::bytes)),
        )),
        password = if request.has_password { "Yes" } else { "No" },
        state = request.state.label(),
    )
}

async fn owner_page(
    state: &AppState,
    user: &User,
    made: Option<&str>,
    problems: &[FieldError],
    typed: &requests::Asked,
    status: StatusCode,
) -> Response {
    let list = match requests::of_owner(&state.db, user.id).await {
        Ok(list) => list,
        Err(error) => return error_page(state, Some(user), error),
    };
    let made = made.map_or_else(String::new, |url| {
        format!(
            r#"<div class="notice share-made" role="status"><p><strong>Request created.</strong> Send this link to whoever should send you files. Copy it now: Haul keeps only a fingerprint of it and cannot show it again.</p>
<label for="new-link">New link</label><input id="new-link" class="share-url" type="text" readonly value="{}"></div>"#,
            esc(url)
        )
    });
    let max = app::backend::capability::span(state.config.share_max_ttl);
    let owner_default = user.email.split('@').next().unwrap_or_default();
    let owner_name = if typed.owner_name.is_empty() {
        owner_default
    } else {
        &typed.owner_name
    };
    let fields = [
        input(
            problems,
            "title",
            "Title",
            "text",
            &typed.title,
            "What you ask for, such as “Footage for the March edit”.",
        ),
        input(
            problems,
            "expires_in",
            "Open for",
            "text",
            &typed.expires_in,
            &format!("For example 12h, 7d or 30d; empty: 7 days; at most {max}."),
        ),
        input(
            problems,
            "password",
            "Password (optional)",
            "password",
            "",
            "Visitors type it before they can send anything.",
        ),
        input(
            problems,
            "max_file_bytes",
            "Largest file (optional)",
            "text",
            &typed.max_file_bytes,
            "For example 50GB; empty: the server's limit.",
        ),
        input(
            problems,
            "max_files",
            "Files at most (optional)",
            "text",
            &typed.max_files,
            "How many files may be sent in all.",
        ),
        input(
            problems,
            "max_bytes",
            "Bytes in all at most (optional)",
            "text",
            &typed.max_bytes,
            "For example 200GB. Everything sent counts against your quota.",
        ),
        input(
            problems,
            "owner_name",
            "Your name, as visitors see it",
            "text",
            owner_name,
            "Shown on the request's page.",
        ),
        input(
            problems,
            "note",
            "Note (optional)",
            "textarea",
            &typed.note,
            "Shown to visitors with the title.",
        ),
    ]
    .concat();
    let rows: String = list.iter().map(request_row).collect();
    let table = if list.is_empty() {
        r#"<p class="empty">No upload requests yet.</p>"#.to_owned()
    } else {
        format!(
            r#"<div class="table-scroll" tabindex="0" role="region" aria-label="Your requests"><table class="admin-table"><thead><tr><th>Title</th><th>Created</th><th>Open until</th><th>Received</th><th>Limits</th><th>Password</th><th>State</th><th><span class="visually-hidden">Actions</span></th></tr></thead><tbody>{rows}</tbody></table></div>"#
        )
    };
    let body = format!(
        r#"<section class="share-owner"><h1>Upload requests</h1>
<p class="muted">A request link lets people without an account send you files. What they send lands in <a href="/files">My files</a>, marked with their name and message, and counts against your quota.</p>
{made}<h2>New request</h2><form method="post" action="/requests" class="share-form">{fields}<button type="submit" class="button">Create request</button></form>
<h2>Your requests</h2>{table}</section>"#
    );
    page(state, status, "Upload requests", Some(user), &body)
}
