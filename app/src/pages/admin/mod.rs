//! The admin dashboard: its pages, each in the shell only admins get through (others get
//! "Not allowed" with a 403, strangers are sent to sign in) with a menu of its sections, and
//! the date-time format its tables share.

pub mod audit;
pub mod files;
pub mod overview;
pub mod uploads;
pub mod users;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{components::require_user::RequireUser, model::Role};

/// Every /admin page: the menu and the page, for admins only.
#[component]
fn AdminShell(children: ChildrenFn) -> impl IntoView {
    let children = StoredValue::new(children);
    view! {
        <RequireUser children=move |user| {
            if user.role == Role::Admin {
                view! {
                    <div class="admin">
                        <nav class="admin-nav" aria-label="Admin">
                            <A href="/admin" exact=true>"Overview"</A>
                            <A href="/admin/files">"Files"</A>
                            <A href="/admin/users">"Users"</A>
                            <A href="/admin/uploads">"Uploads"</A>
                            <a href="/admin/shares" rel="external">"Share links"</a>
                            <a href="/admin/webhooks" rel="external">"Webhooks"</a>
                            <a href="/admin/tokens" rel="external">"API tokens"</a>
                            <A href="/admin/audit">"Audit log"</A>
                        </nav>
                        {children.with_value(|children| children())}
                    </div>
                }
                    .into_any()
            } else {
                not_allowed().into_any()
            }
        }/>
    }
}

#[component]
pub fn Overview() -> impl IntoView {
    view! { <AdminShell>{overview::overview_page()}</AdminShell> }
}

#[component]
pub fn Files() -> impl IntoView {
    view! { <AdminShell>{files::files_page()}</AdminShell> }
}

#[component]
pub fn Users() -> impl IntoView {
    view! { <AdminShell>{users::users_page()}</AdminShell> }
}

#[component]
pub fn Uploads() -> impl IntoView {
    view! { <AdminShell>{uploads::uploads_page()}</AdminShell> }
}

#[component]
pub fn Audit() -> impl IntoView {
    view! { <AdminShell>{audit::audit_page()}</AdminShell> }
}

/// An /admin page that does not exist: "Not allowed" for non-admins, "not found" for admins.
#[component]
pub fn Unknown() -> impl IntoView {
    view! { <AdminShell><crate::pages::not_found::NotFound/></AdminShell> }
}

/// What a signed-in user who is not an admin sees under /admin.
fn not_allowed() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    view! {
        <Title text="Not allowed — Haul"/>
        <h1>"Not allowed"</h1>
        <p>"This part of Haul is for admins. Ask an admin if you need something done here."</p>
    }
}

/// A date-time as "YYYY-MM-DD HH:MM" (UTC) from RFC 3339.
pub fn when(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_to_the_minute() {
        assert_eq!(when("2026-11-28T23:38:50.123Z"), "2026-11-28 23:38");
    }
}
