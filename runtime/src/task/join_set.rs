//! [`JoinSet`]: a set of tasks, joined in the order they finish.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use concurrent_queue::ConcurrentQueue;
use slab::Slab;
use sockwq_reactor::AtomicWaker;

use super::{AbortHandle, Id, JoinError, JoinHandle};
use crate::runtime::Handle;

/// A set of tasks spawned on the runtime, awaited in the order they
/// finish, as `tokio::task::JoinSet`.
///
/// All tasks return the same type `T`. Dropping the set aborts every task
/// still in it (each is cancelled at its next poll, on its own core, so
/// its sockets close there).
///
/// ```
/// use std::time::Duration;
/// use sockwq_runtime::{block_on, task::JoinSet, time};
/// block_on(async {
///     let mut set = JoinSet::new();
///     for ms in [30u64, 10, 20] {
///         set.spawn(async move {
///             time::sleep(Duration::from_millis(ms)).await;
///             ms
///         });
///     }
///     let mut order = Vec::new();
///     while let Some(r) = set.join_next().await {
///         order.push(r.unwrap());
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
///
/// # Inside
///
/// Each task's [`JoinHandle`] is polled with a waker of its own that, when
/// the task finishes, queues the entry's key on a lock-free ready queue
/// and wakes the set's waker. `join_next` polls only the queued entries:
/// O(1) per finished task, whatever the size of the set.
pub struct JoinSet<T> {
    entries: Slab<Entry<T>>,
    ready: Arc<Ready>,
    /// Tags entries, so that a late wake of a removed entry is not taken
    /// for one of a newer entry at the same key.
    next_tag: u64,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    tag: u64,
    wake: Arc<EntryWake>,
    waker: Waker,
}

/// Entries to poll, and who waits for one.
struct Ready {
    queue: ConcurrentQueue<(usize, u64)>,
    waker: AtomicWaker,
}

/// The waker a set polls one of its join handles with.
struct EntryWake {
    key: usize,
    tag: u64,
    /// True while the entry sits in the ready queue: queued once.
    queued: AtomicBool,
    ready: Arc<Ready>,
}

impl Wake for EntryWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // AcqRel: pairs with the set's swap to false before it polls.
        if !self.queued.swap(true, Ordering::AcqRel) {
            // The queue is unbounded: a push fails only once closed, and
            // it is never closed.
            let _ = self.ready.queue.push((self.key, self.tag));
            self.ready.waker.wake();
        }
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Slab::new(),
            ready: Arc::new(Ready {
                queue: ConcurrentQueue::unbounded(),
                waker: AtomicWaker::new(),
            }),
            next_tag: 0,
        }
    }

    /// The number of tasks in the set, finished ones not yet joined
    /// included.
    ///
    /// ```
    /// use sockwq_runtime::{block_on, task::JoinSet};
    /// block_on(async {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(async {});
    ///     assert_eq!(set.len(), 1);
    ///     set.join_next().await;
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set has no tasks.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a spawned task's handle to the set.
    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let tag = self.next_tag;
        self.next_tag += 1;
        let slot = self.entries.vacant_entry();
        let wake = Arc::new(EntryWake {
            key: slot.key(),
            tag,
            // Queued below: its first poll registers the waker.
            queued: AtomicBool::new(true),
            ready: self.ready.clone(),
        });
        let _ = self.ready.queue.push((slot.key(), tag));
        slot.insert(Entry {
            handle,
            tag,
            waker: Waker::from(wake.clone()),
            wake,
        });
        abort
    }

    /// Spawns `future` on the current runtime (as [`spawn`](crate::spawn))
    /// into the set, and returns an [`AbortHandle`] of it.
    ///
    /// # Panics
    ///
    /// Outside a runtime, as [`spawn`](crate::spawn).
    ///
    /// ```
    /// use sockwq_runtime::{block_on, task::JoinSet};
    /// block_on(async {
    ///     let mut set = JoinSet::new();
    ///     let abort = set.spawn(std::future::pending::<()>());
    ///     abort.abort();
    ///     assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Spawns `future` onto the runtime of `handle` into the set.
    ///
    /// ```
    /// use sockwq_runtime::{Runtime, task::JoinSet};
    /// let rt = Runtime::builder().worker_threads(2).build()?;
    /// let mut set = JoinSet::new();
    /// set.spawn_on(async { 1 }, rt.handle());
    /// assert_eq!(rt.block_on(set.join_next()).unwrap().unwrap(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.insert(handle.spawn(future))
    }

    /// Spawns a `!Send` future on the current thread's core (as
    /// [`spawn_local`](crate::spawn_local)) into the set.
    ///
    /// # Panics
    ///
    /// When the current thread runs no sockwq core.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use sockwq_runtime::{block_on, task::JoinSet};
    /// block_on(async {
    ///     let mut set = JoinSet::new();
    ///     let shared = Rc::new(2);
    ///     let s = shared.clone();
    ///     set.spawn_local(async move { *s * 21 });
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), 42);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.insert(crate::spawn_local(future))
    }

    /// Waits for one of the tasks to finish and returns its output, or
    /// `None` if the set is empty. Cancel safe: dropping the future loses
    /// no output.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Like [`join_next`](JoinSet::join_next), with the task's [`Id`].
    ///
    /// ```
    /// use sockwq_runtime::{block_on, task::JoinSet};
    /// block_on(async {
    ///     let mut set = JoinSet::new();
    ///     let id = set.spawn(async { 5 }).id();
    ///     assert_eq!(set.join_next_with_id().await.unwrap().unwrap(), (id, 5));
    /// });
    /// ```
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The output of a task that has finished, if any, without waiting:
    /// `None` if no task has finished (or the set is empty).
    ///
    /// ```
    /// use sockwq_runtime::{block_on, task::JoinSet};
    /// block_on(async {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     assert!(set.try_join_next().is_none());
    /// });
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id().map(|r| r.map(|(_, v)| v))
    }

    /// Like [`try_join_next`](JoinSet::try_join_next), with the task's [`Id`].
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        self.take_finished()
    }

    /// Polls for the next finished task: `Ready(None)` when the set is
    /// empty, `Pending` (and `cx` is woken) while every task runs.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|o| o.map(|r| r.map(|(_, v)| v)))
    }

    /// Like [`poll_join_next`](JoinSet::poll_join_next), with the task's
    /// [`Id`].
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.entries.is_empty() {
            return Poll::Ready(None);
        }
        // Registered before looking at the queue: a task finishing after
        // the look wakes this waker.
        self.ready.waker.register(cx.waker());
        match self.take_finished() {
            Some(r) => Poll::Ready(Some(r)),
            None => Poll::Pending,
        }
    }

    /// Polls the queued entries until one is finished.
    fn take_finished(&mut self) -> Option<Result<(Id, T), JoinError>> {
        // Each live entry is queued at most once; a stale wake of a removed
        // one is skipped. Bounded anyway, in case wakes keep coming.
        let mut budget = self.ready.queue.len() + self.entries.len();
        while budget > 0 {
            budget -= 1;
            let Ok((key, tag)) = self.ready.queue.pop() else {
                return None;
            };
            let Some(entry) = self.entries.get_mut(key) else {
                continue;
            };
            if entry.tag != tag {
                continue;
            }
            // Before the poll: a wake during or after it queues it again.
            entry.wake.queued.store(false, Ordering::Release);
            let mut cx = Context::from_waker(&entry.waker);
            if let Poll::Ready(r) = Pin::new(&mut entry.handle).poll(&mut cx) {
                let id = entry.handle.id();
                self.entries.remove(key);
                return Some(r.map(|v| (id, v)));
            }
        }
        None
    }

    /// Aborts every task in the set. They stay in it: join them to see
    /// them finish (cancelled, or done if they finished first).
    ///
    /// ```
    /// use sockwq_runtime::{block_on, task::JoinSet};
    /// block_on(async {
    ///     let mut set = JoinSet::new();
    ///     for _ in 0..3 {
    ///         set.spawn(std::future::pending::<()>());
    ///     }
    ///     set.abort_all();
    ///     while let Some(r) = set.join_next().await {
    ///         assert!(r.unwrap_err().is_cancelled());
    ///     }
    /// });
    /// ```
    pub fn abort_all(&mut self) {
        for (_, entry) in &self.entries {
            entry.handle.abort();
        }
    }

    /// Aborts every task and waits until all have finished.
    ///
    /// ```
    /// use sockwq_runtime::{block_on, task::JoinSet};
    /// block_on(async {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     set.shutdown().await;
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Removes every task from the set without aborting it: they run on,
    /// detached.
    ///
    /// ```
    /// use sockwq_runtime::{block_on, task::JoinSet};
    /// block_on(async {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(async {});
    ///     set.detach_all();
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub fn detach_all(&mut self) {
        self.entries.clear();
        while self.ready.queue.pop().is_ok() {}
        // The detached tasks still hold `ready` (their join handles were
        // polled with its wakes): they must not keep, nor wake when they end,
        // whoever waited on the set. The next poll registers again.
        drop(self.ready.waker.take());
    }

    /// Waits for every task and returns their outputs, in the order they
    /// finished.
    ///
    /// # Panics
    ///
    /// If a task panicked (its panic is resumed) or was cancelled; the
    /// remaining tasks are aborted as the set drops.
    ///
    /// ```
    /// use sockwq_runtime::{block_on, task::JoinSet};
    /// block_on(async {
    ///     let set: JoinSet<u32> = (1..=3u32).map(|i| async move { i }).collect();
    ///     let mut v = set.join_all().await;
    ///     v.sort();
    ///     assert_eq!(v, [1, 2, 3]);
    /// });
    /// ```
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(r) = self.join_next().await {
            match r {
                Ok(v) => out.push(v),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("sockwq: JoinSet::join_all: {e}"),
            }
        }
        out
    }
}

impl<T> Drop for JoinSet<T> {
    /// Aborts every task still in the set, and lets go of the waker of
    /// whoever last waited on it (the aborted tasks hold `ready` until they
    /// are done).
    fn drop(&mut self) {
        self.abort_all();
        drop(self.ready.waker.take());
    }
}

impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    /// Spawns every future (as [`JoinSet::spawn`]).
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}

impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    /// Spawns every future (as [`JoinSet::spawn`]).
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for f in iter {
            self.spawn(f);
        }
    }
}
