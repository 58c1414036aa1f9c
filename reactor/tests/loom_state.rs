//! A loom model of the arm/dispatch protocol on the state word
//! (`src/state.rs`, compiled here against loom's atomics and cells; the
//! `ArcSwap` wait queue is abstracted away — it is only read when the
//! word's LIST bits say so, and is covered by the stress tests).
//!
//! loom explores every interleaving (and the weak-memory reorderings the
//! orderings allow) of a poller arming its waker against the dispatcher
//! recording an event, and checks the waker cell for data races.

mod sync {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
}

#[allow(dead_code, unreachable_pub)]
#[path = "../src/state.rs"]
mod state;

use std::sync::Arc as StdArc;
use std::task::{Poll, Wake, Waker};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use state::{Direction, READ_CLOSED, READABLE, State, WRITABLE};

struct Counter(Arc<AtomicUsize>);

impl Wake for Counter {
    fn wake(self: StdArc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &StdArc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn waker() -> (Arc<AtomicUsize>, Waker) {
    let n = Arc::new(AtomicUsize::new(0));
    (n.clone(), Waker::from(StdArc::new(Counter(n))))
}

fn dispatch(s: &State, bits: u64) {
    let prev = s.record(bits);
    s.wake_claimed(prev, bits);
}

/// The lost-wakeup race: a poller arms while the dispatcher records. The
/// poller must see the readiness or be woken.
#[test]
fn arm_vs_dispatch_no_lost_wakeup() {
    loom::model(|| {
        let s = Arc::new(State::new());
        let (woken, w) = waker();
        let d = {
            let s = s.clone();
            thread::spawn(move || dispatch(&s, READABLE))
        };
        let r = s.poll_ready(Direction::Read, READABLE | READ_CLOSED, None, &w);
        d.join().unwrap();
        assert!(r.is_ready() || woken.load(Ordering::SeqCst) == 1, "lost wakeup");
    });
}

/// After `WouldBlock` the poller clears what it saw and re-arms in one
/// step while a new edge arrives: the new edge must not be erased, so the
/// poller is either ready or woken.
#[test]
fn clear_and_rearm_vs_new_edge() {
    loom::model(|| {
        let s = Arc::new(State::new());
        s.record(READABLE);
        let seen = s.load();
        let (woken, w) = waker();
        let d = {
            let s = s.clone();
            thread::spawn(move || dispatch(&s, READABLE))
        };
        let r = s.poll_ready(Direction::Read, READABLE, Some((READABLE, seen)), &w);
        d.join().unwrap();
        let ok = match r {
            Poll::Ready(_) => true,
            Poll::Pending => woken.load(Ordering::SeqCst) == 1,
        };
        assert!(ok, "clear erased a newer edge and nobody woke the poller");
    });
}

/// A second cycle: armed, then re-armed with the same waker after a
/// clear (the steady state: the slot keeps its waker, no clone), while
/// the dispatcher delivers one event. The cell is shared by the two
/// threads across both arms: loom checks it for races. The event is
/// never lost: if the re-arm is pending, the event's wake happened (to the
/// first arm, before the snapshot that the clear used, or to the re-arm).
#[test]
fn rearm_cycle_with_kept_waker() {
    loom::model(|| {
        let s = Arc::new(State::new());
        let (woken, w) = waker();
        assert!(s.poll_ready(Direction::Read, READABLE, None, &w).is_pending());
        let d = {
            let s = s.clone();
            thread::spawn(move || dispatch(&s, READABLE))
        };
        let seen = s.load();
        let r = s.poll_ready(Direction::Read, READABLE, Some((READABLE, seen)), &w);
        d.join().unwrap();
        let n = woken.load(Ordering::SeqCst);
        assert!(n <= 1, "one event, one wake at most");
        if r.is_pending() {
            assert_eq!(n, 1, "re-armed poller stranded: event neither seen nor woken");
        }
    });
}

/// Reader and writer sides are independent: a write event neither wakes
/// nor strands the reader, and each side's waker sees its own event.
#[test]
fn two_directions_two_dispatches() {
    loom::model(|| {
        let s = Arc::new(State::new());
        let (rw, r_waker) = waker();
        let (ww, w_waker) = waker();
        let d = {
            let s = s.clone();
            thread::spawn(move || {
                dispatch(&s, WRITABLE);
                dispatch(&s, READABLE);
            })
        };
        let r = s.poll_ready(Direction::Read, READABLE, None, &r_waker);
        let w = s.poll_ready(Direction::Write, WRITABLE, None, &w_waker);
        d.join().unwrap();
        assert!(r.is_ready() || rw.load(Ordering::SeqCst) == 1);
        assert!(w.is_ready() || ww.load(Ordering::SeqCst) == 1);
    });
}

/// Two tasks poll the same side at once (allowed, though only one is
/// guaranteed the wakeup, as in tokio): the cell must stay race-free, and
/// a poller that could not take the slot asks to be polled again.
#[test]
fn two_pollers_same_side_are_race_free() {
    loom::model(|| {
        let s = Arc::new(State::new());
        let (a_n, a) = waker();
        let (b_n, b) = waker();
        let p = {
            let s = s.clone();
            thread::spawn(move || {
                let r = s.poll_ready(Direction::Read, READABLE, None, &b);
                (r.is_ready(), b)
            })
        };
        let ra = s.poll_ready(Direction::Read, READABLE, None, &a);
        let (rb, _b) = p.join().unwrap();
        dispatch(&s, READABLE);
        let woken = a_n.load(Ordering::SeqCst) + b_n.load(Ordering::SeqCst);
        assert!(ra.is_ready() || rb || woken >= 1, "nobody woken");
    });
}

/// Reactor shutdown while a poller arms: the poller may hold the cell
/// (REGISTERING) when `shutdown` runs, or arm just before it. The cell is
/// touched by one owner at a time (loom checks it for races), the poller
/// is either told (ready) or woken, and no waker is left in a cell after
/// both are done: a kept waker would keep its task alive.
#[test]
fn shutdown_vs_arm_leaves_no_waker_behind() {
    loom::model(|| {
        let s = Arc::new(State::new());
        let woken = Arc::new(AtomicUsize::new(0));
        let probe = StdArc::new(Counter(woken.clone()));
        let w = Waker::from(probe.clone());
        let d = {
            let s = s.clone();
            thread::spawn(move || {
                s.shutdown();
            })
        };
        let r = s.poll_ready(Direction::Read, READABLE, None, &w);
        d.join().unwrap();
        assert!(
            r.is_ready() || woken.load(Ordering::SeqCst) == 1,
            "lost shutdown wakeup"
        );
        drop(w);
        assert_eq!(
            StdArc::strong_count(&probe),
            1,
            "a waker stayed in a cell after shutdown"
        );
    });
}

/// The steady state: the cell already holds the poller's waker (kept from
/// the previous arm), so the re-arm is the one-RMW path that never writes
/// the cell, racing with an event. Ready or woken, and woken at most once.
#[test]
fn one_rmw_rearm_vs_dispatch() {
    loom::model(|| {
        let s = Arc::new(State::new());
        let (woken, w) = waker();
        assert!(s.poll_ready(Direction::Read, READABLE, None, &w).is_pending());
        dispatch(&s, READABLE);
        let seen = s.load();
        s.clear(READABLE, seen);
        let d = {
            let s = s.clone();
            thread::spawn(move || dispatch(&s, READABLE))
        };
        let r = s.poll_ready(Direction::Read, READABLE, None, &w);
        d.join().unwrap();
        let n = woken.load(Ordering::SeqCst);
        assert!(n <= 2, "two events, two wakes at most");
        if r.is_pending() {
            assert_eq!(n, 2, "one-RMW re-arm stranded: event neither seen nor woken");
        }
    });
}

/// One poller re-arms through the one-RMW path (its waker in the cell)
/// while another task registers a new waker on the same side, then an
/// event comes. The cell stays race-free (loom checks it) and somebody
/// is told or woken.
#[test]
fn one_rmw_rearm_vs_new_waker_same_side() {
    loom::model(|| {
        let s = Arc::new(State::new());
        let (a_n, a) = waker();
        let (b_n, b) = waker();
        assert!(s.poll_ready(Direction::Read, READABLE, None, &a).is_pending());
        dispatch(&s, READABLE);
        let seen = s.load();
        s.clear(READABLE, seen);
        let p = {
            let s = s.clone();
            thread::spawn(move || {
                let r = s.poll_ready(Direction::Read, READABLE, None, &b);
                (r.is_ready(), b)
            })
        };
        let ra = s.poll_ready(Direction::Read, READABLE, None, &a);
        let (rb, _b) = p.join().unwrap();
        dispatch(&s, READABLE);
        let woken = a_n.load(Ordering::SeqCst) + b_n.load(Ordering::SeqCst);
        // `a` was woken once by the first dispatch already.
        assert!(ra.is_ready() || rb || woken >= 2, "nobody woken");
    });
}
