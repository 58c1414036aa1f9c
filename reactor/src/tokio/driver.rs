//! The driver task: turns one runtime's sockwq reactor whenever tokio's IO
//! driver reports the reactor's epoll fd readable.
//!
//! Shape (tokio-uring's): `readable().await` on the epoll fd, then turns
//! with a zero timeout. A turn takes at most [`BATCH`] events; a full batch
//! means more may be queued, so the task yields (letting the tasks it just
//! woke, and everyone else, run) and turns again. Only after a short batch
//! — the epoll ready list was emptied — does it clear tokio's readiness and
//! wait. Clearing is tick-checked by tokio: an edge that arrived after the
//! readiness was observed is not erased, so no event is stranded.
//!
//! Nested epoll is edge-triggered here: each event queued on the inner
//! (sockwq) epoll re-signals the outer (tokio) one, and a short batch leaves
//! the inner ready list empty, so any later event is a new edge.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use ::tokio::io::Interest;
use ::tokio::io::unix::AsyncFd;

use super::registry::EntryGuard;
use crate::reactor::{Handle, Reactor};

/// Events per turn. Every woken task runs after the driver yields, so this
/// bounds the work one driver poll does.
pub(super) const BATCH: usize = 256;

/// The reactor's epoll fd, for tokio. Holds a [`Handle`], which keeps the
/// fd open for as long as this value lives.
struct EpollFd(Handle);

impl AsRawFd for EpollFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.epoll_fd()
    }
}

/// A reactor whose epoll fd tokio watches, ready to be driven.
pub(super) struct Driver {
    // Field order is drop order: tokio forgets the epoll fd first, then the
    // reactor shuts down (waking its sources with the shutdown state), then
    // the registry entry goes.
    fd: AsyncFd<EpollFd>,
    reactor: Reactor,
    entry: Option<EntryGuard>,
}

/// Why a reactor could not join a tokio runtime.
pub(super) enum StartError {
    /// The runtime was built without `enable_io`.
    NoIo,
    Io(io::Error),
}

impl Driver {
    /// Creates a reactor and registers its epoll fd with `rt`'s IO driver.
    pub(super) fn new(rt: &::tokio::runtime::Handle) -> Result<Driver, StartError> {
        let reactor = Reactor::with_capacity(BATCH).map_err(StartError::Io)?;
        let handle = reactor.handle();
        handle.set_shutdown_error(super::shutdown::error);
        let _enter = rt.enter();
        let epoll = EpollFd(handle);
        // tokio panics (it does not return an error) when the runtime has no
        // IO driver, before touching any state; that panic is the only
        // signal tokio gives, so it is caught and turned into an error here.
        // (The panic hook still prints tokio's message.)
        let registered = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the fd is the reactor's epoll fd, owned by the reactor's
            // shared state, which `EpollFd`'s handle keeps alive: it stays open
            // and refers to the same epoll instance for as long as the
            // `AsyncFd` (which owns the `EpollFd`) lives, and `as_raw_fd`
            // returns that same number every time.
            unsafe { AsyncFd::register_with_interest(epoll, Interest::READABLE) }
        }));
        match registered {
            Ok(Ok(fd)) => Ok(Driver {
                fd,
                reactor,
                entry: None,
            }),
            Ok(Err(e)) => Err(StartError::Io(e.into_parts().1)),
            Err(_panic) => Err(StartError::NoIo),
        }
    }

    pub(super) fn handle(&self) -> Handle {
        self.reactor.handle()
    }

    /// Ties the registry entry's life to the driver's.
    pub(super) fn set_entry(&mut self, entry: EntryGuard) {
        self.entry = Some(entry);
    }

    /// The driver task's body. Returns only if tokio's IO driver or the
    /// epoll fd fails; the runtime's shutdown drops it instead.
    pub(super) async fn run(mut self) {
        loop {
            let mut ready = match self.fd.readable().await {
                Ok(r) => r,
                // tokio's IO driver has shut down.
                Err(_) => return,
            };
            loop {
                match self.reactor.turn(Some(Duration::ZERO)) {
                    // Short batch (the reactor's eventfd edge, if any, takes one
                    // slot): the epoll ready list is empty.
                    Ok(n) if n + 1 < BATCH => {
                        ready.clear_ready();
                        break;
                    }
                    Ok(_) => ::tokio::task::yield_now().await,
                    Err(e) => {
                        // Only a broken epoll fd fails a zero-timeout wait. End the
                        // driver: the reactor shuts down and its sockets' IO fails
                        // instead of hanging; a new socket starts a new reactor.
                        tracing::error!(error = %e, "sockwq tokio driver: turn failed");
                        return;
                    }
                }
            }
        }
    }
}
