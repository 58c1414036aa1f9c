// The crate's documentation is the README: its Rust examples are doctests
// of this crate, so they stay true.
#![doc = include_str!("../README.md")]
#![deny(missing_docs, missing_debug_implementations)]

/// The reactor: [`Reactor`](reactor::Reactor), [`Source`](reactor::Source),
/// [`SocketWq`](reactor::SocketWq), [`Async`](reactor::Async).
pub use sockwq_reactor as reactor;

/// TCP, UDP and Unix sockets: a drop-in for `tokio::net`.
pub use sockwq_net as net;

#[cfg(feature = "tokio")]
pub mod tokio;

pub use sockwq_runtime::time;
pub use sockwq_runtime::{Builder, JoinError, JoinHandle, Runtime, block_on, spawn, spawn_local};
