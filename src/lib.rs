// The crate's documentation is the README: its Rust examples are doctests
// of this crate, so they stay true.
#![doc = include_str!("../README.md")]
#![deny(missing_docs, missing_debug_implementations)]

/// The reactor: [`Reactor`](reactor::Reactor), [`Source`](reactor::Source),
/// [`SocketWq`](reactor::SocketWq), [`Async`](reactor::Async), the runtime.
pub use sockwq_reactor as reactor;

/// TCP, UDP and Unix sockets: a drop-in for `tokio::net`.
pub use sockwq_net as net;

/// SIGIO-style notices: the kernel's fasync semantics on a channel.
pub use sockwq_reactor::fasync;

pub use sockwq_reactor::runtime::time;
pub use sockwq_reactor::runtime::{Builder, JoinError, JoinHandle, Runtime, block_on, spawn, spawn_local};
