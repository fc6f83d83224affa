//! The sign-up page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    auth::Auth,
    components::form::{account_form, form_alert, Field},
    validate::PASSWORD_RULE,
};

pub fn sign_up_page() -> impl IntoView {
    let action = expect_context::<Auth>().sign_up;
    let (error, next) = account_form(action);
    view! {
        <Title text="Sign up — Haul"/>
        <section class="auth-card">
            <h1>"Create your account"</h1>
            // Our messages, next to each field, rather than the browser's own bubbles.
            <ActionForm action=action attr:novalidate=true>
                <input type="hidden" name="next" value=next/>
                {form_alert(error)}
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
