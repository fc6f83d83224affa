//! The guard for pages that need an account.

use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_location};

use super::error_view::error_view;
use crate::model::UserView;

/// Shows `children` to a signed-in user; sends anyone else to sign in, and back here after.
/// Routes using it render with `SsrMode::Async`, so the server can answer with a redirect.
/// It asks the server afresh when the page opens: right after signing in, the shared user
/// resource may still hold the signed-out answer.
///
/// The answer is awaited in one `Suspend`, not read in a reactive closure: on the server a
/// closure under `Transition` runs twice (once to find its resources, once to render), and so
/// would `children`, with every resource the page creates, fetched twice.
#[component]
pub fn RequireUser<F, IV>(children: F) -> impl IntoView
where
    F: Fn(UserView) -> IV + Send + Sync + 'static,
    IV: IntoView + 'static,
{
    let user = Resource::new(|| (), |_| crate::api::auth::current_user());
    let location = use_location();
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) => children(user).into_any(),
                    Ok(None) => {
                        let here = format!(
                            "{}{}",
                            location.pathname.get_untracked(),
                            location.search.get_untracked(),
                        );
                        let next = crate::format::url_encode(&here);
                        view! { <Redirect path=format!("/signin?next={next}")/> }.into_any()
                    }
                    Err(error) => error_view(error).into_any(),
                }
            })}
        </Transition>
    }
}
