//! Tasks, as `tokio::task`: [`spawn`], [`spawn_local`], [`spawn_blocking`],
//! [`JoinHandle`], [`JoinError`], [`JoinSet`], [`AbortHandle`],
//! [`yield_now`], and task [`Id`]s ([`id`], [`try_id`]).
//!
//! A task is a future the runtime polls on one core (a worker, or a
//! `block_on` thread) until it completes. It never moves to another core:
//! a `Send` task spawned from a worker stays on that worker, and one
//! spawned from elsewhere is given to a worker round-robin.
//!
//! ```
//! use sockwq_runtime::{block_on, task};
//! block_on(async {
//!     let mut set = task::JoinSet::new();
//!     for i in 0..4u32 {
//!         set.spawn(async move {
//!             task::yield_now().await;
//!             i * 10
//!         });
//!     }
//!     let mut sum = 0;
//!     while let Some(r) = set.join_next().await {
//!         sum += r.unwrap();
//!     }
//!     assert_eq!(sum, 60);
//! });
//! ```
//!
//! # Inside
//!
//! A task's cell (state word, refcount, future, output, schedule
//! function) is an `async-task` task: one allocation per spawn, a waker
//! that is the task pointer itself, and no lock anywhere. The wrapper
//! (`TaskFuture`) adds what a runtime needs around the user's future:
//! panic capture, abort, the task id while it runs, and membership in its
//! core's set of live tasks (which shutdown cancels).

mod id;
mod join_set;
mod yield_now;

pub use crate::blocking::spawn_blocking;

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_task::FallibleTask;
use sockwq_reactor::AtomicWaker;

use crate::context;
use crate::core::Remote;

pub use crate::{spawn, spawn_local};
pub use id::{Id, id, try_id};
pub use join_set::JoinSet;
pub use yield_now::yield_now;

/// Shared by a task and its [`JoinHandle`] / [`AbortHandle`]s: its id,
/// the abort request, and whether its future is gone.
struct AbortState {
    id: Id,
    aborted: AtomicBool,
    /// Set when the task's future has been dropped (it completed,
    /// panicked, or was cancelled).
    finished: AtomicBool,
    /// The task's waker, registered at its first poll (an async-task
    /// waker is the task itself, so one registration is enough).
    waker: AtomicWaker,
}

/// The future a task cell holds: the user's future plus panic capture,
/// abort, and registration with the core that polls it.
struct TaskFuture<F> {
    /// Dropped by hand in `Drop`, with the task id current.
    future: ManuallyDrop<F>,
    abort: Arc<AbortState>,
    /// (core id, key in the core's active set) once polled.
    active: Option<(usize, usize)>,
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = Result<F::Output, JoinError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of
        // the wrapper, and the wrapper's `Drop` does not move it. The other
        // fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        if this.active.is_none() {
            this.active = context::with_core(|core| (core.remote.id, core.register_active(cx.waker())));
            this.abort.waker.register(cx.waker());
        }
        // Pairs with `JoinHandle::abort`: the waker was registered above
        // before this load, and AtomicWaker orders register/wake so that
        // either we see the flag or `abort` sees our waker.
        let id = this.abort.id;
        if this.abort.aborted.load(Ordering::Acquire) {
            return Poll::Ready(Err(JoinError::cancelled(id)));
        }
        // SAFETY: see above; `future` is not moved (`ManuallyDrop` is
        // `repr(transparent)` and only dropped in place).
        let future = unsafe { Pin::new_unchecked(&mut *this.future) };
        let _current = id::enter(id);
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(JoinError::panic(payload, id))),
        }
    }
}

impl<F> Drop for TaskFuture<F> {
    fn drop(&mut self) {
        {
            // The user's future sees its task id while it is dropped too.
            let _current = id::enter(self.abort.id);
            // SAFETY: dropped once, here, in place (a pinned future may be
            // dropped where it is); the field is not used afterwards.
            unsafe { ManuallyDrop::drop(&mut self.future) };
        }
        // Release: whoever sees `finished` sees the future's drop done.
        self.abort.finished.store(true, Ordering::Release);
        // Break the cycle task -> future -> AbortState -> waker -> task
        // (the join handle may still hold the AbortState).
        drop(self.abort.waker.take());
        if let Some((core_id, key)) = self.active {
            context::with_core(|core| {
                if core.remote.id == core_id {
                    core.deregister_active(key);
                }
            });
        }
    }
}

/// Spawns a `Send` future as a task of `remote`'s core.
pub(crate) fn spawn_on<F>(remote: &Arc<Remote>, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (future, abort) = task_future(future);
    let target = remote.clone();
    let (runnable, task) = async_task::spawn(future, move |r| target.schedule(r, false));
    start(runnable, task, abort)
}

/// Spawns a `!Send` future as a task of `remote`'s core, which must be
/// this thread's core.
pub(crate) fn spawn_local_on<F>(remote: &Arc<Remote>, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let (future, abort) = task_future(future);
    let target = remote.clone();
    // async-task checks at every poll and drop that a local task stays on
    // the thread that spawned it.
    let (runnable, task) = async_task::spawn_local(future, move |r| target.schedule(r, true));
    start(runnable, task, abort)
}

/// Spawns a `Send` future as a task whose runnables go to `schedule`
/// (used by the blocking pool, whose threads run no core).
pub(crate) fn spawn_scheduled<F, S>(future: F, schedule: S) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Fn(async_task::Runnable) + Send + Sync + 'static,
{
    let (future, abort) = task_future(future);
    let (runnable, task) = async_task::spawn(future, schedule);
    start(runnable, task, abort)
}

/// Wraps `future` with its abort state (and panic catching).
fn task_future<F: Future>(future: F) -> (TaskFuture<F>, Arc<AbortState>) {
    let abort = Arc::new(AbortState {
        id: Id::next(),
        aborted: AtomicBool::new(false),
        finished: AtomicBool::new(false),
        waker: AtomicWaker::new(),
    });
    let future = TaskFuture {
        future: ManuallyDrop::new(future),
        abort: abort.clone(),
        active: None,
    };
    (future, abort)
}

/// Queues a new task's first poll and hands out its join handle.
fn start<T>(
    runnable: async_task::Runnable,
    task: async_task::Task<Result<T, JoinError>>,
    abort: Arc<AbortState>,
) -> JoinHandle<T> {
    runnable.schedule();
    JoinHandle {
        task: Some(task.fallible()),
        abort,
    }
}

/// An owned permission to await a spawned task's output.
///
/// A future yielding `Ok(output)`, or a [`JoinError`] if the task
/// panicked, was [aborted](JoinHandle::abort), or was cancelled by the
/// runtime shutting down. Dropping the handle *detaches* the task: it
/// goes on running.
///
/// ```
/// use sockwq_runtime::{block_on, spawn};
/// block_on(async {
///     let h = spawn(async { 40 + 2 });
///     assert_eq!(h.await.unwrap(), 42);
/// });
/// ```
pub struct JoinHandle<T> {
    task: Option<FallibleTask<Result<T, JoinError>>>,
    abort: Arc<AbortState>,
}

impl<T> JoinHandle<T> {
    /// Cancels the task: at its next poll (scheduled now) its future is
    /// dropped instead of polled, and the handle yields
    /// [`JoinError::is_cancelled`]. A task that already finished keeps its
    /// output.
    ///
    /// ```
    /// use sockwq_runtime::{block_on, spawn};
    /// block_on(async {
    ///     let h = spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        self.abort.abort();
    }

    /// An [`AbortHandle`] of the task: it can abort it, but not await it.
    ///
    /// ```
    /// use sockwq_runtime::{block_on, spawn};
    /// block_on(async {
    ///     let h = spawn(std::future::pending::<()>());
    ///     let abort = h.abort_handle();
    ///     assert_eq!(abort.id(), h.id());
    ///     abort.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            state: self.abort.clone(),
        }
    }

    /// The task's [`Id`].
    ///
    /// ```
    /// use sockwq_runtime::{block_on, spawn, task};
    /// block_on(async {
    ///     let h = spawn(async { task::id() });
    ///     let id = h.id();
    ///     assert_eq!(h.await.unwrap(), id);
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.abort.id
    }

    /// Whether the task has finished (completed, panicked or cancelled).
    ///
    /// ```
    /// use sockwq_runtime::{block_on, spawn};
    /// block_on(async {
    ///     let h = spawn(async {});
    ///     while !h.is_finished() {
    ///         sockwq_runtime::time::sleep(std::time::Duration::from_millis(1)).await;
    ///     }
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let task = self
            .task
            .as_mut()
            .expect("sockwq: JoinHandle polled after it returned its output");
        match Pin::new(task).poll(cx) {
            Poll::Ready(out) => {
                self.task = None;
                // `None`: the runtime dropped the task without running it to
                // the end (it shut down).
                let id = self.abort.id;
                Poll::Ready(out.unwrap_or_else(|| Err(JoinError::cancelled(id))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.abort.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl AbortState {
    fn abort(&self) {
        // Release, and the wake after it: the task's next poll (which the
        // wake schedules) sees the flag; see `TaskFuture::poll`.
        self.aborted.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// Aborts a task without owning its output, as `tokio::task::AbortHandle`.
/// Cloneable, `Send + Sync`; dropping it does nothing to the task.
///
/// ```
/// use sockwq_runtime::{block_on, spawn};
/// block_on(async {
///     let h = spawn(std::future::pending::<()>());
///     let abort = h.abort_handle();
///     std::thread::spawn(move || abort.abort()).join().unwrap();
///     assert!(h.await.unwrap_err().is_cancelled());
/// });
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    state: Arc<AbortState>,
}

impl AbortHandle {
    /// Cancels the task, as [`JoinHandle::abort`]: its future is dropped
    /// on its core at its next poll, which this schedules. A task that
    /// already finished is not affected.
    pub fn abort(&self) {
        self.state.abort();
    }

    /// Whether the task's future is gone: it completed, panicked or was
    /// cancelled. (Its output is stored an instant after, so a
    /// [`JoinHandle`] may still be pending for that instant.)
    ///
    /// ```
    /// use sockwq_runtime::{block_on, spawn};
    /// block_on(async {
    ///     let h = spawn(async {});
    ///     let abort = h.abort_handle();
    ///     h.await.unwrap();
    ///     assert!(abort.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        // Acquire: pairs with the store after the future's drop.
        self.state.finished.load(Ordering::Acquire)
    }

    /// The task's [`Id`].
    pub fn id(&self) -> Id {
        self.state.id
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.state.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task yielded no output: it panicked, or it was cancelled
/// ([`JoinHandle::abort`], or the runtime shut down).
///
/// ```
/// use sockwq_runtime::{block_on, spawn};
/// block_on(async {
///     let err = spawn(async { panic!("boom") }).await.unwrap_err();
///     assert!(err.is_panic());
///     assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
/// });
/// ```
pub struct JoinError {
    repr: Repr,
    id: Id,
}

enum Repr {
    Cancelled,
    // A Mutex only to make the error `Sync` (payloads are `Send` only);
    // it is locked on the panic path alone.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
            id,
        }
    }

    fn panic(payload: Box<dyn Any + Send + 'static>, id: Id) -> JoinError {
        JoinError {
            repr: Repr::Panic(Mutex::new(payload)),
            id,
        }
    }

    /// The [`Id`] of the task that failed.
    ///
    /// ```
    /// use sockwq_runtime::{block_on, spawn};
    /// block_on(async {
    ///     let h = spawn(async { panic!() });
    ///     let id = h.id();
    ///     assert_eq!(h.await.unwrap_err().id(), id);
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.id
    }

    /// Whether the task was cancelled.
    ///
    /// ```
    /// use sockwq_runtime::{block_on, spawn};
    /// block_on(async {
    ///     let h = spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Whether the task panicked.
    ///
    /// ```
    /// use sockwq_runtime::{block_on, spawn};
    /// block_on(async {
    ///     assert!(spawn(async { panic!() }).await.unwrap_err().is_panic());
    /// });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload (pass it to `std::panic::resume_unwind` to
    /// propagate the panic).
    ///
    /// # Panics
    ///
    /// If the error is not a panic.
    ///
    /// ```
    /// use sockwq_runtime::{block_on, spawn};
    /// block_on(async {
    ///     let err = spawn(async { panic!("boom") }).await.unwrap_err();
    ///     let payload = err.into_panic();
    ///     assert_eq!(*payload.downcast::<&str>().unwrap(), "boom");
    /// });
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("sockwq: JoinError::into_panic on a cancelled task")
    }

    /// The panic payload, or the error itself if it is not a panic.
    ///
    /// ```
    /// use sockwq_runtime::{block_on, spawn};
    /// block_on(async {
    ///     let h = spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().try_into_panic().is_err());
    /// });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }

    fn panic_message(&self) -> Option<String> {
        let Repr::Panic(p) = &self.repr else { return None };
        let p = p.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = p.downcast_ref::<&str>() {
            Some((*s).to_owned())
        } else {
            p.downcast_ref::<String>().cloned()
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic(_) => match self.panic_message() {
                Some(m) => write!(f, "task {} panicked with message {m:?}", self.id),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({:?})", self.id),
            Repr::Panic(_) => write!(f, "JoinError::Panic({:?}, {:?})", self.id, self.panic_message()),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e)
    }
}
