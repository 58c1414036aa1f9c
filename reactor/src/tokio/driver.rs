//! Driving one runtime's sockwq reactor from tokio's IO driver.
//!
//! The reactor's epoll fd is registered with tokio (`AsyncFd`, readable).
//! Its readiness waker is not a task's: it is [`Shared`] itself. When
//! tokio's IO driver finds the epoll fd readable it calls that waker, and
//! the waker turns the reactor right there, with a zero timeout — inside
//! tokio's own dispatch, where tokio wakes the tasks of its own sockets.
//! So a sockwq socket's event reaches its task with no extra task hop: the
//! woken tasks are queued exactly as tokio queues those its own driver
//! wakes (on multi_thread: onto the parked worker's queue, other workers
//! notified once after the park rather than once per wake).
//!
//! Per wake, the waker turns at most [`INLINE_TURNS`] batches of at most
//! [`BATCH`] events, and clears tokio's readiness only after a short batch
//! (the epoll ready list was emptied); then it polls readiness again, which
//! re-arms it (or, if a new edge came meanwhile, turns again). tokio's
//! clear is tick-checked: an edge that arrived after the readiness was
//! observed is not erased, so no event is stranded.
//!
//! A full batch (or too many rounds) is handed to the driver task, which
//! turns a batch at a time and yields between batches, so that a flood of
//! events cannot starve the runtime, and then re-arms the waker. The task
//! also owns the reactor's life: the runtime drops it at shutdown, and its
//! guard shuts the reactor down (sockets fail with tokio's shutdown error)
//! and deregisters the epoll fd from tokio.
//!
//! Nested epoll is edge-triggered here: each event queued on the inner
//! (sockwq) epoll re-signals the outer (tokio) one, and a short batch leaves
//! the inner ready list empty, so any later event is a new edge.

use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use ::tokio::io::Interest;
use ::tokio::io::unix::AsyncFd;
use futures_util::task::AtomicWaker;

use super::registry::EntryGuard;
use crate::reactor::{Handle, Reactor};

/// Events per turn: bounds the work of one turn (every woken task runs
/// after it).
pub(super) const BATCH: usize = 256;

/// Batches one readiness wake may turn before handing over to the task.
const INLINE_TURNS: usize = 4;

/// The reactor's epoll fd, for tokio. Holds a [`Handle`], which keeps the
/// fd open for as long as this value lives.
struct EpollFd(Handle);

impl AsRawFd for EpollFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.epoll_fd()
    }
}

/// The reactor and tokio's registration of its epoll fd.
struct Parts {
    // Field order is drop order: tokio forgets the epoll fd first, then the
    // reactor shuts down (waking its sources with the shutdown state).
    fd: AsyncFd<EpollFd>,
    reactor: Reactor,
}

/// One runtime's driver: the readiness waker of the epoll fd.
pub(super) struct Shared {
    /// `None` once the runtime has shut the driver down.
    parts: Mutex<Option<Parts>>,
    /// A readiness wake came while another thread was turning: that thread
    /// turns again before it lets go.
    again: AtomicBool,
    /// Set when a full batch is handed to the driver task.
    handoff: AtomicBool,
    /// The driver task's waker.
    task: AtomicWaker,
}

/// What one pump of the reactor left behind.
enum Pumped {
    /// tokio's readiness is cleared and the waker armed for the next edge.
    Armed,
    /// Events may be left: the driver task continues after a yield.
    Full,
    /// Shut down, or tokio's IO driver is gone.
    Gone,
}

/// Why a reactor could not join a tokio runtime.
pub(super) enum StartError {
    /// The runtime was built without `enable_io`.
    NoIo,
    Io(io::Error),
}

impl Shared {
    /// Creates a reactor and registers its epoll fd with `rt`'s IO driver.
    pub(super) fn new(rt: &::tokio::runtime::Handle) -> Result<(Arc<Shared>, Handle), StartError> {
        let reactor = Reactor::with_capacity(BATCH).map_err(StartError::Io)?;
        let handle = reactor.handle();
        handle.set_shutdown_error(super::shutdown::error);
        let _enter = rt.enter();
        let epoll = EpollFd(handle.clone());
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
        let fd = match registered {
            Ok(Ok(fd)) => fd,
            Ok(Err(e)) => return Err(StartError::Io(e.into_parts().1)),
            Err(_panic) => return Err(StartError::NoIo),
        };
        let shared = Arc::new(Shared {
            parts: Mutex::new(Some(Parts { fd, reactor })),
            again: AtomicBool::new(false),
            handoff: AtomicBool::new(false),
            task: AtomicWaker::new(),
        });
        Ok((shared, handle))
    }

    fn lock(&self) -> MutexGuard<'_, Option<Parts>> {
        // A panic in a turn (a waker that panicked) leaves the parts usable.
        self.parts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Turns the reactor unless another thread is at it, in which case that
    /// thread turns once more on our behalf. Hands a full batch to the task.
    pub(super) fn pump(self: &Arc<Self>) {
        // Dekker with the turning thread: [again = true] ; fence ; try_lock
        // here, [unlock] ; fence ; load(again) there. If our try_lock fails,
        // the holder's load after its unlock sees our store.
        self.again.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        loop {
            let mut parts = match self.parts.try_lock() {
                Ok(g) => g,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            let mut full = false;
            while self.again.swap(false, Ordering::Relaxed) {
                let Some(p) = parts.as_mut() else { return };
                match self.turn(p) {
                    Pumped::Armed => {}
                    Pumped::Full => full = true,
                    Pumped::Gone => return,
                }
            }
            drop(parts);
            if full {
                self.handoff.store(true, Ordering::Release);
                self.task.wake();
            }
            fence(Ordering::SeqCst);
            if !self.again.load(Ordering::Relaxed) {
                return;
            }
        }
    }

    /// Up to [`INLINE_TURNS`] zero-timeout turns while tokio reports the
    /// epoll fd readable; clears that readiness only after a short batch,
    /// then polls it again, which arms this waker for the next edge.
    fn turn(self: &Arc<Self>, p: &mut Parts) -> Pumped {
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        for _ in 0..INLINE_TURNS {
            let mut ready = match p.fd.poll_read_ready(&mut cx) {
                // Armed; or tokio's budget of the polling task is spent, in
                // which case tokio wakes this waker once the task yields.
                Poll::Pending => return Pumped::Armed,
                // tokio's IO driver has shut down.
                Poll::Ready(Err(_)) => return Pumped::Gone,
                Poll::Ready(Ok(r)) => r,
            };
            match p.reactor.turn(Some(Duration::ZERO)) {
                // Short batch (the reactor's eventfd edge, if any, takes one
                // slot): the epoll ready list is empty.
                Ok(n) if n + 1 < BATCH => ready.clear_ready(),
                Ok(_) => return Pumped::Full,
                Err(e) => {
                    // Only a broken epoll fd fails a zero-timeout wait; do not
                    // spin on it. The sockets' IO then waits for the runtime's
                    // shutdown, which fails it.
                    tracing::error!(error = %e, "sockwq tokio driver: turn failed");
                    return Pumped::Gone;
                }
            }
        }
        Pumped::Full
    }
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.pump();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.pump();
    }
}

/// The driver task: arms the readiness waker, continues full batches with
/// a yield between them, and when dropped (the runtime's shutdown, even if
/// it never ran) shuts the reactor down.
pub(super) fn run(shared: Arc<Shared>, entry: EntryGuard) -> impl Future<Output = ()> + Send {
    let shutdown = ShutdownGuard {
        shared: shared.clone(),
        _entry: entry,
    };
    async move {
        let _shutdown = shutdown;
        shared.pump();
        loop {
            poll_fn(|cx| {
                shared.task.register(cx.waker());
                // Acquire: pairs with the Release store before the wake.
                if shared.handoff.swap(false, Ordering::Acquire) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            // Yield first: the tasks the full batch woke run before the next.
            ::tokio::task::yield_now().await;
            shared.pump();
        }
    }
}

/// Shuts the reactor down when the runtime drops the driver task.
struct ShutdownGuard {
    shared: Arc<Shared>,
    // Dropped after the reactor: the registry entry goes last.
    _entry: EntryGuard,
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        let parts = self.shared.lock().take();
        // Outside the lock: dropping the reactor wakes every task waiting
        // on its sockets, with the shutdown state.
        drop(parts);
    }
}
