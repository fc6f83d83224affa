//! The domain, on the server only. Server functions and the `server` crate call into it.

pub mod db;
pub mod state;
pub mod storage;
