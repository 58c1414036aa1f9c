//! Which reactor a new socket registers with: the one a runtime entered on
//! this thread; else, inside a tokio runtime, the reactor that runtime
//! drives (`tokio/`); or else a global reactor turned by its own thread, so
//! that any executor (`futures::executor::block_on`, smol, ...) can drive
//! sockwq IO. The global reactor's thread also keeps [`GlobalTimers`], the
//! timers of futures polled outside a runtime: their nearest deadline is
//! the timeout of its `epoll_wait`.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::reactor::{Handle, Reactor};
use crate::timers::{TimerKey, Timers, Update};

thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

static GLOBAL: OnceLock<Arc<GlobalTimers>> = OnceLock::new();
static GLOBAL_INIT: Mutex<()> = Mutex::new(());

/// Restores the previously entered handle on drop; see [`Handle::enter`].
#[derive(Debug)]
#[must_use = "the handle is current only while the guard lives"]
pub struct EnterGuard {
    prev: Option<Handle>,
    // Entered per thread: the guard must be dropped on the thread it was made on.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

impl Handle {
    /// Makes this handle the current one on this thread until the guard is
    /// dropped: sockets created meanwhile register with its reactor.
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        EnterGuard {
            prev,
            _not_send: std::marker::PhantomData,
        }
    }

    /// The handle entered on this thread; else, inside a tokio runtime,
    /// that runtime's reactor (see [`crate::tokio`]); else the global
    /// reactor's (started on first use). Errors if the reactor cannot be
    /// created (e.g. out of fds), or the tokio runtime has no IO driver or
    /// is shutting down.
    pub fn try_current() -> io::Result<Handle> {
        if let Some(h) = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten() {
            return Ok(h);
        }
        #[cfg(feature = "tokio")]
        if let Some(h) = crate::tokio::current() {
            return h;
        }
        global()
    }

    /// Like [`try_current`](Handle::try_current).
    ///
    /// # Panics
    ///
    /// If no reactor can be had (see `try_current`'s errors).
    pub fn current() -> Handle {
        match Self::try_current() {
            Ok(h) => h,
            Err(e) => panic!("sockwq: no reactor for a new socket: {e}"),
        }
    }

    /// The global reactor's handle, starting its thread on first use.
    pub fn global() -> io::Result<Handle> {
        global()
    }
}

fn global() -> io::Result<Handle> {
    Ok(GlobalTimers::get()?.handle.clone())
}

/// The timers of the global reactor (the one [`Handle::global`] returns),
/// for timer futures polled outside any runtime: its thread wakes each
/// timer's waker at its deadline, and sleeps in `epoll_wait` until the
/// nearest one (or IO, or a [`Handle::wake`]).
///
/// Any thread may add a timer, so they sit behind a `Mutex` (held for a
/// B-tree insert or remove, never while a waker runs). This is the
/// fallback path for foreign executors; sockwq's runtime keeps a
/// [`Timers`] per core with no lock.
///
/// ```
/// use std::future::poll_fn;
/// use std::task::Poll;
/// use std::time::{Duration, Instant};
/// use sockwq_reactor::GlobalTimers;
///
/// // A minimal sleep on the global timers, under futures' executor.
/// let deadline = Instant::now() + Duration::from_millis(2);
/// let timers = GlobalTimers::get()?;
/// let mut key = None;
/// futures::executor::block_on(poll_fn(|cx| {
///     if Instant::now() >= deadline {
///         return Poll::Ready(());
///     }
///     match key {
///         Some(k) if timers.update(k, cx.waker()) => {}
///         _ => key = Some(timers.insert(deadline, cx.waker())),
///     }
///     Poll::Pending
/// }));
/// assert!(Instant::now() >= deadline);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct GlobalTimers {
    timers: Mutex<Timers>,
    /// The global reactor: woken when a timer becomes the nearest.
    handle: Handle,
}

impl fmt::Debug for GlobalTimers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalTimers")
            .field("timers", &*self.lock())
            .finish()
    }
}

impl GlobalTimers {
    /// The global reactor's timers, starting its thread on first use.
    /// Errors only if the reactor or its thread cannot be created (the
    /// next call tries again).
    pub fn get() -> io::Result<&'static GlobalTimers> {
        if let Some(g) = GLOBAL.get() {
            return Ok(g);
        }
        let _g = GLOBAL_INIT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = GLOBAL.get() {
            return Ok(g);
        }
        let mut reactor = Reactor::new()?;
        let timers = Arc::new(GlobalTimers {
            timers: Mutex::new(Timers::new()),
            handle: reactor.handle(),
        });
        let t = timers.clone();
        std::thread::Builder::new()
            .name("sockwq-reactor".into())
            .spawn(move || {
                loop {
                    let timeout = t.fire_expired();
                    if let Err(e) = reactor.turn(timeout) {
                        // epoll_wait fails only on a broken epoll fd; back off
                        // rather than spin, and say so.
                        tracing::error!(error = %e, "sockwq global reactor: turn failed");
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            })?;
        let _ = GLOBAL.set(timers);
        Ok(GLOBAL.get().expect("set above"))
    }

    fn lock(&self) -> MutexGuard<'_, Timers> {
        // Every update is a single B-tree operation: a panic cannot leave
        // the map half-changed.
        self.timers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The number of timers waiting.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no timer is waiting.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Registers `waker` to be woken at `deadline` (not before). Wakes the
    /// reactor's thread if this is now the nearest deadline, so that it
    /// shortens its sleep.
    pub fn insert(&self, deadline: Instant, waker: &Waker) -> TimerKey {
        let mut timers = self.lock();
        let nearest = timers.next_deadline().is_none_or(|d| deadline < d);
        let key = timers.insert(deadline, waker);
        drop(timers);
        // The thread read the nearest deadline under this lock before it
        // slept. Any earlier deadline added since then is either this one
        // (we wake it) or one whose insert woke it: none is slept through.
        if nearest {
            self.handle.wake();
        }
        key
    }

    /// Makes `waker` the one a registered timer wakes (see
    /// [`Timers::update`]). False if it fired or was removed: insert it
    /// again.
    pub fn update(&self, key: TimerKey, waker: &Waker) -> bool {
        let update = self.lock().update(key, waker);
        // Outside the lock: dropping a waker may drop a timer, which locks.
        match update {
            Update::Gone => false,
            Update::Kept => true,
            Update::Replaced(old) => {
                drop(old);
                true
            }
        }
    }

    /// Removes a timer (a dropped sleep). The reactor's thread is not
    /// woken: at worst it wakes once at the removed deadline for nothing.
    pub fn remove(&self, key: TimerKey) {
        let waker = self.lock().remove(key);
        // Dropped outside the lock: dropping a waker may run arbitrary code.
        drop(waker);
    }

    /// Wakes every due timer (outside the lock) and returns how long the
    /// thread may sleep until the next one.
    fn fire_expired(&self) -> Option<Duration> {
        let now = Instant::now();
        loop {
            let mut timers = self.lock();
            match timers.pop_expired(now) {
                Some(waker) => {
                    drop(timers);
                    waker.wake();
                }
                None => {
                    return timers
                        .next_deadline()
                        .map(|d| d.saturating_duration_since(Instant::now()));
                }
            }
        }
    }
}
