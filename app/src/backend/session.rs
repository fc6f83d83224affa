//! Who is signed in: the user id and sign-in time live in the session (tower-sessions,
//! stored in PostgreSQL by `session_store`); the user row is read on every request, in the
//! same statement as the session, so disabling an account or changing a role takes effect at
//! once.

use crate::backend::Error;
use time::OffsetDateTime;
use tower_sessions::Session;
use uuid::Uuid;

use super::{
    session_store::STASHED_USER,
    state::AppState,
    users::{self, User, UserRow},
};

pub(crate) const USER_ID: &str = "user_id";
const SIGNED_IN_AT: &str = "signed_in_at";
/// When the session was last written. The store's expiry (and the cookie's) only moves when the
/// session is saved, and a session is saved only when it changes: touching this now and then
/// is what keeps an active user signed in until the absolute lifetime.
const SEEN_AT: &str = "seen_at";

/// Starts a signed-in session under a new id, so an id planted before sign-in is worthless.
pub async fn start(session: &Session, user: &User) -> Result<(), Error> {
    session.cycle_id().await?;
    session.insert(USER_ID, user.id).await?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    session.insert(SIGNED_IN_AT, now).await?;
    session.insert(SEEN_AT, now).await?;
    Ok(())
}

/// Seconds between two writes of an active session: a tenth of the idle limit (so the limit
/// slides by at most that), at least a second, at most a minute. Not on every request: each
/// write is a database round trip.
fn touch_every(idle: std::time::Duration) -> i64 {
    i64::try_from((idle / 10).as_secs())
        .unwrap_or(60)
        .clamp(1, 60)
}

/// Ends the session and removes it from the store.
pub async fn end(session: &Session) -> Result<(), Error> {
    session.flush().await?;
    Ok(())
}

/// The signed-in user, if any. A session past its absolute lifetime, or of a user who is gone
/// or disabled, is ended here.
pub async fn user(state: &AppState, session: &Session) -> Result<Option<User>, Error> {
    let Some(id) = session.get::<Uuid>(USER_ID).await? else {
        return Ok(None);
    };
    let signed_in_at = session.get::<i64>(SIGNED_IN_AT).await?.unwrap_or(0);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let age = now - signed_in_at;
    let max_age = i64::try_from(state.config.session_lifetime.as_secs()).unwrap_or(i64::MAX);
    if age >= max_age {
        end(session).await?;
        return Ok(None);
    }
    // Read with the session (`session_store`), unless the session named another user then.
    let stashed = session
        .get::<UserRow>(STASHED_USER)
        .await
        .ok()
        .flatten()
        .filter(|row| row.id == id)
        .map(User::from);
    let user = match stashed {
        Some(user) => Some(user),
        None => users::find(&state.db, id).await?,
    };
    match user {
        Some(user) if !user.disabled => {
            users::seen(&state.db, &user, false).await?;
            let seen_at = session.get::<i64>(SEEN_AT).await?.unwrap_or(signed_in_at);
            if now - seen_at >= touch_every(state.config.session_idle) {
                session.insert(SEEN_AT, now).await?;
            }
            Ok(Some(user))
        }
        _ => {
            end(session).await?;
            Ok(None)
        }
    }
}
