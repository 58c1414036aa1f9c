//! [`Injector`]: how other threads hand runnables to a core, lock-free and,
//! in the steady state, without allocating.
//!
//! A bounded ring (`ConcurrentQueue::bounded`, allocated once when the core
//! is made) takes every push while it has room; only a push that finds it
//! full goes to an unbounded overflow queue. An unbounded
//! `ConcurrentQueue` alone allocates a 31-slot block every 31 pushes (and
//! the core frees it after popping them): 32 allocations and frees per
//! thousand cross-core wakes. With the ring, cross-core wakes allocate
//! nothing until more than [`RING_CAPACITY`] runnables wait for one core at
//! once — a burst the core drains at its next turn, after which the ring
//! takes the load again. `runtime/tests/alloc.rs` counts this.

use concurrent_queue::{ConcurrentQueue, PushError};

use crate::core::Runnable;

/// Slots in a core's ring: 16 bytes each (a stamp and a task pointer), so
/// 16 KiB per core. A core drains the whole ring at every turn of its
/// loop, so it fills only when other threads wake more than this many of
/// its tasks while it runs one batch.
pub(crate) const RING_CAPACITY: usize = 1024;

pub(crate) struct Injector {
    ring: ConcurrentQueue<Runnable>,
    overflow: ConcurrentQueue<Runnable>,
}

impl Injector {
    pub(crate) fn new() -> Injector {
        Injector {
            ring: ConcurrentQueue::bounded(RING_CAPACITY),
            overflow: ConcurrentQueue::unbounded(),
        }
    }

    /// Queues `runnable`; gives it back if the core has shut down.
    pub(crate) fn push(&self, runnable: Runnable) -> Result<(), Runnable> {
        match self.ring.push(runnable) {
            Ok(()) => Ok(()),
            Err(PushError::Full(r)) => self.overflow.push(r).map_err(PushError::into_inner),
            Err(PushError::Closed(r)) => Err(r),
        }
    }

    /// Takes what both queues hold now, in at most as many pops as that
    /// (a fast producer cannot keep the core here), and hands each to
    /// `f`. Overflow first: its runnables were pushed when the ring was
    /// full, so they are older than what the ring took since.
    pub(crate) fn drain(&self, mut f: impl FnMut(Runnable)) {
        for q in [&self.overflow, &self.ring] {
            for _ in 0..q.len() {
                match q.pop() {
                    Ok(r) => f(r),
                    Err(_) => break,
                }
            }
        }
    }

    /// One runnable, if any (shutdown's drain).
    pub(crate) fn pop(&self) -> Option<Runnable> {
        self.overflow.pop().or_else(|_| self.ring.pop()).ok()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ring.is_empty() && self.overflow.is_empty()
    }

    /// Refuses further pushes. The ring is closed first: a push that found
    /// it full just before may still land in the overflow queue, which the
    /// shutdown drain, coming after `close`, empties.
    pub(crate) fn close(&self) {
        self.ring.close();
        self.overflow.close();
    }
}
