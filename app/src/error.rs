//! The one error type the browser sees. It carries what a user can act on and nothing of the
//! server's internals: unexpected failures reach it as an opaque message with a request id
//! that matches the server log. Domain errors become it in `backend::error` only.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
    Bytes, Decodes, Encodes,
};
use serde::{Deserialize, Serialize};

/// A message about one form field (`field` is the input's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Not signed in, or the session ended.
    #[error("Please sign in to continue.")]
    Unauthorized,
    /// Signed in, but not allowed.
    #[error("You are not allowed to do that.")]
    Forbidden,
    /// Missing, or not the caller's: both answer alike.
    #[error("Not found.")]
    NotFound,
    /// Input that fails validation, field by field.
    #[error("{}", join_fields(.0))]
    Invalid(Vec<FieldError>),
    /// Wrong email or password (deliberately not saying which).
    #[error("Wrong email or password.")]
    InvalidCredentials,
    /// The right password for a disabled account (a wrong one answers `InvalidCredentials`).
    #[error("This account is disabled. Ask your Haul administrator to enable it again.")]
    AccountDisabled,
    /// Too many attempts; `retry_after` is in seconds.
    #[error("Too many attempts. Try again in {retry_after} seconds.")]
    RateLimited { retry_after: u64 },
    /// A malformed request (bad payload, wrong method, ...).
    #[error("Bad request: {0}")]
    BadRequest(String),
    /// The browser could not reach the server (offline, server down); made on the client.
    #[error("Could not reach the server: {0}")]
    Unreachable(String),
    /// A service the server depends on (the storage, the database) is not answering; nothing
    /// was changed and the same call may succeed shortly.
    #[error("{0}")]
    Unavailable(String),
    /// The file is busy with another request (being completed, aborted or deleted right now):
    /// nothing was changed, and the same call passes once that one is done. Not an outage.
    #[error("{0}")]
    Conflict(String),
    /// Another of the caller's files has this name (as it stands there): nothing changed;
    /// the same call with `anyway` renames.
    #[error("A file named {0} exists.")]
    NameTaken(String),
    /// Completion found these parts (of `part_count`; the first 100 missing) not in the
    /// storage. Nothing was changed: send them, then complete again. Unlike a wrong file
    /// (`Invalid`), the upload goes on.
    #[error("{}", missing_parts(.parts, *.part_count))]
    PartsMissing { parts: Vec<u32>, part_count: u32 },
    /// The storage refuses the request for good as the server makes it (a header or checksum
    /// it does not support): trying again changes nothing until an administrator changes the
    /// server's settings. The message says what the store said and what to set.
    #[error("{0}")]
    StorageRefused(String),
    /// Something failed on the server; the id finds it in the log.
    #[error("Something went wrong on our side (reference {0}). Please try again.")]
    Internal(String),
}

fn missing_parts(parts: &[u32], part_count: u32) -> String {
    const SHOWN: usize = 5;
    match parts {
        [] => "Parts of this upload have not arrived yet.".to_owned(),
        [part] => format!("Part {part} of {part_count} has not arrived yet."),
        [first @ .., last] if parts.len() <= SHOWN => {
            let first: Vec<String> = first.iter().map(u32::to_string).collect();
            format!(
                "Parts {} and {last} of {part_count} have not arrived yet.",
                first.join(", ")
            )
        }
        _ => {
            let shown: Vec<String> = parts[..SHOWN].iter().map(u32::to_string).collect();
            format!(
                "Parts {} and more of {part_count} have not arrived yet.",
                shown.join(", ")
            )
        }
    }
}

fn join_fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks one field: the value when `result` is Ok, else None with its message collected
/// against `field`, so a form can report every problem at once.
pub fn check_field<T>(
    problems: &mut Vec<FieldError>,
    field: &str,
    result: Result<T, String>,
) -> Option<T> {
    result
        .map_err(|message| {
            problems.push(FieldError {
                field: field.to_owned(),
                message,
            })
        })
        .ok()
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// The message for one field, if this error has one.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            Self::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == name)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized | Self::InvalidCredentials => 401,
            Self::Forbidden | Self::AccountDisabled => 403,
            Self::NotFound => 404,
            Self::Invalid(_) => 422,
            Self::PartsMissing { .. } | Self::Conflict(_) | Self::NameTaken(_) => 409,
            Self::RateLimited { .. } => 429,
            Self::BadRequest(_) => 400,
            Self::Unreachable(_) | Self::Unavailable(_) => 503,
            Self::StorageRefused(_) => 502,
            Self::Internal(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m)
            | ServerFnErrorErr::Deserialization(m)
            | ServerFnErrorErr::MissingArg(m) => Self::BadRequest(m),
            ServerFnErrorErr::UnsupportedRequestMethod(m) => Self::BadRequest(m),
            ServerFnErrorErr::Request(m) | ServerFnErrorErr::Response(m) => Self::Unreachable(m),
            other => Self::unexpected(other.to_string()),
        }
    }

    /// The error as the wire carries it. On the server this is where a server function's
    /// failure becomes its answer, so the answer's HTTP status is set here, once: `status()`,
    /// not the 500 the framework gives every error (leptos_axum applies `ResponseOptions`
    /// after the function has answered).
    fn ser(&self) -> Bytes {
        #[cfg(feature = "ssr")]
        self.set_answer_status();
        <JsonEncoding as Encodes<Self>>::encode(self).unwrap_or_else(|error| {
            let unencodable = Self::unexpected(format!("encoding an error: {error}"));
            <JsonEncoding as Encodes<Self>>::encode(&unencodable).unwrap_or_default()
        })
    }
}

/// The status of a server function's error answer, on the server.
#[cfg(feature = "ssr")]
impl AppError {
    /// Sets the answer's status to `status()`, unless the answer is a redirect: a plain form
    /// post (no JavaScript: it accepts HTML and names its page) is sent back to its page with
    /// the error in the URL, and keeps its 302.
    fn set_answer_status(&self) {
        use axum::http::{header, request::Parts, StatusCode};
        use leptos::prelude::use_context;
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
            return;
        };
        let redirected = use_context::<Parts>().is_some_and(|request| {
            let accepts_html = request
                .headers
                .get(header::ACCEPT)
                .and_then(|accept| accept.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"));
            accepts_html && request.headers.contains_key(header::REFERER)
        });
        if !redirected {
            response.set_status(
                StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
        // Scripts and the command line wait as long as the limit says.
        if let Self::RateLimited { retry_after } = self {
            response.insert_header(header::RETRY_AFTER, (*retry_after).into());
        }
    }
}

impl AppError {
    /// A server function's error answer (a 4xx or 5xx status), read in the browser: the
    /// server's own error (JSON), else what the status says. A proxy or load balancer on the
    /// way answers in its own words (an HTML page): its 502, 503 and 504 say the server is
    /// out of reach for now, its 429 and 408 that it is busy; all may pass on a later try,
    /// like the server's own 503. Any other body is malformed, as before.
    pub fn from_answer(status: u16, body: Bytes) -> Self {
        if let Ok(error) = <JsonEncoding as Decodes<Self>>::decode(body.clone()) {
            return error;
        }
        match status {
            408 | 429 | 502..=504 => Self::Unavailable(format!(
                "The server could not be reached just now (HTTP {status} on the way). Try \
                 again in a moment."
            )),
            _ => Self::de(body),
        }
    }

    /// Any other server-function failure: its text is logged with a fresh reference, and only
    /// the reference is shown (the text may say things about the server's insides).
    fn unexpected(detail: String) -> Self {
        #[cfg(feature = "ssr")]
        {
            let reference = reference();
            tracing::error!(
                reference,
                error = detail,
                "unexpected server function error"
            );
            Self::Internal(reference)
        }
        #[cfg(not(feature = "ssr"))]
        {
            leptos::logging::error!("unexpected server function error: {detail}");
            Self::Internal("logged in the browser console".to_owned())
        }
    }
}

/// A short id that ties what a user sees to the server's log.
#[cfg(feature = "ssr")]
pub(crate) fn reference() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// `error` is an internal error that shows a reference and nothing of `secret`.
#[cfg(all(test, feature = "ssr"))]
pub(crate) fn assert_only_a_reference(error: &AppError, secret: &str) {
    let AppError::Internal(reference) = error else {
        panic!("not an internal error: {error:?}");
    };
    assert_eq!(reference.len(), 12);
    assert!(!error.to_string().contains(secret), "{error}");
    assert_eq!(error.status(), 500);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_requests_are_client_errors() {
        for error in [
            ServerFnErrorErr::Args("bad".into()),
            ServerFnErrorErr::Deserialization("bad".into()),
            ServerFnErrorErr::MissingArg("email".into()),
        ] {
            assert_eq!(AppError::from_server_fn_error(error).status(), 400);
        }
    }

    #[test]
    fn a_proxys_page_for_a_gateway_error_or_throttling_is_worth_another_try() {
        let page = Bytes::from_static(b"<html><body><h1>502 Bad Gateway</h1></body></html>");
        for status in [408, 429, 502, 503, 504] {
            let error = AppError::from_answer(status, page.clone());
            assert!(
                matches!(error, AppError::Unavailable(_)),
                "{status}: {error:?}"
            );
            assert!(error.to_string().contains(&status.to_string()), "{error}");
        }
        // An empty body too.
        assert!(matches!(
            AppError::from_answer(503, Bytes::new()),
            AppError::Unavailable(_)
        ));
        // Other statuses with a body that is no error stay malformed answers.
        for status in [400, 404, 500] {
            assert_eq!(AppError::from_answer(status, page.clone()).status(), 400);
        }
    }

    #[test]
    fn the_servers_own_errors_are_read_whatever_the_status() {
        for error in [
            AppError::Unavailable("The storage is not answering.".into()),
            AppError::invalid("file", "This upload was cancelled."),
            AppError::RateLimited { retry_after: 7 },
            AppError::PartsMissing {
                parts: vec![2, 5],
                part_count: 9,
            },
        ] {
            let body = Bytes::from(serde_json_text(&error));
            assert_eq!(AppError::from_answer(error.status(), body.clone()), error);
            assert_eq!(AppError::from_answer(502, body), error);
        }
    }

    fn serde_json_text(error: &AppError) -> Vec<u8> {
        use leptos::server_fn::Encodes;
        <JsonEncoding as Encodes<AppError>>::encode(error)
            .expect("an AppError encodes")
            .to_vec()
    }

    #[test]
    fn missing_parts_are_named() {
        let text = |parts: &[u32], count| {
            AppError::PartsMissing {
                parts: parts.to_vec(),
                part_count: count,
            }
            .to_string()
        };
        assert_eq!(text(&[2], 3), "Part 2 of 3 has not arrived yet.");
        assert_eq!(
            text(&[2, 5, 7], 9),
            "Parts 2, 5 and 7 of 9 have not arrived yet."
        );
        assert_eq!(
            text(&[1, 2, 3, 4, 5, 6], 10),
            "Parts 1, 2, 3, 4, 5 and more of 10 have not arrived yet."
        );
        assert_eq!(
            AppError::PartsMissing {
                parts: vec![2],
                part_count: 3
            }
            .status(),
            409
        );
    }

    #[test]
    fn field_messages_are_found_by_field() {
        let error = AppError::invalid("email", "Enter your email address.");
        assert_eq!(
            error.field("email").as_deref(),
            Some("Enter your email address.")
        );
        assert_eq!(error.field("password"), None);
        assert_eq!(error.status(), 422);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn other_server_function_failures_answer_a_reference_not_their_text() {
        let error = AppError::from_server_fn_error(ServerFnErrorErr::ServerError(
            "connection to 10.0.0.5:5432 refused".into(),
        ));
        assert_only_a_reference(&error, "10.0.0.5");
    }

    #[test]
    fn internal_errors_show_only_their_reference() {
        let shown = AppError::Internal("ab12cd34ef56".into()).to_string();
        assert_eq!(
            shown,
            "Something went wrong on our side (reference ab12cd34ef56). Please try again."
        );
    }
}
