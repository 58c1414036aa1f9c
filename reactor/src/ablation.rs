//! Internals for `benches/dispatch.rs`, the dispatch ablation. Not API:
//! hidden from the docs, may change at any time.
//!
//! The benchmark runs the crate's real dispatch path (the state word +
//! `dispatch_with`) with the [`SocketWq`] reached through three containers:
//! `ArcSwap` (what [`Source`](crate::Source) uses: the kernel's RCU
//! `sk->sk_wq`), `RwLock<Arc<_>>` (the kernel before the RCU conversion:
//! `sk_callback_lock`) and `Mutex<Arc<_>>`. Nothing of the protocol is
//! copied here; this module only wires the real pieces together.

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Poll, Waker};

use crate::atomic_waker::AtomicWaker;
use arc_swap::ArcSwap;

use crate::interest::{Interest, Ready};
use crate::source::{WqRead, dispatch_with};
use crate::state::{Direction, READABLE, State};
use crate::wq::{SocketWq, Waiter};

impl WqRead for RwLock<Arc<SocketWq>> {
    #[inline]
    fn read_wq<R>(&self, f: impl FnOnce(&SocketWq) -> R) -> R {
        // Two RMWs on the lock word (read lock, unlock), like
        // `read_lock(&sk->sk_callback_lock)` in the kernel before 2.6.35.
        f(&self.read().unwrap_or_else(|p| p.into_inner()))
    }
}

impl WqRead for Mutex<Arc<SocketWq>> {
    #[inline]
    fn read_wq<R>(&self, f: impl FnOnce(&SocketWq) -> R) -> R {
        f(&self.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A container the dispatcher reaches a [`SocketWq`] through.
///
/// Implemented for `ArcSwap<SocketWq>` (sockwq), `RwLock<Arc<SocketWq>>`
/// and `Mutex<Arc<SocketWq>>`.
pub trait WqCell: Send + Sync + fmt::Debug {
    /// A short name for benchmark ids.
    const NAME: &'static str;
    /// A container holding `wq`.
    fn from_wq(wq: SocketWq) -> Self;
    /// Publishes `wq` (the RCU update of a join or leave).
    fn replace(&self, wq: SocketWq);
    /// Runs `f` on the current list, the way the dispatcher reads it.
    fn with_wq<R>(&self, f: impl FnOnce(&SocketWq) -> R) -> R;
}

impl WqCell for ArcSwap<SocketWq> {
    const NAME: &'static str = "arcswap";
    fn from_wq(wq: SocketWq) -> Self {
        ArcSwap::from_pointee(wq)
    }
    fn replace(&self, wq: SocketWq) {
        self.store(Arc::new(wq));
    }
    #[inline]
    fn with_wq<R>(&self, f: impl FnOnce(&SocketWq) -> R) -> R {
        self.read_wq(f)
    }
}

impl WqCell for RwLock<Arc<SocketWq>> {
    const NAME: &'static str = "rwlock";
    fn from_wq(wq: SocketWq) -> Self {
        RwLock::new(Arc::new(wq))
    }
    fn replace(&self, wq: SocketWq) {
        *self.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(wq);
    }
    #[inline]
    fn with_wq<R>(&self, f: impl FnOnce(&SocketWq) -> R) -> R {
        self.read_wq(f)
    }
}

impl WqCell for Mutex<Arc<SocketWq>> {
    const NAME: &'static str = "mutex";
    fn from_wq(wq: SocketWq) -> Self {
        Mutex::new(Arc::new(wq))
    }
    fn replace(&self, wq: SocketWq) {
        *self.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(wq);
    }
    #[inline]
    fn with_wq<R>(&self, f: impl FnOnce(&SocketWq) -> R) -> R {
        self.read_wq(f)
    }
}

/// Lets `dispatch_with` read any [`WqCell`] (a zero-cost adapter: `WqRead`
/// itself stays crate-private).
struct Via<'a, W>(&'a W);

impl<W: WqCell> WqRead for Via<'_, W> {
    #[inline]
    fn read_wq<R>(&self, f: impl FnOnce(&SocketWq) -> R) -> R {
        self.0.with_wq(f)
    }
}

/// Keeps a field on cache lines of its own (128 bytes: adjacent-line
/// prefetch pairs lines), so the benchmark measures the container and the
/// state word, not false sharing between them.
#[derive(Debug)]
#[repr(align(128))]
struct Line<T>(T);

/// The hot-path half of a [`Source`](crate::Source) without an fd: its
/// real state word and a [`SocketWq`] behind the container `W`.
#[derive(Debug)]
pub struct AblationSource<W> {
    state: Line<State>,
    wq: Line<W>,
}

impl<W: WqCell> Default for AblationSource<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: WqCell> AblationSource<W> {
    /// A source nobody waits on.
    pub fn new() -> Self {
        AblationSource {
            state: Line(State::new()),
            wq: Line(W::from_wq(SocketWq::default())),
        }
    }

    /// Puts a readiness future for `interest` on the list, as
    /// [`Source::ready`](crate::Source::ready) does when it has to wait
    /// (new list published, then the `LIST_*` bit raised), with `waker`
    /// registered. Returns the waiter's index for
    /// [`rearm_via_container`](Self::rearm_via_container). `&mut`: updaters
    /// are serialized (the real source takes its update lock).
    pub fn join(&mut self, interest: Interest, waker: &Waker) -> usize {
        let w = Arc::new(Waiter {
            mask: interest.mask().bits() as u64,
            waker: AtomicWaker::new(),
        });
        w.waker.register(waker);
        let mut waiters = self.wq.0.with_wq(|q| q.waiters.clone());
        waiters.push(w.clone());
        let i = waiters.len() - 1;
        self.wq.0.replace(SocketWq {
            waiters,
            fasync: Vec::new(),
        });
        self.state.0.set_flags(w.list_bits());
        i
    }

    /// Re-arms waiter `i` after a wake: registers `waker` in its
    /// `AtomicWaker`, reaching it through the container — what a lock-based
    /// design must do under its lock on every re-poll.
    #[inline]
    pub fn rearm_via_container(&self, i: usize, waker: &Waker) {
        self.wq.0.with_wq(|q| q.waiters[i].waker.register(waker));
    }

    /// Dispatches one event: the real `dispatch_with` (one RMW on the state
    /// word, wake the claimed slot, and only if a future waits on that side
    /// read the list through the container). Returns how many were woken.
    #[inline]
    pub fn dispatch(&self, ready: Ready) -> usize {
        dispatch_with(&self.state.0, &Via(&self.wq.0), ready.bits() as u64)
    }

    /// The `poll_read` path: clears the readable readiness seen in
    /// `snapshot` (if given; tick-checked) and arms the read slot with
    /// `waker`, in the real `State::poll_ready`. `Ready(word)` if readable
    /// already.
    #[inline]
    pub fn poll_read_slot(&self, snapshot: Option<u64>, waker: &Waker) -> Poll<u64> {
        let clear = snapshot.map(|s| (READABLE, s));
        self.state.0.poll_ready(Direction::Read, READABLE, clear, waker)
    }

    /// The state word (readiness, ticks, slots, list bits).
    #[inline]
    pub fn word(&self) -> u64 {
        self.state.0.load()
    }

    /// Clears the readable readiness seen in `snapshot`, as
    /// [`Source::clear_readiness`](crate::Source::clear_readiness) after a
    /// `WouldBlock`.
    #[inline]
    pub fn clear_readable(&self, snapshot: u64) {
        self.state.0.clear(READABLE, snapshot);
    }

    /// Whether the readable bit is set.
    pub fn is_readable(&self) -> bool {
        self.word() & READABLE != 0
    }

    /// Address of waiter `i`, to check that two waiters of a benchmark do
    /// not share a cache line.
    pub fn waiter_addr(&self, i: usize) -> usize {
        self.wq.0.with_wq(|q| Arc::as_ptr(&q.waiters[i]) as usize)
    }
}
