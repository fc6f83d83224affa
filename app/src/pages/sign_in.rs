//! The sign-in page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    auth::Auth,
    components::form::{account_form, form_alert, Field},
};

pub fn sign_in_page() -> impl IntoView {
    let action = expect_context::<Auth>().sign_in;
    let (error, next) = account_form(action);
    let sign_up_link = move || match next.get() {
        n if n.is_empty() => "/signup".to_owned(),
        n => format!("/signup?next={}", crate::format::url_encode(&n)),
    };
    view! {
        <Title text="Sign in — Haul"/>
        <section class="auth-card">
            <h1>"Sign in"</h1>
            // Our messages, next to each field, rather than the browser's own bubbles.
            <ActionForm action=action attr:novalidate=true>
                <input type="hidden" name="next" value=next/>
                {form_alert(error)}
                <Field label="Email" name="email" kind="email" autocomplete="email" error/>
                <Field label="Password" name="password" kind="password" autocomplete="current-password" error/>
                <button type="submit" class="button">"Sign in"</button>
            </ActionForm>
            <p>"No account yet? " <A href=sign_up_link>"Create one"</A></p>
        </section>
    }
}
