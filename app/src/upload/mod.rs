//! The browser upload engine. Its decisions (hashing ahead, retries, speed, stopping) are
//! shared as source with the `transfer` crate (the `haul` command line's core), and plain Rust that `cargo test`
//! runs natively; the queue's state and resume records are here; `browser` is the thin layer
//! over XMLHttpRequest, File, Web Crypto and the network's state, with the send loop that
//! `transfer::engine` generalises for the `haul` command line (the browser is not on it yet:
//! see the README's bundle section). How a file is cut into parts is `crate::plan`, shared with
//! the server.

// The transfer core's decisions, shared as source with the `transfer` crate.
pub mod ahead;
pub mod progress;
pub mod retry;
pub mod stop;

// The names the transfer core's `engine` reaches as `super::…` (its crate's root there).
#[cfg(feature = "hydrate")]
use crate::{model::wire, plan};
/// The transfer core's upload, shared as source with the `transfer` crate.
#[cfg(feature = "hydrate")]
#[path = "../../../transfer/src/engine.rs"]
pub mod engine;

pub mod queue;
pub mod resume;

#[cfg(feature = "hydrate")]
pub mod browser;
