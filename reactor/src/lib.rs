//! sockwq's reactor: epoll, with socket wakeups that never take a lock.
//!
//! Each registered fd is a [`Source`]: one atomic state word (readiness, a
//! tick per direction, and the ownership of two waker slots) plus a
//! `SocketWq` published through an `arc_swap::ArcSwap` — the user-space
//! twin of the kernel's RCU-protected `struct socket_wq`. Dispatching an
//! epoll event is one read-modify-write on the state word, a wake of the
//! armed slot, and — only if a readiness future waits — one `ArcSwap`
//! load. No lock, no allocation. `state.rs` documents the protocol and why
//! no wakeup is lost.
//!
//! ```
//! use std::os::unix::net::UnixStream;
//! use std::io::Write;
//! use sockwq_reactor::Async;
//!
//! // With no runtime entered, sockets register with a global reactor
//! // turned by its own thread, so any executor works.
//! futures::executor::block_on(async {
//!     let (a, mut b) = UnixStream::pair()?;
//!     let a = Async::new(a)?;
//!     b.write_all(b"x")?;
//!     a.readable().await?;
//!     let mut buf = [0u8; 1];
//!     let n = a.read_with(|mut s| std::io::Read::read(&mut s, &mut buf)).await?;
//!     assert_eq!(n, 1);
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![doc(test(attr(deny(warnings))))]

#[cfg(not(target_os = "linux"))]
compile_error!("sockwq is Linux-only: it is built on epoll(7) and eventfd(2).");

#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod ablation;
mod async_fd;
mod atomic_waker;
pub mod coop;
mod current;
pub mod fasync;
mod interest;
mod reactor;
mod source;
mod state;
#[cfg(test)]
mod state_tests;
mod sync;
mod sys;
mod timers;
#[cfg(feature = "tokio")]
pub mod tokio;
// `SocketWq` is API only for the dispatch benchmark (`bench-internals`).
#[cfg_attr(not(feature = "bench-internals"), allow(unreachable_pub))]
mod wq;

pub use async_fd::Async;
pub use atomic_waker::AtomicWaker;
pub use current::{EnterGuard, GlobalTimers};
pub use interest::{Interest, Ready};
pub use reactor::{Handle, Reactor, Registration, Stats};
pub use source::{Readiness, ReadyEvent, Source};
pub use timers::{TimerKey, Timers, Update};
#[cfg(feature = "bench-internals")]
pub use wq::SocketWq;
