//! The Haul server: settings, the embedded local stack, the router and the process around them.

pub mod admin_cli;
pub mod admission;
pub mod check_cli;
pub mod html;
pub mod local_stack;
pub mod notification_pages;
pub mod request_pages;
pub mod routes;
pub mod security;
pub mod serve;
pub mod settings;
pub mod share_pages;
pub mod startup;
pub mod storage_check;
pub mod token_pages;
pub mod webhooks;
