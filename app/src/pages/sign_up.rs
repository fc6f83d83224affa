//! The sign-up page.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::auth::SignUp,
    auth::Auth,
    components::form::{form_error, Field, FormError},
    validate::PASSWORD_RULE,
};

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = expect_context::<Auth>().sign_up;
    let error = form_error(
        move || action.value().get().map(|r| r.map(|_| ())),
        SignUp::PATH,
    );
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text="Sign up — Haul"/>
        <section class="auth-card">
            <h1>"Create your account"</h1>
            // Our messages, next to each field, rather than the browser's own bubbles.
            <ActionForm action=action attr:novalidate=true>
                <input type="hidden" name="next" value=next/>
                <FormError error/>
                <Field label="Email" name="email" kind="email" autocomplete="email" error/>
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    hint=PASSWORD_RULE
                    error
                />
                <button type="submit" class="button">"Sign up"</button>
            </ActionForm>
            <p>"Already have an account? " <A href="/signin">"Sign in"</A></p>
        </section>
    }
}
