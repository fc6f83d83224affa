//! The account page: who you are, your role and your storage, and where your webhook is set.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::require_user::RequireUser,
    format::{bytes, esc},
    model::Role,
};

/// The signed-in user's account: who they are and how much room they have.
pub fn account_page() -> impl IntoView {
    view! {
        <Title text="Your account — Haul"/>
        <RequireUser children=|user| {
            let role = match user.role {
                Role::Admin => "Administrator",
                Role::User => "Member",
            };
            // Markup: it only shows (views would cost the bundle their rendering code).
            let facts = format!(
                r#"<dl class="facts"><dt>Email</dt><dd>{}</dd><dt>Role</dt><dd>{role}</dd><dt>Storage used</dt><dd>{} of {}</dd></dl><p>Events about your files, and a webhook that receives them: <a href="/notifications#webhook" rel="external">Notifications and webhook</a></p><p>For scripts and the command line: <a href="/tokens" rel="external">API tokens</a></p>"#,
                esc(&user.email),
                bytes(user.used_bytes),
                bytes(user.quota_bytes)
            );
            view! {
                <h1>"Your account"</h1>
                <div inner_html=facts></div>
            }
        }/>
    }
}
