//! The browser upload engine. The transfer itself (hashing ahead, signing, sending with
//! retries, completing, resuming) is the `transfer` crate's core, shared with the `haul`
//! command line; here are the browser's own parts: the queue's state, what it remembers for
//! resuming, and `browser`, the thin layer over XMLHttpRequest, File, Web Crypto, timers and
//! the network's state. How a file is cut into parts is `crate::plan`, shared with the server.

pub use transfer::{ahead, progress, retry, stop};

pub mod queue;
pub mod resume;

#[cfg(feature = "hydrate")]
pub mod browser;
