//! Reusable pieces of UI.

pub mod form;
pub mod header;
pub mod require_user;
