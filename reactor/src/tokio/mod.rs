//! Inside tokio: each tokio runtime drives a sockwq reactor of its own.
//!
//! A socket created inside a tokio runtime (current_thread, multi_thread or
//! `LocalRuntime`; on a worker, in `block_on`, or under `Handle::enter`)
//! registers with a sockwq [`Reactor`](crate::Reactor) that belongs to that
//! runtime, found by `tokio::runtime::Handle::try_current()` and its
//! `id()`. The reactor is created on first use. Its epoll fd goes into
//! tokio's IO driver (`AsyncFd`, readable interest); whenever tokio reports
//! it readable, the reactor is turned with a zero timeout from tokio's own
//! dispatch, and a driver task per runtime takes over floods of events
//! (yielding between batches) and owns the reactor's life (see
//! `driver.rs`): no thread of sockwq's own, no hop between threads or tasks
//! before a tokio task is woken.
//!
//! - **Shutdown**: the driver task and the reactor go down with the
//!   runtime. IO on its sockets then fails at once with an error for which
//!   `tokio::runtime::is_rt_shutdown_err` is true, as tokio's own sockets
//!   do; nothing hangs.
//! - **Budget**: sockwq IO polled from a tokio task spends that task's tokio
//!   coop budget (see [`coop`](crate::coop)).
//! - **No IO driver**: a runtime built without `enable_io` cannot host the
//!   reactor; creating a socket there returns an `io::Error` saying so.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! use std::io::Write;
//! use std::os::unix::net::UnixStream;
//! use sockwq_reactor::Async;
//!
//! let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
//! rt.block_on(async {
//!     let (a, mut b) = UnixStream::pair()?;
//!     let a = Async::new(a)?; // joins this runtime's reactor
//!     assert_eq!(a.registration().handle(), &sockwq_reactor::tokio::handle()?);
//!     b.write_all(b"x")?;
//!     a.readable().await?;
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok(()) }
//! ```

use std::io;

mod driver;
mod registry;
mod shutdown;

use crate::reactor::Handle;

/// The sockwq reactor of the tokio runtime this thread is in, created (and
/// its driver task spawned) on first use.
///
/// Errors: not inside a tokio runtime (`NotFound`), a runtime without an
/// IO driver (`Unsupported`, naming `enable_io`), a runtime shutting down
/// (tokio's shutdown error), or the reactor's own fds could not be created.
pub fn handle() -> io::Result<Handle> {
    match ::tokio::runtime::Handle::try_current() {
        Ok(rt) => registry::reactor_for(&rt),
        Err(e) => Err(io::Error::new(io::ErrorKind::NotFound, e)),
    }
}

/// The sockwq reactor of the tokio runtime behind `rt`, created on first use.
pub fn handle_for(rt: &::tokio::runtime::Handle) -> io::Result<Handle> {
    registry::reactor_for(rt)
}

/// How many tokio runtimes have a sockwq reactor (or are known to have no
/// IO driver) right now. A runtime's entry goes when it shuts down.
pub fn runtimes() -> usize {
    registry::entries()
}

/// The reactor a new socket joins when this thread is inside a tokio
/// runtime; `None` when it is not.
#[inline]
pub(crate) fn current() -> Option<io::Result<Handle>> {
    let rt = ::tokio::runtime::Handle::try_current().ok()?;
    Some(registry::reactor_for(&rt))
}
