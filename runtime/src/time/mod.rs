//! Timers, with the API of `tokio::time`: [`sleep`], [`sleep_until`],
//! [`timeout`], [`timeout_at`], [`interval`], [`interval_at`],
//! [`Instant`], [`MissedTickBehavior`], [`error::Elapsed`].
//!
//! A timer never fires before its deadline (it may fire later on a busy
//! machine). Where it registers depends on the thread that polls it:
//!
//! * On a thread that runs a sockwq core (a [`Runtime`](crate::Runtime)
//!   worker, [`block_on`](crate::block_on), or
//!   [`Runtime::block_on`](crate::Runtime::block_on)): with that core's own
//!   timers, with no lock. The nearest deadline is the timeout of the
//!   core's `epoll_wait`, with nanosecond resolution, so a 200 µs sleep is
//!   not rounded up to a millisecond.
//! * Anywhere else (`futures::executor::block_on`, smol, a plain thread):
//!   with the timers of the global reactor, the thread that also turns the
//!   sockets created outside a runtime
//!   ([`GlobalTimers`](sockwq_reactor::GlobalTimers)). So sockwq's timers,
//!   like its sockets, work under any executor.
//!
//! ```
//! use std::time::Duration;
//! use sockwq_runtime::{block_on, time};
//! use time::Instant;
//!
//! block_on(async {
//!     let start = Instant::now();
//!     time::sleep(Duration::from_micros(200)).await;
//!     assert!(start.elapsed() >= Duration::from_micros(200));
//!
//!     let slow = time::sleep(Duration::from_secs(10));
//!     assert!(time::timeout(Duration::from_millis(1), slow).await.is_err());
//! });
//!
//! // The same futures under another executor.
//! let r = futures::executor::block_on(time::timeout(
//!     Duration::from_millis(1),
//!     std::future::pending::<()>(),
//! ));
//! assert!(r.is_err());
//! ```

pub mod error;
mod instant;
mod interval;
mod sleep;
mod timeout;

pub use instant::Instant;
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Timeout, timeout, timeout_at};
