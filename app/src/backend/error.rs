//! What the domain can fail with, sorted by what a caller can do about it. The backend
//! speaks only this; `From<Error> for AppError` (in `crate::error`) is the one place where it
//! becomes what the browser sees, and where unexpected failures are logged with a reference.

use crate::{
    backend::storage::{NoCredentials, StorageError},
    error::{AppError, FieldError},
    format,
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing, or not the caller's: both answer alike.
    #[error("not found")]
    NotFound,
    /// Signed in, but without the role this needs.
    #[error("forbidden")]
    Forbidden,
    /// Input that fails validation, field by field (the messages are for the user).
    #[error("invalid input: {0:?}")]
    Invalid(Vec<FieldError>),
    /// Input that is not even well-formed (a cursor the server never handed out).
    #[error("malformed input: {0}")]
    Malformed(String),
    /// Wrong email or password, or a disabled account (deliberately not saying which).
    #[error("wrong credentials")]
    WrongCredentials,
    /// The right password for a disabled account: said only once the password has passed,
    /// so it tells nothing to someone who does not know it.
    #[error("account disabled")]
    AccountDisabled,
    /// Too many attempts; `retry_after` is in seconds.
    #[error("rate limited for {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// The file is busy with another request (being completed, say); nothing was changed and
    /// the same call may pass in a moment.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Another of the caller's files has this name (as it stands there): asked, not refused.
    #[error("name taken by another file: {0}")]
    NameTaken(String),
    /// Completion found these parts of `part_count` (the first 100 missing) not in the
    /// storage: nothing was changed, and they can still be sent.
    #[error("parts missing: {parts:?} of {part_count}")]
    PartsMissing { parts: Vec<u32>, part_count: u32 },
    /// The account has no room for a file of `needed` bytes; `free` bytes are left.
    #[error("over quota: {needed} bytes needed, {free} free")]
    Quota { needed: u64, free: u64 },
    /// The storage does not answer (a timeout, a refused connection).
    #[error("storage unavailable: {0:#}")]
    StorageUnavailable(anyhow::Error),
    /// The storage answered with a failure that may pass (a 5xx, throttling, an odd answer).
    #[error("storage failed for now: {0:#}")]
    StorageTransient(anyhow::Error),
    /// The storage refuses the request for good as Haul makes it (`StorageError::Unsupported`,
    /// logged where it was met): its code and message.
    #[error("the storage does not support the request ({code}): {message}")]
    StorageRefused { code: String, message: String },
    /// The database cannot be reached (down, restarting, no connection free in time):
    /// nothing was changed, and the same call may pass in a moment.
    #[error("database unavailable: {0:#}")]
    DatabaseUnavailable(anyhow::Error),
    /// Anything else: a bug, a query that failed, a refusal nothing here expected.
    #[error(transparent)]
    Internal(anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }
}

/// `.context("what we were doing")` on a step that can fail (a query, a join): its error,
/// with what was being done, as the domain error, sorted where it happened (an unreachable
/// database is `DatabaseUnavailable`, anything else `Internal`).
pub trait Context<T> {
    fn context(self, what: &'static str) -> Result<T>;
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, what: &'static str) -> Result<T> {
        self.map_err(|error| anyhow::Error::new(error).context(what).into())
    }

    fn with_context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|error| anyhow::Error::new(error).context(what()).into())
    }
}

impl From<anyhow::Error> for Error {
    fn from(error: anyhow::Error) -> Self {
        if error.chain().any(|cause| cause.is::<NoCredentials>()) {
            return Self::StorageUnavailable(error);
        }
        let unreachable = error
            .chain()
            .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
            .any(database_unreachable);
        if unreachable {
            Self::DatabaseUnavailable(error)
        } else {
            Self::Internal(error)
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        anyhow::Error::from(error).into()
    }
}

/// Failures of reaching PostgreSQL rather than of a query: no free connection in time, a
/// connection lost, a server shutting down or starting (SQLSTATE class 08, 57P01–57P03).
fn database_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

impl From<tower_sessions::session::Error> for Error {
    fn from(error: tower_sessions::session::Error) -> Self {
        use tower_sessions::{session::Error as Session, session_store::Error as Store};
        let error_is_the_stores = matches!(&error, Session::Store(Store::Backend(_)));
        let error = anyhow::Error::from(error).context("session store");
        // The store reports its database's failures as text: it has no other.
        if error_is_the_stores {
            Self::DatabaseUnavailable(error)
        } else {
            Self::Internal(error)
        }
    }
}

impl From<StorageError> for Error {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Unavailable(cause) => Self::StorageUnavailable(cause),
            StorageError::Transient(cause) => Self::StorageTransient(cause),
            StorageError::Unsupported { code, message } => Self::StorageRefused { code, message },
            other => Self::Internal(other.into()),
        }
    }
}

/// The only mapping from domain errors to wire errors. What the user can act on is said;
/// storage trouble and internal failures are logged with a fresh reference, and only the
/// reference is answered.
impl From<Error> for AppError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound => Self::NotFound,
            Error::Forbidden => Self::Forbidden,
            Error::Invalid(problems) => Self::Invalid(problems),
            Error::Malformed(what) => Self::BadRequest(what),
            Error::WrongCredentials => Self::InvalidCredentials,
            Error::AccountDisabled => Self::AccountDisabled,
            Error::RateLimited { retry_after } => Self::RateLimited { retry_after },
            Error::Conflict(message) => Self::Conflict(message),
            Error::NameTaken(name) => Self::NameTaken(name),
            Error::PartsMissing { parts, part_count } => Self::PartsMissing { parts, part_count },
            Error::Quota { needed, free } => Self::invalid(
                "size",
                format!(
                    "Not enough room: this file needs {}, and {} of your quota is free.",
                    format::bytes(needed),
                    format::bytes(free)
                ),
            ),
            Error::StorageUnavailable(cause) => {
                let reference = logged_warning(&cause, "storage unavailable");
                Self::Unavailable(format!(
                    "The storage is not answering right now (reference {reference}). Try again in a moment."
                ))
            }
            Error::StorageTransient(cause) => {
                let reference = logged_warning(&cause, "storage failed for now");
                Self::Unavailable(format!(
                    "The storage could not do that just now (reference {reference}). Try again in a moment."
                ))
            }
            Error::StorageRefused { code, message } => Self::StorageRefused(format!(
                "The storage refused this for good ({code}: {message}). It does not take \
                 uploads as this server is set to make them: an administrator must run \
                 `server storage check` and set HAUL_S3_CHECKSUM as it says."
            )),
            Error::DatabaseUnavailable(cause) => {
                let reference = logged_warning(&cause, "database unavailable");
                Self::Unavailable(format!(
                    "The database is not answering right now (reference {reference}). Try again in a moment."
                ))
            }
            Error::Internal(cause) => {
                let reference = crate::error::reference();
                tracing::error!(reference, error = format!("{cause:#}"), "unexpected error");
                Self::Internal(reference)
            }
        }
    }
}

fn logged_warning(cause: &anyhow::Error, what: &'static str) -> String {
    let reference = crate::error::reference();
    tracing::warn!(reference, error = format!("{cause:#}"), "{what}");
    reference
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_answer_only_a_reference() {
        let answer = AppError::from(Error::from(anyhow::anyhow!("password=hunter2 at /srv")));
        crate::error::assert_only_a_reference(&answer, "hunter2");
    }

    #[test]
    fn storage_trouble_is_a_503_with_a_reference_not_its_cause() {
        for error in [
            Error::from(StorageError::Unavailable(anyhow::anyhow!(
                "timeout at 10.0.0.7"
            ))),
            Error::from(StorageError::Transient(anyhow::anyhow!(
                "SlowDown from 10.0.0.7"
            ))),
        ] {
            let answer = AppError::from(error);
            assert_eq!(answer.status(), 503);
            let text = answer.to_string();
            assert!(
                text.contains("reference") && !text.contains("10.0.0.7"),
                "{text}"
            );
        }
    }

    #[test]
    fn an_unreachable_database_is_a_503_and_a_failed_query_a_500() {
        let lost = || sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        for error in [
            Error::from(sqlx::Error::PoolTimedOut),
            Error::from(lost()),
            Error::from(anyhow::Error::from(lost()).context("claiming a file")),
        ] {
            assert!(matches!(error, Error::DatabaseUnavailable(_)), "{error}");
            assert_eq!(AppError::from(error).status(), 503);
        }
        let failed = Error::from(sqlx::Error::RowNotFound);
        assert!(matches!(failed, Error::Internal(_)), "{failed}");
        assert_eq!(AppError::from(failed).status(), 500);
    }

    #[test]
    fn a_full_account_is_told_what_it_needs_and_has() {
        let answer = AppError::from(Error::Quota {
            needed: 3 << 30,
            free: 1 << 30,
        });
        assert_eq!(answer.status(), 422);
        assert_eq!(
            answer.field("size").as_deref(),
            Some("Not enough room: this file needs 3.0 GiB, and 1.0 GiB of your quota is free.")
        );
    }

    #[test]
    fn missing_parts_are_named_apart_from_a_wrong_file() {
        let answer = AppError::from(Error::PartsMissing {
            parts: vec![2],
            part_count: 3,
        });
        assert_eq!(answer.status(), 409);
        assert_eq!(answer.to_string(), "Part 2 of 3 has not arrived yet.");
    }

    #[test]
    fn a_busy_file_is_a_409_not_an_outage() {
        let answer = AppError::from(Error::Conflict("busy".into()));
        assert_eq!((answer.status(), answer.to_string()), (409, "busy".into()));
        assert!(matches!(answer, AppError::Conflict(_)));
    }
}
