//! The browser upload engine. The logic (planning, retries, progress) is plain Rust that
//! `cargo test` runs natively; `browser` is the thin layer over XMLHttpRequest and File.

pub mod ahead;
pub mod plan;
pub mod progress;
pub mod queue;
pub mod resume;
pub mod retry;

#[cfg(feature = "hydrate")]
pub mod browser;
