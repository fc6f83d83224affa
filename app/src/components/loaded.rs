//! A resource's answer on the page: "Loading…" until it comes, then its view, or the error.

use leptos::prelude::*;

use super::error_view::error_view;
use crate::error::AppError;

/// Shows what `resource` answered with `show`, or its error; the previous answer stays on
/// screen while a new one loads.
pub fn loaded<T, V>(
    resource: Resource<Result<T, AppError>>,
    show: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let show = show.clone();
                resource
                    .get()
                    .map(move |result| match result {
                        Ok(value) => show(value).into_any(),
                        Err(error) => error_view(error).into_any(),
                    })
            }}
        </Transition>
    }
}
