//! The page for an address that leads nowhere.

use leptos::prelude::*;
use leptos_meta::Title;

/// Shown for any path that matches no route.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found — Haul"/>
        <h1>"Page not found"</h1>
        <p>
            <a href="/">"Back to the start page"</a>
        </p>
    }
}
