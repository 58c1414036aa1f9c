//! A sleep that runs to its deadline on its own core allocates nothing in
//! the steady state: its fired timer is gone from the core's timers, and
//! finishing it must not queue a cross-thread cancel (a locked `Vec` push)
//! for a timer that is no longer there. Counted with a global allocator
//! that counts while switched on.
//!
//! The only test of its binary: the counter is process-wide.

use sockwq_test_support as support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sockwq_runtime::time;

use support::with_watchdog;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static FREES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded to `System` with the same arguments; the
// counters are atomics and allocate nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            FREES.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded as is; `ptr` came from `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded as is; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn sleeps_that_fire_on_their_core_allocate_nothing() {
    const WARM_UP: u32 = 20;
    const MEASURED: u32 = 200;
    with_watchdog(60, || {
        let (allocs, frees) = sockwq_runtime::block_on(async {
            for i in 0..WARM_UP + MEASURED {
                if i == WARM_UP {
                    COUNTING.store(true, Ordering::SeqCst);
                }
                // Registered with this thread's core, fired by it, then
                // finished (and dropped) here.
                time::sleep(Duration::from_micros(200)).await;
            }
            COUNTING.store(false, Ordering::SeqCst);
            (ALLOCS.load(Ordering::SeqCst), FREES.load(Ordering::SeqCst))
        });
        eprintln!("{MEASURED} sleeps: {allocs} allocations, {frees} frees");
        assert_eq!((allocs, frees), (0, 0), "sleeps allocated");
    });
}
