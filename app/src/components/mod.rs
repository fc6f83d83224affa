//! Reusable pieces of UI: SVG charts, the error view, form fields, the site header, the frame
//! and table of paged list pages, a resource's answer on the page, the guard for pages that
//! need an account, and a row of the upload queue.

pub mod chart;
pub mod error_view;
pub mod form;
pub mod header;
pub mod list;
pub mod loaded;
pub mod require_user;
pub mod table;
pub mod upload_row;
