//! Notifications' pages, rendered here as plain HTML (they add nothing to the wasm bundle).
//! - `/notifications`: the signed-in user's events, newest first, new ones marked (opening
//!   the page reads them); their own webhook: its URL, the secret that signs, how to verify.
//! - `/notifications/webhook` (POST): sets or removes that webhook.
//! - `/admin/webhooks`: every delivery with its attempts and last answer, for administrators.

use std::net::SocketAddr;

use app::{
    backend::{
        self, notifications,
        state::AppState,
        users::User,
        webhooks::{self, Logged},
    },
    error::FieldError,
    model::notification::{NotificationPage, WebhookView},
};
use axum::{
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Router,
};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::html::{
    admin, admin_nav, error_page, esc, field_error, page, signed_in, when, when_text,
};

/// The routes, added to the app's router (before its pages).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/webhook", post(set_webhook))
        .route("/admin/webhooks", get(delivery_log))
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    before: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
    session: Session,
) -> Response {
    let user = match signed_in(&state, &session, "/notifications").await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    // A cursor that is not one of this user's events lists nothing (and is not an error).
    let before = query
        .before
        .as_deref()
        .and_then(|b| Uuid::parse_str(b).ok());
    match shown(&state, &user, before, "", &[]).await {
        Ok((events, page)) => {
            // Shown once as new, then read: what this page shows, not what arrived meanwhile.
            let ids: Vec<Uuid> = events
                .events
                .iter()
                .filter_map(|event| Uuid::parse_str(&event.id).ok())
                .collect();
            match notifications::mark_read(&state.db, user.id, Some(&ids)).await {
                Ok(_) => page,
                Err(error) => error_page(&state, Some(&user), error),
            }
        }
        Err(error) => error_page(&state, Some(&user), error),
    }
}

/// The page of `user`'s events `before` one, with their webhook's form (with what was `typed`
/// and its `problems`, if refused), and the events it lists.
async fn shown(
    state: &AppState,
    user: &User,
    before: Option<Uuid>,
    typed: &str,
    problems: &[FieldError],
) -> Result<(NotificationPage, Response), backend::Error> {
    let events = notifications::list(&state.db, user.id, before).await?;
    let hook = notifications::webhook(&state.db, user.id).await?;
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = notifications_page(state, user, &events, &hook, typed, problems, status);
    Ok((events, page))
}

/// How long deliveries are retried, in words ("1 day", "6 hours", "45 min 00 s").
fn retried_for(state: &AppState) -> String {
    let secs = state.config.webhook_retry_for.as_secs();
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => plural(s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => plural(s / 3_600, "hour"),
        s => app::format::duration(s as f64),
    }
}

#[derive(Deserialize)]
struct WebhookForm {
    #[serde(default)]
    url: String,
}

async fn set_webhook(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<WebhookForm>,
) -> Response {
    let user = match signed_in(&state, &session, "/notifications").await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    let allow_private = state.config.webhook_allow_private;
    match notifications::set_webhook(&state.db, user.id, &form.url, allow_private).await {
        Ok(_) => Redirect::to("/notifications#webhook").into_response(),
        Err(backend::Error::Invalid(problems)) => {
            match shown(&state, &user, None, &form.url, &problems).await {
                Ok((_, page)) => page,
                Err(error) => error_page(&state, Some(&user), error),
            }
        }
        Err(error) => error_page(&state, Some(&user), error),
    }
}

#[derive(Deserialize)]
struct LogQuery {
    #[serde(default)]
    undelivered: Option<String>,
}

async fn delivery_log(
    State(state): State<AppState>,
    Query(query): Query<LogQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let admin = match admin(&state, &session, &headers, peer, "/admin/webhooks").await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    let undelivered = query
        .undelivered
        .as_deref()
        .is_some_and(|v| !v.is_empty() && v != "0");
    match webhooks::log(&state.db, undelivered).await {
        Ok(rows) => log_page(&state, admin.user(), &rows, undelivered),
        Err(error) => error_page(&state, Some(admin.user()), error),
    }
}

// ---- the pages ----

fn notifications_page(
    state: &AppState,
    user: &User,
    events: &NotificationPage,
    hook: &WebhookView,
    typed: &str,
    problems: &[FieldError],
    status: StatusCode,
) -> Response {
    let items: String = events
        .events
        .iter()
        .map(|event| {
            let new = if event.unread {
                r#"<span class="badge new">New</span> "#
            } else {
                ""
            };
            let message = event.message.as_deref().map_or_else(String::new, |m| {
                format!(
                    r#"<blockquote class="share-note"><p>{}</p></blockquote>"#,
                    esc(m).replace('\n', "<br>")
                )
            });
            format!(
                r#"<li class="notification" data-kind="{kind}"><p>{new}{text}</p>{message}<p class="when"><time datetime="{at}">{when}</time></p></li>"#,
                kind = esc(&event.kind),
                text = esc(&event.text),
                at = esc(&event.created_at),
                when = esc(&when_text(&event.created_at)),
            )
        })
        .collect();
    let list = if events.events.is_empty() {
        r#"<p class="empty">Nothing yet. Files sent to you through a request, downloads of your share links and uploads that fail will be listed here.</p>"#.to_owned()
    } else {
        format!(r#"<ul class="notifications">{items}</ul>"#)
    };
    let older = events.next.as_deref().map_or_else(String::new, |next| {
        format!(
            r#"<nav class="pager" aria-label="Pages"><a class="button secondary" href="/notifications?before={}">Older</a></nav>"#,
            esc(next)
        )
    });
    let body = format!(
        r#"<section class="notifications-page"><h1>Notifications</h1>
{list}{older}
{webhook}</section>"#,
        webhook = webhook_section(hook, typed, problems, &retried_for(state)),
    );
    page(state, status, "Notifications", Some(user), &body)
}

/// The user's webhook: what it is, the form to set or remove it, how a receiver verifies.
fn webhook_section(
    hook: &WebhookView,
    typed: &str,
    problems: &[FieldError],
    retried_for: &str,
) -> String {
    let current = match (&hook.url, &hook.secret) {
        (Some(url), Some(secret)) => format!(
            r#"<dl class="facts"><dt>Sends to</dt><dd class="webhook-url">{url}</dd><dt>Signing secret</dt><dd><code class="webhook-secret">{secret}</code></dd></dl>
<form method="post" action="/notifications/webhook"><input type="hidden" name="url" value=""><button type="submit" class="button secondary">Remove the webhook</button></form>"#,
            url = esc(url),
            secret = esc(secret),
        ),
        _ => "<p>No webhook: events are only listed here.</p>".to_owned(),
    };
    let problem = field_error(problems, "url");
    let (invalid, message) = match &problem {
        Some(problem) => (
            r#" aria-invalid="true" aria-describedby="url-error""#,
            esc(problem),
        ),
        None => (r#" aria-describedby="url-hint""#, String::new()),
    };
    let value = if problems.is_empty() {
        hook.url.as_deref().unwrap_or_default()
    } else {
        typed
    };
    format!(
        r#"<section id="webhook" class="webhook" aria-labelledby="webhook-title"><h2 id="webhook-title">Webhook</h2>
<p>Haul can post every event about your files (<code>upload.completed</code>, <code>upload.failed</code>, <code>request.received</code>, <code>share.downloaded</code>) as JSON to a URL of yours. A receiver that is down gets it again later, for {retried_for}.</p>
{current}
<form method="post" action="/notifications/webhook" class="share-form">
<div class="field"><label for="url">Webhook URL</label>
<input id="url" name="url" type="url" value="{value}" autocomplete="off" placeholder="https://example.com/hooks/haul"{invalid}>
<p class="hint" id="url-hint">A new URL gets a new signing secret.</p>
<p class="field-error" id="url-error" role="alert">{message}</p></div>
<button type="submit" class="button">Save the webhook</button></form>
<details class="how"><summary>How to verify a delivery</summary>
<p>Each delivery carries <code>haul-event</code> (its type), <code>haul-event-id</code> (the same on every retry: deliver once by it), <code>haul-timestamp</code> (Unix seconds) and <code>haul-signature: v1=</code> followed by the hex HMAC-SHA256 of <code>timestamp.body</code> keyed with the secret. Compute it over the raw body, compare in constant time, and refuse a timestamp older than five minutes:</p>
<pre><code>expected = hmac_sha256(secret, timestamp + "." + raw_body).hex()
ok = constant_time_equal("v1=" + expected, signature_header)</code></pre>
<p>Answer with any 2xx within 10 seconds; anything else is retried.</p></details></section>"#,
        value = esc(value),
        retried_for = esc(retried_for),
    )
}

fn log_page(state: &AppState, user: &User, rows: &[Logged], undelivered: bool) -> Response {
    let rows_html: String = rows
        .iter()
        .map(|row| {
            let answer = match (row.last_status, &row.last_error) {
                (Some(status), Some(error)) => format!("{status}: {}", esc(error)),
                (Some(status), None) => status.to_string(),
                (None, Some(error)) => esc(error),
                (None, None) => String::new(),
            };
            let target = if row.target == "site" {
                "Site (HAUL_WEBHOOK_URL)".to_owned()
            } else {
                format!("{}'s webhook", esc(&row.owner_email))
            };
            let next = if row.state() == "Retrying" {
                format!(" · next {}", when(row.next_at))
            } else {
                String::new()
            };
            format!(
                r#"<tr data-delivery="{id}"><td>{kind}</td><td class="email" title="{owner}">{owner}</td><td>{target}</td><td class="file-name" title="{url}">{url}</td><td class="when">{created}</td><td>{attempts}</td><td>{state}{next}</td><td>{answer}</td></tr>"#,
                id = row.id,
                kind = esc(&row.kind),
                owner = esc(&row.owner_email),
                url = esc(&row.url),
                created = when(row.created_at),
                attempts = row.attempts,
                state = row.state(),
            )
        })
        .collect();
    let table = if rows.is_empty() {
        r#"<p class="empty">No deliveries.</p>"#.to_owned()
    } else {
        format!(
            r#"<div class="table-scroll" tabindex="0" role="region" aria-label="Webhook deliveries"><table class="admin-table"><thead><tr><th>Event</th><th>Owner</th><th>Target</th><th>URL</th><th>Created</th><th>Attempts</th><th>State</th><th>Last answer</th></tr></thead><tbody>{rows_html}</tbody></table></div>"#
        )
    };
    let filter = if undelivered {
        r#"<p><a href="/admin/webhooks">Show every delivery</a></p>"#
    } else {
        r#"<p><a href="/admin/webhooks?undelivered=1">Show only those not delivered</a></p>"#
    };
    let body = format!(
        r#"<div class="admin">{nav}
<h1>Webhook deliveries</h1>
<p>Each event goes once to the site's webhook and once to its owner's, if set; a failed delivery is retried with growing waits until it has been tried for HAUL_WEBHOOK_RETRY_FOR. The newest 200 are listed.</p>
{filter}{table}</div>"#,
        nav = admin_nav("/admin/webhooks"),
    );
    page(
        state,
        StatusCode::OK,
        "Webhook deliveries",
        Some(user),
        &body,
    )
}
