//! Server functions for admins: every account, for the dashboard.

use leptos::prelude::*;

use crate::{error::AppError, model::UserView};

/// Every account, newest first (admins only).
#[server(endpoint = "admin/users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    let (state, _admin) = super::require_admin().await?;
    let users = crate::backend::users::list(&state.db, 500)
        .await
        .map_err(crate::backend::Error::from)?;
    Ok(users.iter().map(|u| u.view()).collect())
}
