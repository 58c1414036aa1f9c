//! sockwq: an epoll-driven async reactor for Linux in which a socket wakeup
//! never takes a lock.
//!
//! * [`reactor`]: the machinery — [`Reactor`](reactor::Reactor),
//!   [`Source`](reactor::Source), [`SocketWq`](reactor::SocketWq),
//!   [`Async`](reactor::Async).
//! * [`net`]: TCP, UDP and Unix sockets, a drop-in for `tokio::net`.
#![deny(missing_docs, missing_debug_implementations)]

pub use sockwq_net as net;
pub use sockwq_reactor as reactor;

pub use sockwq_reactor::runtime::time;
pub use sockwq_reactor::runtime::{Builder, JoinError, JoinHandle, Runtime, block_on, spawn, spawn_local};
