//! Who is signed in: the user id and sign-in time live in the session (tower-sessions,
//! stored in PostgreSQL); the user row is read on every request, so disabling an account or
//! changing a role takes effect at once.

use time::OffsetDateTime;
use tower_sessions::Session;
use uuid::Uuid;

use super::{
    state::AppState,
    users::{self, User},
};
use crate::error::AppError;

const USER_ID: &str = "user_id";
const SIGNED_IN_AT: &str = "signed_in_at";

/// Starts a signed-in session under a new id, so an id planted before sign-in is worthless.
pub async fn start(session: &Session, user: &User) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(USER_ID, user.id).await?;
    session
        .insert(SIGNED_IN_AT, OffsetDateTime::now_utc().unix_timestamp())
        .await?;
    Ok(())
}

/// Ends the session and removes it from the store.
pub async fn end(session: &Session) -> Result<(), AppError> {
    session.flush().await?;
    Ok(())
}

/// The signed-in user, if any. A session past its absolute lifetime, or of a user who is gone
/// or disabled, is ended here.
pub async fn user(state: &AppState, session: &Session) -> Result<Option<User>, AppError> {
    let Some(id) = session.get::<Uuid>(USER_ID).await? else {
        return Ok(None);
    };
    let signed_in_at = session.get::<i64>(SIGNED_IN_AT).await?.unwrap_or(0);
    let age = OffsetDateTime::now_utc().unix_timestamp() - signed_in_at;
    let max_age = i64::try_from(state.config.session_absolute.as_secs()).unwrap_or(i64::MAX);
    if age >= max_age {
        end(session).await?;
        return Ok(None);
    }
    match users::find(&state.db, id).await? {
        Some(user) if !user.disabled => Ok(Some(user)),
        _ => {
            end(session).await?;
            Ok(None)
        }
    }
}
