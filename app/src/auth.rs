//! Who is signed in, for every page: one shared resource, refreshed by the actions that
//! change it (sign in, sign up, sign out).

use leptos::prelude::*;

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
