//! The site header: the brand, and who is signed in with their links.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::{auth::Auth, model::Role};

#[component]
pub fn SiteHeader() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">"Haul"</A>
            <nav class="account-nav" aria-label="Account">
                <Transition fallback=|| ()>
                    {move || {
                        auth.user
                            .get()
                            .map(|user| match user {
                                Ok(Some(user)) => {
                                    let admin = (user.role == Role::Admin)
                                        .then(|| view! { <A href="/admin">"Admin"</A> });
                                    view! {
                                        {admin}
                                        <A href="/upload">"Upload"</A>
                                        <A href="/files">"My files"</A>
                                        // The server's own pages (no bundle): the router must not take
                                        // them. Markup in a box the layout ignores (display: contents).
                                        <span class="nav-pages" inner_html=server_pages(user.unread)></span>
                                        <A href="/account" attr:class="user-email">{user.email}</A>
                                        <ActionForm action=auth.sign_out attr:class="inline-form">
                                            <button type="submit" class="button secondary">"Sign out"</button>
                                        </ActionForm>
                                    }
                                        .into_any()
                                }
                                _ => {
                                    view! {
                                        <A href="/signin">"Sign in"</A>
                                        <A href="/signup" attr:class="button">"Sign up"</A>
                                    }
                                        .into_any()
                                }
                            })
                    }}
                </Transition>
            </nav>
        </header>
    }
}

/// The links to the server's own pages: upload requests, and notifications with the count.
fn server_pages(unread: u32) -> String {
    format!(
        r#"<a href="/requests" rel="external">Requests</a><a href="/notifications" rel="external">{}</a>"#,
        notifications(unread)
    )
}

/// The notifications link's words: with the unread count, if any.
pub fn notifications(unread: u32) -> String {
    match unread {
        0 => "Notifications".to_owned(),
        n => format!("Notifications ({n})"),
    }
}
