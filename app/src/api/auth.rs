//! Server functions for accounts: sign up, sign in, sign out, and who is signed in.

use leptos::prelude::*;

use crate::{error::AppError, model::UserView};

/// Creates an account and signs it in; then goes to `next` (a local path) or to Upload, what
/// a new account is for.
#[server(endpoint = "sign_up")]
pub async fn sign_up(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<UserView, AppError> {
    let next = next.filter(|next| !next.is_empty());
    super::enter(next.or(Some("/upload".to_owned())), async |state, ip| {
        crate::backend::auth::sign_up(state, ip, &email, &password).await
    })
    .await
}

/// Signs in; then goes to `next` (a local path) or home.
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<UserView, AppError> {
    super::enter(next, async |state, ip| {
        crate::backend::auth::sign_in(state, ip, &email, &password).await
    })
    .await
}

/// Ends the session (it is removed from the store) and goes home.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::backend::session::end(&super::session().await?).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// The signed-in user, or None.
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    match super::require_user().await {
        Ok((state, user)) => {
            let unread = crate::backend::notifications::unread(&state.db, user.id).await?;
            Ok(Some(UserView {
                unread,
                ..user.view()
            }))
        }
        Err(AppError::Unauthorized) => Ok(None),
        Err(e) => Err(e),
    }
}
