//! Runtime statistics: [`RuntimeStats`], one [`WorkerStats`] per worker.
//!
//! # Off the hot path
//!
//! A core counts in plain `Cell`s that only its own thread touches (task
//! polls, first polls, budget turns); its reactor counts in plain fields
//! too. Once per reactor turn, just before it calls `epoll_wait`, the
//! core copies them all into its [`StatsCell`]: a seqlock, written by that
//! core alone, in a cache line of its own. A turn costs a syscall; the
//! copy is a dozen stores into a line that stays in the core's cache until
//! a reader pulls it. A reader ([`Handle::stats`](crate::runtime::Handle::stats))
//! gets a consistent snapshot of each worker as of its last turn: a busy
//! worker turns at least every `event_interval` polls, and an idle one
//! published right before it went to sleep, so its snapshot is exact.

use std::sync::atomic::{AtomicU64, Ordering, fence};

use sockwq_reactor::Stats;

/// A snapshot of a runtime's workers, from
/// [`Runtime::stats`](crate::Runtime::stats) or
/// [`Handle::stats`](crate::runtime::Handle::stats).
///
/// ```
/// let rt = sockwq_runtime::Runtime::builder().worker_threads(2).build()?;
/// rt.block_on(async {
///     sockwq_runtime::spawn(async {}).await.unwrap();
/// });
/// let stats = rt.stats();
/// assert_eq!(stats.workers().len(), 2);
/// println!("turns of worker 0: {}", stats.workers()[0].reactor.turns);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeStats {
    workers: Vec<WorkerStats>,
}

impl RuntimeStats {
    pub(crate) fn new(workers: Vec<WorkerStats>) -> RuntimeStats {
        RuntimeStats { workers }
    }

    /// One entry per worker, in worker order (worker `i` runs on thread
    /// `NAME-i`).
    pub fn workers(&self) -> &[WorkerStats] {
        &self.workers
    }

    /// Tasks alive on all workers (see [`WorkerStats::tasks_alive`]).
    pub fn tasks_alive(&self) -> u64 {
        self.workers.iter().map(|w| w.tasks_alive).sum()
    }

    /// Tasks started on all workers (see [`WorkerStats::tasks_spawned`]).
    pub fn tasks_spawned(&self) -> u64 {
        self.workers.iter().map(|w| w.tasks_spawned).sum()
    }

    /// Task polls on all workers.
    pub fn tasks_polled(&self) -> u64 {
        self.workers.iter().map(|w| w.tasks_polled).sum()
    }

    /// Budget yields on all workers (see [`WorkerStats::budget_yields`]).
    pub fn budget_yields(&self) -> u64 {
        self.workers.iter().map(|w| w.budget_yields).sum()
    }
}

/// One worker's counters, as of its last reactor turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// The worker's reactor: turns, events dispatched, wakeups, RCU
    /// updates, eventfd writes, registrations, failed deregistrations.
    pub reactor: Stats,
    /// Tasks that have started on this worker (been polled once) and whose
    /// future is not dropped yet. A task spawned but not yet polled is not
    /// counted.
    pub tasks_alive: u64,
    /// Tasks that have started on this worker, over its life.
    pub tasks_spawned: u64,
    /// Task polls on this worker, over its life.
    pub tasks_polled: u64,
    /// Times the worker stopped running ready tasks to look at its
    /// sockets and timers because its budget (`event_interval` polls in a
    /// row, [`Builder::event_interval`](crate::Builder::event_interval))
    /// ran out: how often tasks that were always ready had to yield.
    pub budget_yields: u64,
}

/// The words of a [`WorkerStats`], in this order.
const WORDS: usize = 13;

impl WorkerStats {
    fn to_words(self) -> [u64; WORDS] {
        let r = self.reactor;
        [
            r.turns,
            r.events,
            r.wakeups,
            r.wakeups_skipped,
            r.rcu_updates,
            r.deferred_releases,
            r.eventfd_writes,
            r.registrations,
            r.failed_deregistrations,
            self.tasks_alive,
            self.tasks_spawned,
            self.tasks_polled,
            self.budget_yields,
        ]
    }

    fn from_words(w: [u64; WORDS]) -> WorkerStats {
        // `Stats` is non-exhaustive: start from its default.
        let mut reactor = Stats::default();
        reactor.turns = w[0];
        reactor.events = w[1];
        reactor.wakeups = w[2];
        reactor.wakeups_skipped = w[3];
        reactor.rcu_updates = w[4];
        reactor.deferred_releases = w[5];
        reactor.eventfd_writes = w[6];
        reactor.registrations = w[7];
        reactor.failed_deregistrations = w[8];
        WorkerStats {
            reactor,
            tasks_alive: w[9],
            tasks_spawned: w[10],
            tasks_polled: w[11],
            budget_yields: w[12],
        }
    }
}

/// A core's published [`WorkerStats`]: a single-writer seqlock. Aligned
/// to 128 bytes (two cache lines, for the adjacent-line prefetcher) so
/// that the other fields of the core's `Remote`, which other threads
/// write, do not share its line.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct StatsCell {
    /// Odd while a write is in progress; +2 per write.
    seq: AtomicU64,
    words: [AtomicU64; WORDS],
}

impl StatsCell {
    /// Publishes `stats`. Only the owning core's thread calls this.
    pub(crate) fn publish(&self, stats: WorkerStats) {
        // Single writer: a plain load and stores, no read-modify-write.
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // Orders the odd `seq` before the data stores: a reader that sees
        // any new word then sees `seq` changed on its re-check.
        fence(Ordering::Release);
        for (slot, v) in self.words.iter().zip(stats.to_words()) {
            slot.store(v, Ordering::Relaxed);
        }
        // Release: a reader that loads this even `seq` sees all the words.
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// A consistent snapshot: retried while a write overlaps the read.
    pub(crate) fn read(&self) -> WorkerStats {
        let mut tries = 0u32;
        loop {
            // Acquire: pairs with the writer's final store.
            let before = self.seq.load(Ordering::Acquire);
            if before % 2 == 0 {
                let words = std::array::from_fn(|i| self.words[i].load(Ordering::Relaxed));
                // Orders the word loads before the re-check (pairs with the
                // writer's release fence).
                fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == before {
                    return WorkerStats::from_words(words);
                }
            }
            // A write takes a few nanoseconds, unless its thread was
            // preempted in the middle: then let it run.
            tries += 1;
            if tries % 64 == 0 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        // Every field a distinct value: a field left out of the words comes
        // back as 0.
        let mut s = WorkerStats::default();
        let r = &mut s.reactor;
        r.turns = 1;
        r.events = 2;
        r.wakeups = 3;
        r.wakeups_skipped = 4;
        r.rcu_updates = 5;
        r.deferred_releases = 6;
        r.eventfd_writes = 7;
        r.registrations = 8;
        r.failed_deregistrations = 9;
        s.tasks_alive = 10;
        s.tasks_spawned = 11;
        s.tasks_polled = 12;
        s.budget_yields = 13;
        assert_eq!(WorkerStats::from_words(s.to_words()), s);
        assert_eq!(s.to_words(), std::array::from_fn(|i| i as u64 + 1));
    }

    #[test]
    fn seqlock_snapshots_are_consistent() {
        // The writer publishes snapshots whose words are all equal; a torn
        // read would mix two of them.
        let cell = std::sync::Arc::new(StatsCell::default());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let w = {
            let (cell, stop) = (cell.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    cell.publish(WorkerStats::from_words([i; WORDS]));
                }
            })
        };
        for _ in 0..200_000 {
            let words = cell.read().to_words();
            assert!(words.iter().all(|&x| x == words[0]), "torn snapshot: {words:?}");
        }
        stop.store(true, Ordering::Relaxed);
        w.join().unwrap();
    }
}
