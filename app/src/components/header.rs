use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    api::auth::{SignIn, SignOut, SignUp},
    error::AppError,
    model::UserView,
};

/// The signed-in user and the actions that change who that is, shared by every page.
#[derive(Clone, Copy)]
pub struct Auth {
    pub sign_in: ServerAction<SignIn>,
    pub sign_up: ServerAction<SignUp>,
    pub sign_out: ServerAction<SignOut>,
    pub user: Resource<Result<Option<UserView>, AppError>>,
}

impl Auth {
    pub fn provide() -> Self {
        let sign_in = ServerAction::<SignIn>::new();
        let sign_up = ServerAction::<SignUp>::new();
        let sign_out = ServerAction::<SignOut>::new();
        let user = Resource::new(
            move || {
                (
                    sign_in.version().get(),
                    sign_up.version().get(),
                    sign_out.version().get(),
                )
            },
            |_| crate::api::auth::current_user(),
        );
        let auth = Self {
            sign_in,
            sign_up,
            sign_out,
            user,
        };
        provide_context(auth);
        auth
    }
}

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
                                    view! {
                                        <A href="/upload">"Upload"</A>
                                        <A href="/files">"My files"</A>
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
