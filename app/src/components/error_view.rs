//! How an error reaches the page: one alert, the same everywhere.

use leptos::prelude::*;

use crate::error::AppError;

/// Shows `error` as an alert (its text is what a user may read: internals stay in the log).
pub fn error_view(error: AppError) -> impl IntoView {
    view! { <p class="form-error" role="alert">{error.to_string()}</p> }
}
