//! [`Reactor`]: the epoll loop, dispatch, and the grace-period release of
//! deregistered sources and retired wait queues. [`Handle`]: a cheap,
//! `Send + Sync` reference used to register fds and to wake the reactor.
//! [`Registration`]: one fd's membership, deregistered on drop.
//!
//! Memory rules (why dispatch can dereference a bare token):
//!
//! * A source is freed only after a turn that started after its
//!   `EPOLL_CTL_DEL` succeeded (the grace period): no later `epoll_wait`
//!   returns its token, and the turn that may have returned it is over.
//! * A source whose `EPOLL_CTL_DEL` failed is never freed while the reactor
//!   lives: the kernel may still hold an entry with its token (the fd was
//!   closed while a `dup` keeps the file open, or replaced). It is kept
//!   until the reactor drops. The by-reference registration API is
//!   `unsafe` for this reason; [`Async`](crate::Async) owns its fd and is
//!   the safe way in.
//! * Once the reactor is dropped no turn can run, so deregistration frees
//!   at once instead of queueing: a queued source could hold a waker whose
//!   task holds a [`Handle`], a cycle that would keep the epoll fd and the
//!   eventfd open for ever.
//! * Nothing is freed inside the dispatch loop: wait queues replaced while
//!   the dispatcher read them are retired and freed at the start of the
//!   next turn, with the released sources (the kernel's `call_rcu`).

use std::fmt;
use std::io;
use std::ops::Deref;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use slab::Slab;

use crate::interest::Ready;
use crate::source::{Shared, Source};
use crate::sys::{Epoll, EventFd, Events};

/// The token of the reactor's own eventfd. No `Source` lives at address 0.
const WAKE_TOKEN: u64 = 0;

/// Released sources waiting for the grace period to end; past this many
/// the releasing thread wakes the reactor so they do not pile up.
const RELEASE_WAKE_THRESHOLD: usize = 256;

/// Every fd is registered once, edge-triggered, for both directions and
/// hang-up/priority: no `EPOLL_CTL_MOD` ever happens on the hot path.
const EPOLL_FLAGS: u32 =
    (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLPRI | libc::EPOLLET) as u32;

struct Registry {
    /// Every registered source, so that shutdown can wake them all.
    live: Slab<Arc<Source>>,
    /// Deregistered sources, freed at the start of the next turn.
    released: Vec<Arc<Source>>,
    /// Sources whose `EPOLL_CTL_DEL` failed: the kernel may still report
    /// their token, so they are freed only when the reactor drops.
    kept: Vec<Arc<Source>>,
    /// False once the `Reactor` is dropped: no new registrations.
    alive: bool,
}

struct Inner {
    epoll: Epoll,
    eventfd: EventFd,
    /// True from a `wake` until the turn that sees the eventfd's edge:
    /// many wakes before that turn cost one `write`.
    notified: AtomicBool,
    registry: Mutex<Registry>,
    /// `registry.released.len()`, readable without the lock so that a turn
    /// with nothing to release takes no lock at all.
    released_pending: AtomicUsize,
    shared: Arc<Shared>,
}

impl Inner {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the registry
        // inconsistent (each update is one push/insert/remove).
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A snapshot of a reactor's counters, from [`Reactor::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Calls of [`Reactor::turn`] that returned from `epoll_wait`.
    pub turns: u64,
    /// Socket events dispatched (the eventfd's own edges not counted).
    pub events: u64,
    /// Wakers woken by dispatch.
    pub wakeups: u64,
    /// Events dispatched with nobody waiting: only the state word was touched.
    pub wakeups_skipped: u64,
    /// `ArcSwap` stores into socket wait queues (RCU updates).
    pub rcu_updates: u64,
    /// Sources freed after their grace period.
    pub deferred_releases: u64,
    /// `write`s to the reactor's eventfd (deduplicated wakes).
    pub eventfd_writes: u64,
    /// Fds registered over the reactor's life.
    pub registrations: u64,
    /// Deregistrations whose `EPOLL_CTL_DEL` failed (the fd was closed or
    /// replaced before its registration was dropped, breaking the contract
    /// of [`Handle::register`]). Their sources are kept, not freed, until
    /// the reactor drops: the kernel may still report their token.
    pub failed_deregistrations: u64,
}

/// An epoll reactor.
///
/// One thread turns it at a time — [`turn`](Reactor::turn) takes `&mut self`,
/// so a second concurrent turn cannot even be written. Everything else goes
/// through a [`Handle`], which any thread may hold.
///
/// ```
/// use std::io::Write;
/// use std::os::unix::net::UnixStream;
/// use sockwq_reactor::Reactor;
///
/// let mut reactor = Reactor::new()?;
/// let (a, mut b) = UnixStream::pair()?;
/// a.set_nonblocking(true)?;
/// // SAFETY: `a` outlives `reg` (declared before it, so dropped after it).
/// let reg = unsafe { reactor.handle().register(&a)? };
/// b.write_all(b"ping")?;
/// reactor.turn(Some(std::time::Duration::from_secs(1)))?;
/// assert!(reg.readiness().is_readable());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Reactor {
    inner: Arc<Inner>,
    events: Events,
    // Counters only the turning thread writes: plain fields.
    turns: u64,
    dispatched: u64,
    wakeups: u64,
    wakeups_skipped: u64,
    deferred_releases: u64,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("epoll", &self.inner.epoll.as_raw_fd())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Reactor {
    /// Creates a reactor: an epoll instance and its eventfd.
    pub fn new() -> io::Result<Reactor> {
        Self::with_capacity(1024)
    }

    /// Creates a reactor that takes at most `events` events per turn.
    pub fn with_capacity(events: usize) -> io::Result<Reactor> {
        let epoll = Epoll::new()?;
        let eventfd = EventFd::new()?;
        epoll.add(
            eventfd.as_raw_fd(),
            (libc::EPOLLIN | libc::EPOLLET) as u32,
            WAKE_TOKEN,
        )?;
        Ok(Reactor {
            inner: Arc::new(Inner {
                epoll,
                eventfd,
                notified: AtomicBool::new(false),
                registry: Mutex::new(Registry {
                    live: Slab::new(),
                    released: Vec::new(),
                    kept: Vec::new(),
                    alive: true,
                }),
                released_pending: AtomicUsize::new(0),
                shared: Arc::new(Shared::default()),
            }),
            events: Events::with_capacity(events),
            turns: 0,
            dispatched: 0,
            wakeups: 0,
            wakeups_skipped: 0,
            deferred_releases: 0,
        })
    }

    /// A handle to register fds with this reactor and to wake it.
    pub fn handle(&self) -> Handle {
        Handle {
            inner: self.inner.clone(),
        }
    }

    /// Waits up to `timeout` (`None`: until something happens) for events
    /// and dispatches them to the wakers of their sources. Returns the
    /// number of socket events dispatched; a [`Handle::wake`] ends the wait
    /// early and is not counted.
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        // The grace period ends here: the previous turn, the only one that
        // could have returned a released source's token, has been dispatched.
        self.release_deferred();
        self.wait_and_dispatch(timeout)
    }

    /// Not API (for the test that counts allocations inside dispatch): the
    /// first half of [`turn`](Reactor::turn), which frees what waited for
    /// the grace period.
    #[doc(hidden)]
    pub fn release_deferred_now(&mut self) {
        self.release_deferred();
    }

    /// Not API (for the test that counts allocations inside dispatch): the
    /// second half of [`turn`](Reactor::turn) — `epoll_wait` and the dispatch
    /// loop — which neither allocates nor frees.
    #[doc(hidden)]
    pub fn wait_and_dispatch(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        self.inner.epoll.wait(&mut self.events, timeout)?;
        self.turns += 1;
        let _span = tracing::debug_span!("turn", events = self.events.len()).entered();
        // Checked once per turn, not per event: the per-event `trace!` below
        // would load the global max level at every iteration.
        let trace = tracing::level_enabled!(tracing::Level::TRACE);
        let mut n = 0;
        for (ev, token) in self.events.iter() {
            if token == WAKE_TOKEN {
                // An RMW, so that a waker whose swap saw `true` (and skipped its
                // write) is ordered before this turn's return (see `Handle::wake`).
                self.inner.notified.swap(false, Ordering::AcqRel);
                continue;
            }
            // SAFETY: the token is `Arc::as_ptr` of a Source that the registry
            // keeps alive while it is registered, and after deregistration in
            // `released` until the start of the next turn. Deregistration's
            // EPOLL_CTL_DEL completes before the source enters `released`, so
            // no later epoll_wait returns the token; this turn's events were
            // all returned before this turn's release. A source whose DEL
            // failed is in `kept` until the reactor drops. Hence it is alive.
            let source = unsafe { &*(token as *const Source) };
            let ready = Ready::from_epoll_event(ev);
            let woken = source.dispatch(ready.bits() as u64);
            if woken == 0 {
                self.wakeups_skipped += 1;
            } else {
                self.wakeups += woken as u64;
            }
            n += 1;
            if trace {
                tracing::trace!(fd = source.fd(), ?ready, woken, "dispatch");
            }
        }
        self.dispatched += n as u64;
        Ok(n)
    }

    /// Frees the sources deregistered and the wait queues retired before
    /// this turn. Two relaxed loads when there is nothing to free.
    fn release_deferred(&mut self) {
        let lists = self.inner.shared.take_retired();
        if !lists.is_empty() {
            tracing::trace!(count = lists.len(), "retired wait queues freed");
            drop(lists);
        }
        if self.inner.released_pending.load(Ordering::Relaxed) == 0 {
            return;
        }
        let released = {
            let mut reg = self.inner.registry();
            self.inner.released_pending.store(0, Ordering::Relaxed);
            std::mem::take(&mut reg.released)
        };
        self.deferred_releases += released.len() as u64;
        tracing::trace!(count = released.len(), "grace period over");
        drop(released);
    }

    /// The reactor's counters.
    pub fn stats(&self) -> Stats {
        let s = &self.inner.shared;
        Stats {
            turns: self.turns,
            events: self.dispatched,
            wakeups: self.wakeups,
            wakeups_skipped: self.wakeups_skipped,
            rcu_updates: s.rcu_updates.load(Ordering::Relaxed),
            deferred_releases: self.deferred_releases,
            eventfd_writes: s.eventfd_writes.load(Ordering::Relaxed),
            registrations: s.registrations.load(Ordering::Relaxed),
            failed_deregistrations: s.failed_deregistrations.load(Ordering::Relaxed),
        }
    }
}

impl AsRawFd for Reactor {
    /// The epoll fd: readable when the reactor has events to dispatch, so
    /// another event loop (tokio's, say) can poll it and call
    /// `turn(Some(Duration::ZERO))`.
    fn as_raw_fd(&self) -> RawFd {
        self.inner.epoll.as_raw_fd()
    }
}

impl Drop for Reactor {
    /// Wakes every live source with the shutdown state: their pending and
    /// later operations return an error instead of hanging. Drops the
    /// sources' kept wakers, and frees everything that waited for a turn.
    fn drop(&mut self) {
        let (live, released, kept) = {
            let mut reg = self.inner.registry();
            reg.alive = false;
            self.inner.released_pending.store(0, Ordering::Relaxed);
            (
                reg.live.drain().collect::<Vec<_>>(),
                std::mem::take(&mut reg.released),
                std::mem::take(&mut reg.kept),
            )
        };
        let retired = self.inner.shared.close_retired();
        for source in &live {
            source.shutdown();
        }
        // No turn will come to end their grace period, and none can run (it
        // takes `&mut Reactor`): free them now, even those whose epoll entry
        // may survive (`kept`), since nothing will read their tokens again. A
        // queued source may hold the waker of a task that holds this
        // reactor's handle: keeping it would keep the epoll fd and the
        // eventfd open for ever.
        drop(released);
        drop(kept);
        drop(retired);
        tracing::debug!(sources = live.len(), "reactor shut down");
    }
}

/// A cheap, clonable, `Send + Sync` reference to a [`Reactor`].
#[derive(Clone)]
pub struct Handle {
    inner: Arc<Inner>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("epoll", &self.inner.epoll.as_raw_fd())
            .finish()
    }
}

impl PartialEq for Handle {
    fn eq(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Handle {}

impl Handle {
    /// Registers `fd` (which should be non-blocking) with the reactor,
    /// edge-triggered for reading, writing, hang-up and priority data.
    ///
    /// Errors: `EBADF` for a closed or invalid fd, `AlreadyExists` if it
    /// is registered already, `EPERM` for fds epoll cannot watch (regular
    /// files), and an error if the reactor has shut down.
    ///
    /// The returned [`Registration`] deregisters on drop. [`Async`](crate::Async)
    /// owns its fd and does all this safely; use it unless you cannot.
    ///
    /// # Safety
    ///
    /// The fd number must stay open, and refer to the same open file
    /// description, until the returned `Registration` is dropped or
    /// [deregistered](Registration::deregister): close the fd (or `dup2`
    /// over it) only after that.
    ///
    /// The registration borrows the fd by number only. Were the fd closed
    /// while a duplicate keeps the file open, its epoll entry would outlive
    /// the fd, `EPOLL_CTL_DEL` could not remove it, and the kernel would go
    /// on reporting events with this registration's token. The reactor
    /// defends against that (such a source is kept until the reactor drops,
    /// see [`Stats::failed_deregistrations`]), but not against the fd number
    /// being reused: the stale registration's delete would then remove the
    /// *new* file's entry (which would never wake again), or leave the old
    /// file's entry behind while its source is freed — a use-after-free in
    /// dispatch.
    pub unsafe fn register(&self, fd: &impl AsFd) -> io::Result<Registration> {
        // SAFETY: forwarded: the caller upholds the same contract.
        unsafe { self.register_assume_ready(fd, Ready::EMPTY) }
    }

    /// Like [`register`](Handle::register), but the source starts out with
    /// `ready` assumed, so the first IO is tried at once instead of after
    /// the first epoll turn. Meant for sockets that are very likely ready,
    /// such as one just accepted (its client's request is usually queued
    /// already): it saves a reactor turn per connection. A wrong guess
    /// costs one `WouldBlock`, whose clear drops the assumption; a real
    /// event is a new tick, which that clear cannot erase.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use sockwq_reactor::{Interest, Reactor, Ready};
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, mut b) = UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// b.write_all(b"hi")?;
    /// // SAFETY: `a` outlives `reg` (declared before it, so dropped after it).
    /// let reg = unsafe { reactor.handle().register_assume_ready(&a, Ready::READABLE | Ready::WRITABLE)? };
    /// // No turn yet, and the read goes ahead.
    /// let mut buf = [0u8; 2];
    /// let n = reg.try_io(Interest::READABLE, || std::io::Read::read(&mut &a, &mut buf))?;
    /// assert_eq!(&buf[..n], b"hi");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Safety
    ///
    /// As for [`register`](Handle::register): the fd stays open, and refers
    /// to the same open file description, until the `Registration` is
    /// dropped or deregistered.
    pub unsafe fn register_assume_ready(&self, fd: &impl AsFd, ready: Ready) -> io::Result<Registration> {
        let raw = fd.as_fd().as_raw_fd();
        let source = {
            let mut reg = self.inner.registry();
            if !reg.alive {
                return Err(self.inner.shared.gone());
            }
            let entry = reg.live.vacant_entry();
            let source = Arc::new(Source::new(raw, entry.key(), self.inner.shared.clone(), ready));
            entry.insert(source.clone());
            source
        };
        let token = Arc::as_ptr(&source) as u64;
        if let Err(e) = self.inner.epoll.add(raw, EPOLL_FLAGS, token) {
            // Never reached epoll: no grace period needed.
            self.inner.registry().live.try_remove(source.key);
            return Err(e);
        }
        self.inner.shared.registrations.fetch_add(1, Ordering::Relaxed);
        Ok(Registration {
            source: Some(source),
            handle: self.clone(),
        })
    }

    /// Makes the current or next [`Reactor::turn`] return promptly. Many
    /// wakes before that turn cost one eventfd `write`.
    pub fn wake(&self) {
        // AcqRel RMW: pairs with the turn's `swap(false)`. If this swap sees
        // `true`, it comes before that swap in the flag's modification order,
        // and what the caller did before waking is visible to the turning
        // thread after its turn returns — so skipping the write is safe.
        if !self.inner.notified.swap(true, Ordering::AcqRel) {
            self.inner.shared.eventfd_writes.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = self.inner.eventfd.wake() {
                // Cannot happen for a live eventfd we own; never hide it.
                tracing::error!(error = %e, "sockwq: eventfd write failed");
            }
        }
    }

    /// Whether the reactor behind this handle has been dropped.
    pub fn is_shutdown(&self) -> bool {
        !self.inner.registry().alive
    }

    /// Not API (for tests): how many deregistered sources and retired wait
    /// queues wait for the reactor's next turn.
    #[doc(hidden)]
    pub fn grace_pending(&self) -> usize {
        self.inner.registry().released.len() + self.inner.shared.retired_pending()
    }

    fn deregister(&self, source: Arc<Source>) -> io::Result<()> {
        let res = self.inner.epoll.delete(source.fd());
        let mut reg = self.inner.registry();
        if let Some(s) = reg.live.get(source.key) {
            if Arc::ptr_eq(s, &source) {
                reg.live.remove(source.key);
            }
        }
        if !reg.alive {
            // The reactor is gone: no turn runs or will run, so no grace period
            // is needed, whatever the delete said. Queueing would leak (see the
            // module docs). Freed outside the lock.
            drop(reg);
            drop(source);
            return res;
        }
        if let Err(e) = &res {
            // The kernel may still hold an entry with this token (the fd was
            // closed while a dup keeps its file open): dispatch could read the
            // source at any later turn. Never free it while the reactor lives.
            tracing::warn!(
                fd = source.fd(),
                error = %e,
                "sockwq: EPOLL_CTL_DEL failed (fd closed before its registration was dropped?); \
                 the source is kept until the reactor drops"
            );
            reg.kept.push(source);
            drop(reg);
            self.inner
                .shared
                .failed_deregistrations
                .fetch_add(1, Ordering::Relaxed);
            return res;
        }
        reg.released.push(source);
        let pending = reg.released.len();
        self.inner.released_pending.store(pending, Ordering::Relaxed);
        drop(reg);
        if pending >= RELEASE_WAKE_THRESHOLD {
            self.wake();
        }
        res
    }
}

/// One fd's membership in a reactor. Derefs to its [`Source`] (readiness,
/// polling, waiting). Deregisters on drop.
pub struct Registration {
    source: Option<Arc<Source>>,
    handle: Handle,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("source", &self.source)
            .finish()
    }
}

impl Registration {
    /// Registers `fd` with the current reactor ([`Handle::current`]).
    ///
    /// # Safety
    ///
    /// As for [`Handle::register`]: the fd stays open, and refers to the
    /// same open file description, until the `Registration` is dropped or
    /// deregistered.
    pub unsafe fn new(fd: &impl AsFd) -> io::Result<Registration> {
        // SAFETY: forwarded: the caller upholds the same contract.
        unsafe { Handle::try_current()?.register(fd) }
    }

    /// The reactor this fd is registered with.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Deregisters now and reports an error from `EPOLL_CTL_DEL` (dropping
    /// a registration only logs it). After an error the source is kept
    /// until the reactor drops (see [`Stats::failed_deregistrations`]).
    pub fn deregister(mut self) -> io::Result<()> {
        match self.source.take() {
            Some(s) => self.handle.deregister(s),
            None => Ok(()),
        }
    }
}

impl crate::fasync::AsSource for Registration {
    fn as_source(&self) -> &Arc<Source> {
        self.source.as_ref().expect("registration is live until dropped")
    }
}

impl Deref for Registration {
    type Target = Source;
    #[inline]
    fn deref(&self) -> &Source {
        self.source
            .as_deref()
            .expect("registration is live until dropped")
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(s) = self.source.take() {
            if let Err(e) = self.handle.deregister(s) {
                tracing::debug!(error = %e, "deregister on drop");
            }
        }
    }
}

/// Crate-internal hooks for drivers that turn a reactor from another event
/// loop (the tokio driver).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
impl Handle {
    /// The epoll fd; open as long as this handle (or any) lives.
    pub(crate) fn epoll_fd(&self) -> RawFd {
        self.inner.epoll.as_raw_fd()
    }

    /// A reference that does not keep the reactor's fds open.
    pub(crate) fn downgrade(&self) -> WeakHandle {
        WeakHandle(Arc::downgrade(&self.inner))
    }

    /// Makes IO on this reactor's sources fail with `f()` once it has shut
    /// down. Call before the first registration; later calls are ignored.
    pub(crate) fn set_shutdown_error(&self, f: fn() -> io::Error) {
        let _ = self.inner.shared.shutdown_error.set(f);
    }
}

/// A [`Handle`] that does not keep its reactor's fds open.
#[derive(Clone)]
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) struct WeakHandle(Weak<Inner>);

#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
impl WeakHandle {
    pub(crate) fn upgrade(&self) -> Option<Handle> {
        self.0.upgrade().map(|inner| Handle { inner })
    }

    pub(crate) fn ptr_eq(&self, other: &WeakHandle) -> bool {
        self.0.ptr_eq(&other.0)
    }
}
