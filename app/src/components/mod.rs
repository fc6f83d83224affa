//! Reusable pieces of UI.

pub mod chart;
pub mod error_view;
pub mod form;
pub mod header;
pub mod loaded;
pub mod require_user;
pub mod upload_row;
