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

// The decisions and the wire types are the browser's modules, compiled here as this crate's
// (one source). Not a dependency of the app's: the browser bundle pays for a crate boundary
// (measured with scripts/site.sh: 0.85 KB brotli for the very same code).
#[path = "../../app/src/upload/ahead.rs"]
pub mod ahead;
pub mod engine;
#[path = "../../app/src/plan.rs"]
pub mod plan;
#[path = "../../app/src/upload/progress.rs"]
pub mod progress;
#[path = "../../app/src/upload/retry.rs"]
pub mod retry;
#[path = "../../app/src/upload/stop.rs"]
pub mod stop;
#[path = "../../app/src/model/wire.rs"]
pub mod wire;
