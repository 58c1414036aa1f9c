//! Unit tests of the state-word protocol (kept out of `state.rs` so that the
//! loom model can compile that file against loom's atomics).

use crate::state::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Poll, Wake, Waker};

struct Count(AtomicUsize);
impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter() -> (Arc<Count>, Waker) {
    let c = Arc::new(Count(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

#[test]
fn arm_then_record_wakes_once() {
    let s = State::new();
    let (c, w) = counter();
    assert!(s.poll_ready(Direction::Read, READABLE, None, &w).is_pending());
    let prev = s.record(READABLE);
    assert_eq!(s.wake_claimed(prev, READABLE), 1);
    assert_eq!(c.0.load(Ordering::SeqCst), 1);
    // The slot went back to IDLE: a second event wakes nobody.
    let prev = s.record(READABLE);
    assert_eq!(s.wake_claimed(prev, READABLE), 0);
    assert!(s.poll_ready(Direction::Read, READABLE, None, &w).is_ready());
}

#[test]
fn write_event_does_not_wake_reader() {
    let s = State::new();
    let (c, w) = counter();
    assert!(s.poll_ready(Direction::Read, READABLE, None, &w).is_pending());
    let prev = s.record(WRITABLE);
    assert_eq!(s.wake_claimed(prev, WRITABLE), 0);
    assert_eq!(c.0.load(Ordering::SeqCst), 0);
}

#[test]
fn stale_clear_keeps_new_edge_per_direction() {
    let s = State::new();
    s.record(READABLE | WRITABLE);
    let seen = s.load();
    // A new read edge arrives after the snapshot: clearing must not erase it.
    s.record(READABLE);
    s.clear(READABLE, seen);
    assert_ne!(s.load() & READABLE, 0, "stale read clear erased a new read edge");
    // A write edge between snapshot and clear must not defeat the read
    // clear (tokio #8054: one shared tick would).
    let seen = s.load();
    s.record(WRITABLE);
    s.clear(READABLE, seen);
    assert_eq!(s.load() & READABLE, 0, "a write edge defeated the read clear");
    // ...and the write side keeps its own tick.
    s.clear(WRITABLE, seen);
    assert_ne!(
        s.load() & WRITABLE,
        0,
        "stale write clear erased a new write edge"
    );
}

#[test]
fn clear_removes_exactly_the_bits_given_closed_ones_too() {
    // After a short read the caller leaves the closed bits out: they stay.
    let s = State::new();
    s.record(READABLE | READ_CLOSED);
    let seen = s.load();
    s.clear(READABLE, seen);
    assert_eq!(s.load() & READY_BITS, READ_CLOSED);
    // After WouldBlock it passes them: the fd showed it is not closed for
    // reading (a datagram socket after shutdown(SHUT_RD)).
    s.clear(READABLE | READ_CLOSED, seen);
    assert_eq!(s.load() & READY_BITS, 0);
    // A later event sets them again.
    s.record(READABLE | READ_CLOSED);
    assert_eq!(s.load() & READY_BITS, READABLE | READ_CLOSED);
}

/// The documented bound of the 24-bit tick (state.rs, "Ticks"; and
/// `Source::clear_readiness`): a snapshot 1 ..= 2^24 - 1 events old is
/// detected; exactly 2^24 events old it aliases, and its clear erases the
/// newest edge.
#[test]
fn tick_wraps_after_exactly_2_pow_24_events() {
    let s = State::new();
    s.record(READABLE);
    let seen = s.load();
    for _ in 0..TICK_MASK {
        s.record(READABLE);
    }
    // 2^24 - 1 events since the snapshot: detected, the clear keeps READABLE.
    s.clear(READABLE, seen);
    assert_ne!(s.load() & READABLE, 0, "2^24 - 1 events were not detected");
    // One more: exactly 2^24 events, the tick is back where it was.
    s.record(READABLE);
    assert_eq!(tick(s.load(), Direction::Read), tick(seen, Direction::Read));
    s.clear(READABLE, seen);
    assert_eq!(s.load() & READABLE, 0, "the bound moved: update the docs");
    // Past the wrap, fresh snapshots work as before.
    s.record(READABLE);
    let seen = s.load();
    s.record(READABLE);
    s.clear(READABLE, seen);
    assert_ne!(
        s.load() & READABLE,
        0,
        "a stale clear erased an edge after the wrap"
    );
}

#[test]
fn folded_clear_then_arm() {
    let s = State::new();
    let (c, w) = counter();
    s.record(READABLE);
    let seen = s.load();
    // WouldBlock: clear and arm in one call.
    assert!(
        s.poll_ready(Direction::Read, READABLE, Some((READABLE, seen)), &w)
            .is_pending()
    );
    assert_eq!(s.load() & READABLE, 0);
    let prev = s.record(READABLE);
    assert_eq!(s.wake_claimed(prev, READABLE), 1);
    assert_eq!(c.0.load(Ordering::SeqCst), 1);
    // A stale folded clear keeps the new edge and reports ready.
    let seen_old = seen;
    assert!(
        s.poll_ready(Direction::Read, READABLE, Some((READABLE, seen_old)), &w)
            .is_ready()
    );
}

#[test]
fn same_waker_is_not_cloned_again() {
    let s = State::new();
    let (c, w) = counter();
    for _ in 0..3 {
        assert!(s.poll_ready(Direction::Write, WRITABLE, None, &w).is_pending());
        let prev = s.record(WRITABLE);
        s.wake_claimed(prev, WRITABLE);
        let seen = s.load();
        s.clear(WRITABLE, seen);
    }
    assert_eq!(c.0.load(Ordering::SeqCst), 3);
    // counter Arc: ours + the Waker `w` + one clone kept in the slot.
    assert_eq!(Arc::strong_count(&c), 3);
}

#[test]
fn shutdown_wakes_and_reports() {
    let s = State::new();
    let (c, w) = counter();
    assert!(s.poll_ready(Direction::Read, READABLE, None, &w).is_pending());
    assert!(s.poll_ready(Direction::Write, WRITABLE, None, &w).is_pending());
    let prev = s.record(SHUTDOWN);
    assert_eq!(s.wake_claimed(prev, SHUTDOWN), 2);
    assert_eq!(c.0.load(Ordering::SeqCst), 2);
    match s.poll_ready(Direction::Read, READABLE, None, &w) {
        Poll::Ready(word) => assert_ne!(word & SHUTDOWN, 0),
        Poll::Pending => panic!("poll after shutdown must be ready"),
    }
}

#[test]
fn shutdown_empties_the_waker_cells() {
    let s = State::new();
    let (c, w) = counter();
    // Read slot armed; write slot woken once, its waker kept (IDLE).
    assert!(s.poll_ready(Direction::Read, READABLE, None, &w).is_pending());
    assert!(s.poll_ready(Direction::Write, WRITABLE, None, &w).is_pending());
    let prev = s.record(WRITABLE);
    assert_eq!(s.wake_claimed(prev, WRITABLE), 1);
    // Ours, `w`, and one clone in each cell.
    assert_eq!(Arc::strong_count(&c), 4);
    s.shutdown();
    // The armed reader was woken; neither cell keeps a waker.
    assert_eq!(c.0.load(Ordering::SeqCst), 2);
    assert_eq!(Arc::strong_count(&c), 2, "shutdown left a waker in a cell");
    // A poll after shutdown reports it and stores nothing.
    assert!(s.poll_ready(Direction::Read, READABLE, None, &w).is_ready());
    assert_eq!(Arc::strong_count(&c), 2);
}

/// The one-RMW re-arm recognizes the waker in the cell by its identity
/// (data and vtable pointers): a different task with the same vtable
/// must replace it, or the event would wake the previous task and strand
/// this one.
#[test]
fn rearm_by_another_task_replaces_the_waker() {
    let s = State::new();
    let (a, wa) = counter();
    let (b, wb) = counter();
    // `a` armed, woken; its waker stays in the cell, the slot IDLE.
    assert!(s.poll_ready(Direction::Read, READABLE, None, &wa).is_pending());
    let prev = s.record(READABLE);
    assert_eq!(s.wake_claimed(prev, READABLE), 1);
    s.clear(READABLE, s.load());
    // Now `b` (same vtable, other data) arms: the next event wakes `b`.
    assert!(s.poll_ready(Direction::Read, READABLE, None, &wb).is_pending());
    let prev = s.record(READABLE);
    assert_eq!(s.wake_claimed(prev, READABLE), 1);
    assert_eq!(a.0.load(Ordering::SeqCst), 1, "the old waker was woken again");
    assert_eq!(b.0.load(Ordering::SeqCst), 1, "the new waker was not woken");
    // `a`'s clone left the cell; `b`'s is in it.
    assert_eq!(Arc::strong_count(&a), 2);
    assert_eq!(Arc::strong_count(&b), 3);
}

/// Polling again while armed with the same waker (a spurious poll) keeps
/// the arm: the event still wakes the task, once.
#[test]
fn repoll_while_armed_stays_armed() {
    let s = State::new();
    let (c, w) = counter();
    for _ in 0..3 {
        assert!(s.poll_ready(Direction::Read, READABLE, None, &w).is_pending());
    }
    let prev = s.record(READABLE);
    assert_eq!(s.wake_claimed(prev, READABLE), 1);
    assert_eq!(c.0.load(Ordering::SeqCst), 1);
}
