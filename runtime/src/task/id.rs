//! Task [`Id`]s and the id of the task running on this thread.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// A task's identity, unique among all tasks of the process for its whole
/// life (ids are not reused), as `tokio::task::Id`. Ids are not in spawn
/// order: each thread takes them from a block of its own, so spawning
/// touches no shared counter but once per 1024 spawns.
///
/// ```
/// use sockwq_runtime::{block_on, spawn};
/// block_on(async {
///     let a = spawn(async {});
///     let b = spawn(async {});
///     assert_ne!(a.id(), b.id());
///     println!("task {} and task {}", a.id(), b.id());
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(NonZeroU64);

/// The first id of the next block (0 is never an id).
static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
const BLOCK: u64 = 1024;

thread_local! {
    /// This thread's block: the next id and the end of the block.
    static IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    /// The task being polled (or dropped) on this thread.
    static CURRENT: Cell<Option<Id>> = const { Cell::new(None) };
}

impl Id {
    pub(crate) fn next() -> Id {
        let n = IDS
            .try_with(|ids| {
                let (next, end) = ids.get();
                if next < end {
                    ids.set((next + 1, end));
                    next
                } else {
                    // Relaxed: only uniqueness matters, which the RMW gives.
                    let start = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                    ids.set((start + 1, start + BLOCK));
                    start
                }
            })
            // In a thread-local destructor: take a block of one.
            .unwrap_or_else(|_| NEXT_BLOCK.fetch_add(1, Ordering::Relaxed));
        Id(NonZeroU64::new(n).expect("task ids start at 1 and do not wrap"))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

/// Makes `id` the current task's until dropped; restores the previous.
pub(super) struct Current {
    prev: Option<Id>,
}

// `CURRENT` is a `const` `Cell` without `Drop`: never destroyed, so its
// accesses cannot fail (and need no `try_with`), even in TLS destructors.
#[inline]
pub(super) fn enter(id: Id) -> Current {
    Current {
        prev: CURRENT.replace(Some(id)),
    }
}

impl Drop for Current {
    #[inline]
    fn drop(&mut self) {
        CURRENT.set(self.prev);
    }
}

/// The [`Id`] of the task running on this thread (while it is polled, or
/// while its future is dropped).
///
/// # Panics
///
/// Outside a task, as tokio's (a `block_on` future is not a task); see
/// [`try_id`].
///
/// ```
/// use sockwq_runtime::{block_on, spawn, task};
/// block_on(async {
///     let h = spawn(async { task::id() });
///     let id = h.id();
///     assert_eq!(h.await.unwrap(), id);
/// });
/// ```
#[track_caller]
pub fn id() -> Id {
    try_id().expect("sockwq: task::id() called outside a task")
}

/// The [`Id`] of the task running on this thread, or `None` outside a
/// task.
///
/// ```
/// use sockwq_runtime::{block_on, spawn, task};
/// assert!(task::try_id().is_none());
/// block_on(async {
///     assert!(task::try_id().is_none()); // the block_on future is no task
///     assert!(spawn(async { task::try_id() }).await.unwrap().is_some());
/// });
/// ```
pub fn try_id() -> Option<Id> {
    CURRENT.try_with(Cell::get).ok().flatten()
}
