//! [`Handle`]: a `Send + Sync` reference to a runtime, for spawning onto
//! it, blocking on it and entering it from any thread.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::context::{self, Spawner};
use crate::runtime::{Workers, block_on_with};
use crate::stats::RuntimeStats;
use crate::task::JoinHandle;

/// A handle to a runtime: spawn onto its workers, run a future on the
/// calling thread as a part of it, or make it current — from any thread,
/// as `tokio::runtime::Handle`.
///
/// Get one from [`Runtime::handle`](crate::Runtime::handle), or with
/// [`Handle::current`] inside the runtime (a task, its `block_on`, or
/// with a handle [entered](Handle::enter)). Cloning is cheap (an `Arc`).
/// A handle does not keep the runtime running: once the runtime is
/// dropped, tasks spawned through it are cancelled at once (their
/// [`JoinHandle`] yields a cancelled [`JoinError`](crate::JoinError)) and
/// sockets created with it entered fail. (It does keep the workers'
/// epoll fds and eventfds open until the last handle is dropped.)
///
/// ```
/// use sockwq_runtime::Runtime;
/// let rt = Runtime::builder().worker_threads(2).build()?;
/// let handle = rt.handle().clone();
/// let v = std::thread::spawn(move || {
///     let h = handle.spawn(async { 6 * 7 });
///     handle.block_on(h).unwrap()
/// })
/// .join()
/// .unwrap();
/// assert_eq!(v, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) workers: Arc<Workers>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("worker_threads", &self.workers.len())
            .finish()
    }
}

impl Handle {
    /// The runtime current on this thread.
    ///
    /// # Panics
    ///
    /// Outside a runtime (like tokio's); see [`try_current`](Handle::try_current).
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::new()?;
    /// rt.block_on(async {
    ///     let handle = sockwq_runtime::runtime::Handle::current();
    ///     assert_eq!(handle.spawn(async { 1 }).await.unwrap(), 1);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    /// The runtime current on this thread: inside one of its tasks, its
    /// `block_on` (including the free [`block_on`](crate::block_on)), or
    /// while a handle is [entered](Handle::enter).
    ///
    /// ```
    /// use sockwq_runtime::runtime::Handle;
    /// assert!(Handle::try_current().unwrap_err().is_missing_context());
    /// let rt = sockwq_runtime::Runtime::new()?;
    /// let _guard = rt.handle().enter();
    /// assert!(Handle::try_current().is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::runtime().map_err(|missing| TryCurrentError { missing })
    }

    /// Spawns a task onto one of the runtime's workers (round-robin).
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::new()?;
    /// let h = rt.handle().spawn(async { "done" });
    /// assert_eq!(rt.block_on(h).unwrap(), "done");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.workers.spawn(future)
    }

    /// Runs `f` on the runtime's blocking pool (the process-wide one for
    /// the handle of a free `block_on`); see
    /// [`spawn_blocking`](crate::spawn_blocking).
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::new()?;
    /// let h = rt.handle().spawn_blocking(|| 6 * 7);
    /// assert_eq!(rt.block_on(h).unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        match &self.workers.blocking {
            Some(pool) => pool.spawn(f),
            None => crate::blocking::global().spawn(f),
        }
    }

    /// Runs `future` on the calling thread until it completes, as a part
    /// of the runtime: see [`Runtime::block_on`](crate::Runtime::block_on).
    ///
    /// # Panics
    ///
    /// If called from within a runtime (a task, or another `block_on`).
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::new()?;
    /// let handle = rt.handle().clone();
    /// let t = std::thread::spawn(move || handle.block_on(async { 5 }));
    /// assert_eq!(t.join().unwrap(), 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        block_on_with(future, Some(self.workers.clone()))
    }

    /// Makes the runtime current on this thread until the guard is
    /// dropped: [`spawn`](crate::spawn) sends tasks to its workers,
    /// [`Handle::current`] returns it, and sockets created meanwhile
    /// belong to it (they register with one of its workers' reactors).
    /// Guards must be dropped in the reverse order of their creation.
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::new()?;
    /// let _guard = rt.handle().enter();
    /// let h = sockwq_runtime::spawn(async { 2 }); // no `block_on` needed
    /// assert_eq!(rt.block_on(h).unwrap(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        let entered = context::enter_runtime(
            Spawner::Workers(self.workers.clone()),
            self.clone(),
            self.workers.sockets_reactor(),
        );
        EnterGuard {
            _entered: entered,
            _handle: PhantomData,
        }
    }

    /// A snapshot of the runtime's counters: per worker, its reactor's
    /// [`Stats`](sockwq_reactor::Stats) and its task counts. Each worker's
    /// figures are as of its last reactor turn; see
    /// [`RuntimeStats`](crate::runtime::RuntimeStats).
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::builder().worker_threads(1).build()?;
    /// let stats = rt.handle().stats();
    /// assert_eq!(stats.workers().len(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stats(&self) -> RuntimeStats {
        self.workers.stats()
    }
}

/// Keeps a runtime current on this thread; see [`Handle::enter`]. Not
/// `Send`: drop it on the thread that made it.
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard<'a> {
    _entered: context::Entered,
    _handle: PhantomData<&'a Handle>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// The error of [`Handle::try_current`]: no runtime is current on this
/// thread.
///
/// ```
/// let e = sockwq_runtime::runtime::Handle::try_current().unwrap_err();
/// assert!(e.is_missing_context());
/// assert!(!e.is_thread_local_destroyed());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryCurrentError {
    /// True: no runtime entered; false: the thread is exiting and its
    /// thread-locals are gone.
    missing: bool,
}

impl TryCurrentError {
    /// No runtime is current on this thread.
    pub fn is_missing_context(&self) -> bool {
        self.missing
    }

    /// The thread's thread-locals are being destroyed (called from a
    /// thread-local's destructor).
    pub fn is_thread_local_destroyed(&self) -> bool {
        !self.missing
    }
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.missing {
            f.write_str(
                "there is no sockwq runtime on this thread: call this from a task, inside \
                 block_on, or with a runtime::Handle entered",
            )
        } else {
            f.write_str("the sockwq runtime context is being destroyed (thread-local destructor)")
        }
    }
}

impl std::error::Error for TryCurrentError {}
