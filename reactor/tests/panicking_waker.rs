//! A waker that panics inside the arm/wake protocol must not leave a waker
//! slot owned forever: the next task polling that side must be able to
//! wait (not wake itself in a loop) and be woken by the next event; the
//! same for the `AtomicWaker` of readiness futures and fasync channels.

use sockwq_test_support as support;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};
use std::time::Duration;

use sockwq_reactor::{Async, AtomicWaker, Reactor};

use support::{pair, with_watchdog};

/// A waker whose `clone` panics (its other entries do nothing).
fn clone_panics() -> Waker {
    fn clone(_: *const ()) -> RawWaker {
        panic!("this waker cannot be cloned");
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: the vtable's functions ignore the data pointer, and none of
    // them breaks the RawWaker contract except by panicking, which callers
    // of `clone` must survive.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}

/// A waker that panics when woken.
fn wake_panics() -> Waker {
    struct P;
    impl Wake for P {
        fn wake(self: Arc<Self>) {
            panic!("this waker cannot be woken");
        }
    }
    Waker::from(Arc::new(P))
}

struct Count(AtomicUsize);
impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A new task polling `a` for reading waits (readiness it finds first is
/// cleared) without waking itself, and a byte written on `b` wakes it
/// (bounded: 100 turns of up to 100 ms), after which `a` is readable.
fn waits_then_is_woken(r: &mut Reactor, a: &Async<UnixStream>, b: &mut UnixStream) {
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let good = Waker::from(count.clone());
    while let Poll::Ready(ev) = a.poll_readable(&mut Context::from_waker(&good)) {
        a.source().clear_readiness(ev.unwrap());
    }
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        0,
        "the poller woke itself: the slot is stuck"
    );
    b.write_all(b"x").unwrap();
    for _ in 0..100 {
        if count.0.load(Ordering::SeqCst) > 0 {
            break;
        }
        r.turn(Some(Duration::from_millis(100))).unwrap();
    }
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        1,
        "the event did not wake the new poller"
    );
    assert!(a.poll_readable(&mut Context::from_waker(&good)).is_ready());
}

#[test]
fn a_waker_whose_clone_panics_leaves_the_slot_usable() {
    with_watchdog(30, || {
        let mut r = Reactor::new().unwrap();
        let (a, mut b) = pair();
        let a = Async::with_handle(a, &r.handle()).unwrap();
        r.turn(Some(Duration::ZERO)).unwrap();

        let bad = clone_panics();
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            a.poll_readable(&mut Context::from_waker(&bad))
        }));
        assert!(panicked.is_err(), "the clone did not panic");

        // The next task waits, without waking itself, and an event wakes it.
        waits_then_is_woken(&mut r, &a, &mut b);
    });
}

#[test]
fn a_waker_whose_wake_panics_leaves_the_slot_usable() {
    with_watchdog(30, || {
        let mut r = Reactor::new().unwrap();
        let (a, mut b) = pair();
        let a = Async::with_handle(a, &r.handle()).unwrap();
        r.turn(Some(Duration::ZERO)).unwrap();

        let bad = wake_panics();
        assert!(a.poll_readable(&mut Context::from_waker(&bad)).is_pending());
        b.write_all(b"x").unwrap();
        // The dispatch that wakes it unwinds out of the turn.
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            for _ in 0..100 {
                r.turn(Some(Duration::from_millis(100))).unwrap();
            }
        }));
        assert!(panicked.is_err(), "the wake did not panic");
        drop(bad);

        // Drain the byte, then the next task waits without waking itself
        // and is woken by the next event.
        let mut buf = [0u8; 8];
        assert_eq!(std::io::Read::read(&mut a.get_ref(), &mut buf).unwrap(), 1);
        waits_then_is_woken(&mut r, &a, &mut b);
    });
}

/// The wait queue's and fasync channels' `AtomicWaker`: a registration
/// whose clone panics leaves it usable (futures-core's stays REGISTERING:
/// later registrations do nothing and wakes are lost).
#[test]
fn an_atomic_waker_survives_a_panicking_clone() {
    let aw = AtomicWaker::new();
    let bad = clone_panics();
    assert!(catch_unwind(AssertUnwindSafe(|| aw.register(&bad))).is_err());
    let count = Arc::new(Count(AtomicUsize::new(0)));
    aw.register(&Waker::from(count.clone()));
    aw.wake();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
}
