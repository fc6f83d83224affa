//! The domain, on the server only. Server functions and the `server` crate call into it.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod capability;
pub mod check;
pub mod checksum;
pub mod config;
pub mod db;
pub mod error;
pub mod file_actions;
pub mod files;
pub mod lease;
pub mod metrics;
pub mod notifications;
pub mod page;
pub mod part_signer;
pub mod rate_limit;
pub mod requests;
pub mod session;
pub mod session_store;
pub mod shares;
pub mod state;
pub mod storage;
pub mod sweeper;
pub mod tokens;
pub mod uploads;
pub mod users;
pub mod webhooks;

pub use error::Error;
