//! The dispatch path neither allocates nor frees, even while other threads
//! replace the wait queue it reads (readiness futures joining and leaving:
//! RCU updates). A counting global allocator, armed only on the reactor's
//! thread and only around the dispatch half of a turn (`epoll_wait` and
//! the dispatch loop; the grace-period frees at the start of a turn are
//! outside it), must count nothing after a warm-up.
//!
//! Its own test binary: the global allocator is process-wide.

use sockwq_test_support as support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Context;
use std::thread;
use std::time::Duration;

use futures::task::noop_waker_ref;
use sockwq_reactor::{Interest, Reactor};

use support::{pair, with_watchdog};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static FREES: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Const-initialized and without a destructor: reading it never allocates.
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

fn armed() -> bool {
    ARMED.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if armed() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if armed() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if armed() {
            FREES.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if armed() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            FREES.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn dispatch_neither_allocates_nor_frees_under_waiter_churn() {
    with_watchdog(120, || {
        let mut r = Reactor::new().unwrap();
        let (mut a, b) = pair();
        // SAFETY: `a` outlives the registration: the scope below ends, and
        // the registration is dropped, before `a` is.
        let reg = unsafe { r.handle().register(&a) }.unwrap();
        let stop = AtomicBool::new(false);
        let (warm, armed_turns) = (2_000, 20_000);
        let mut dispatched_with_waiters = 0u64;

        thread::scope(|s| {
            // Joins and leaves the wait queue without end: every poll of a new
            // PRIORITY future joins (no data is priority), every drop leaves.
            // Each is an RCU update that replaces the list the dispatcher reads.
            s.spawn(|| {
                let mut cx = Context::from_waker(noop_waker_ref());
                while !stop.load(Ordering::Relaxed) {
                    let mut f = Box::pin(reg.ready(Interest::PRIORITY));
                    assert!(f.as_mut().poll(&mut cx).is_pending());
                    drop(f);
                }
            });
            // A byte now and then: a read event, dispatched while waiters come and go.
            s.spawn(|| {
                let mut b = &b;
                while !stop.load(Ordering::Relaxed) {
                    match b.write(b"x") {
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) => panic!("{e}"),
                    }
                    thread::sleep(Duration::from_micros(50));
                }
            });

            let mut buf = [0u8; 4096];
            for i in 0..warm + armed_turns {
                // The grace-period half of a turn: frees, legitimately.
                r.release_deferred_now();
                let listed = reg.waiters() > 0;
                let measure = i >= warm;
                ARMED.with(|a| a.set(measure));
                let n = r.wait_and_dispatch(Some(Duration::from_millis(10))).unwrap();
                ARMED.with(|a| a.set(false));
                if measure && listed && n > 0 {
                    dispatched_with_waiters += 1;
                }
                // Keep the socket from filling up.
                while let Ok(n) = a.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
        drop(reg);

        let (allocs, frees) = (ALLOCS.load(Ordering::Relaxed), FREES.load(Ordering::Relaxed));
        let s = r.stats();
        assert!(
            dispatched_with_waiters > 100 && s.rcu_updates > 10_000,
            "the churn did not meet dispatch: {dispatched_with_waiters} turns, {s:?}"
        );
        assert_eq!(
            (allocs, frees),
            (0, 0),
            "allocations and frees inside dispatch ({dispatched_with_waiters} turns with waiters, {s:?})"
        );
    });
}
