//! [`SocketWq`]: the part of a socket's waker set that changes shape,
//! published through an `ArcSwap` (the kernel's `struct socket_wq` behind
//! the RCU pointer `sk->sk_wq`).
//!
//! What lives here: the fasync list (channels for SIGIO-style notices),
//! and the list of [`readable()`](crate::Source::readable) /
//! [`writable()`](crate::Source::writable) / [`ready()`](crate::Source::ready)
//! futures waiting on the socket, any number of them. The dispatcher reads
//! it with `ArcSwap::load` — no lock, no refcount traffic, no allocation —
//! and only when the state word's `LIST_*` bit says someone is on it.
//! Joining or leaving builds a new list and stores it (an RCU update);
//! updaters serialize on the source's update lock, as RCU updaters do in
//! the kernel; the dispatcher never takes it.
//!
//! What does *not* live here: the per-direction slots of the
//! `poll_read`/`poll_write` path. They are re-armed on every `WouldBlock`,
//! are interior-mutable and lock-free, and so sit in the
//! [`Source`](crate::Source) itself, next to the state word that governs
//! them — as the kernel's tun, macvtap and af_unix embed their `socket_wq`.
//! Keeping them behind the pointer would only add a load and a pointer
//! chase to every wake.

use std::fmt;
use std::sync::Arc;

use crate::atomic_waker::AtomicWaker;

use crate::fasync::Link;
use crate::state::Direction;

/// The RCU-published waiter list of one [`Source`](crate::Source).
#[derive(Default)]
pub struct SocketWq {
    pub(crate) waiters: Vec<Arc<Waiter>>,
    /// The fasync list: channels to notify (see [`crate::fasync`]).
    pub(crate) fasync: Vec<Arc<Link>>,
}

impl fmt::Debug for SocketWq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketWq")
            .field("waiters", &self.waiters.len())
            .field("fasync", &self.fasync.len())
            .finish()
    }
}

impl SocketWq {
    /// How many readiness futures are waiting on the socket.
    pub fn waiters(&self) -> usize {
        self.waiters.len()
    }

    /// How many fasync channels are attached to the socket.
    pub fn fasync_subscribers(&self) -> usize {
        self.fasync.len()
    }

    /// The `LIST_*` bits of the state word that this list calls for.
    pub(crate) fn list_bits(&self) -> u64 {
        self.waiters.iter().fold(0, |acc, w| acc | w.list_bits())
    }

    /// Wakes every waiter some of whose bits are in `bits`. Lock-free and
    /// allocation-free: `AtomicWaker::wake` takes the waker registered by
    /// the waiter's last poll.
    #[inline]
    pub(crate) fn wake(&self, bits: u64) -> usize {
        let mut n = 0;
        for w in &self.waiters {
            if w.mask & bits != 0 {
                w.waker.wake();
                n += 1;
            }
        }
        n
    }
}

/// One waiting readiness future.
pub(crate) struct Waiter {
    /// Readiness bits (plus `SHUTDOWN`) that complete this waiter.
    pub(crate) mask: u64,
    pub(crate) waker: AtomicWaker,
}

impl Waiter {
    pub(crate) fn list_bits(&self) -> u64 {
        Direction::BOTH
            .iter()
            .filter(|d| self.mask & d.ready_bits() != 0)
            .fold(0, |acc, d| acc | d.list_bit())
    }
}
