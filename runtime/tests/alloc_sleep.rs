//! A sleep that runs to its deadline on its own core allocates nothing in
//! the steady state: its fired timer is gone from the core's timers, and
//! finishing it must not queue a cross-thread cancel (a locked `Vec` push)
//! for a timer that is no longer there. Counted with a global allocator
//! that counts while switched on.
//!
//! The only test of its binary: the counter is process-wide.

use sockwq_test_support as support;

use std::time::Duration;

use sockwq_runtime::time;

use support::with_watchdog;

#[global_allocator]
static GLOBAL: support::alloc::Counting = support::alloc::Counting;

#[test]
fn sleeps_that_fire_on_their_core_allocate_nothing() {
    const WARM_UP: u32 = 20;
    const MEASURED: u32 = 200;
    with_watchdog(60, || {
        let (allocs, frees) = sockwq_runtime::block_on(async {
            for i in 0..WARM_UP + MEASURED {
                if i == WARM_UP {
                    support::alloc::start();
                }
                // Registered with this thread's core, fired by it, then
                // finished (and dropped) here.
                time::sleep(Duration::from_micros(200)).await;
            }
            support::alloc::stop()
        });
        eprintln!("{MEASURED} sleeps: {allocs} allocations, {frees} frees");
        assert_eq!((allocs, frees), (0, 0), "sleeps allocated");
    });
}
