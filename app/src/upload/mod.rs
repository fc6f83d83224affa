//! The browser upload engine. Its decisions (hashing ahead, retries, speed, resume records, the
//! queue's state) are plain Rust that `cargo test` runs natively; `browser` is the thin layer
//! over XMLHttpRequest, File, Web Crypto and the network's state. How a file is cut into parts
//! is `crate::plan`, shared with the server.

pub mod ahead;
pub mod progress;
pub mod queue;
pub mod resume;
pub mod retry;
pub mod stop;

#[cfg(feature = "hydrate")]
pub mod browser;
