//! Haul's transfer core: everything about sending a file to S3 through pre-signed URLs that
//! does not depend on where it runs. How a file is cut into parts (`plan`), how far hashing and
//! signing run ahead of the senders (`ahead`), what to do after each answer (`retry`), how
//! progress and speed are counted (`progress`), pausing and cancelling (`stop`), and the
//! upload itself (`engine`): begin, sign ahead, send with retries and backoff, sign again on
//! expiry, re-read a part S3 found changed, complete with retries, resume from the parts the
//! store holds. `engine` is generic over a `Platform`: the browser (XMLHttpRequest, a hashing
//! worker, `setTimeout`, `navigator.onLine`, localStorage) and the `haul` command line (an
//! HTTP client, positioned reads, tokio's timers, a state file) bring their own.
//!
//! It builds for wasm32 and natively alike, with no I/O of its own, so `cargo test` runs it
//! against a fake platform with a fake clock.

pub mod ahead;
pub mod engine;
pub mod plan;
pub mod progress;
pub mod retry;
pub mod stop;
pub mod wire;
