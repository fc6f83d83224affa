//! What admins can see and do across every account. Each function takes an [`Admin`], which
//! only [`Admin::check`] makes: the role is checked here, in the domain, whatever calls it.

pub mod audit;
pub mod files;
pub mod overview;
pub mod uploads;
pub mod users;

use std::net::IpAddr;

use super::{
    audit::{Actor, Event},
    state::AppState,
    users::User,
    Error,
};
use crate::model::Role;

/// What the owner of an upload an admin cancelled is told, in the upload's row and in My files.
pub const CANCELLED_BY_ADMIN: &str = "Cancelled by an administrator.";

/// A signed-in, enabled admin, and the address they act from.
#[derive(Debug, Clone)]
pub struct Admin {
    user: User,
    ip: IpAddr,
}

impl Admin {
    /// `user` as an admin, or `Forbidden`.
    pub fn check(user: User, ip: IpAddr) -> Result<Self, Error> {
        if user.role == Role::Admin && !user.disabled {
            Ok(Self { user, ip })
        } else {
            Err(Error::Forbidden)
        }
    }

    pub fn user(&self) -> &User {
        &self.user
    }

    pub fn actor(&self) -> Actor {
        Actor::user(&self.user, Some(self.ip))
    }

    /// Records what this admin did.
    async fn record(&self, state: &AppState, event: Event<'_>) -> Result<(), Error> {
        super::audit::record(&state.db, &self.actor(), event).await
    }
}
