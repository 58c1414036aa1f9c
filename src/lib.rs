// The crate's documentation is the README: its Rust examples are doctests
// of this crate, so they stay true.
#![doc = include_str!("../README.md")]
#![doc(test(attr(deny(warnings))))]

/// The reactor: [`Reactor`](reactor::Reactor), [`Source`](reactor::Source),
/// [`Async`](reactor::Async), [`fasync`](mod@reactor::fasync).
pub use sockwq_reactor as reactor;

/// TCP, UDP and Unix sockets: a drop-in for `tokio::net`.
pub use sockwq_net as net;

/// SIGIO-style notices: the kernel's fasync semantics on a channel.
pub use sockwq_reactor::fasync;

pub use sockwq_runtime::{
    Builder, JoinError, JoinHandle, Runtime, block_on, spawn, spawn_blocking, spawn_local,
};
pub use sockwq_runtime::{runtime, signal, task, time};

#[cfg(feature = "macros")]
pub use sockwq_macros::{main, test};

#[cfg(feature = "tokio")]
pub mod tokio;
