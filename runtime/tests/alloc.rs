//! Cross-core wakes allocate nothing in the steady state: a wake from
//! another thread pushes the task onto its core's injection ring (bounded,
//! allocated once), not onto a queue that allocates a block every 31
//! pushes. Counted with a global allocator that counts while switched on.
//!
//! The only test of its binary: the counter is process-wide.

use sockwq_test_support as support;

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Instant;

use futures_util::task::AtomicWaker;
use sockwq_runtime::Runtime;

use support::with_watchdog;

#[global_allocator]
static GLOBAL: support::alloc::Counting = support::alloc::Counting;

/// A round counter the worker's task waits on (woken from this thread),
/// and one this thread spins on (no waker, no allocation).
#[derive(Default)]
struct Rounds {
    go: AtomicU64,
    waker: AtomicWaker,
    done: AtomicU64,
}

#[test]
fn cross_core_wakes_allocate_nothing() {
    const WARM_UP: u64 = 2_000;
    const MEASURED: u64 = 20_000;
    with_watchdog(60, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let rounds = Arc::new(Rounds::default());
        let r = rounds.clone();
        let task = rt.spawn(async move {
            for i in 1..=WARM_UP + MEASURED {
                poll_fn(|cx| {
                    if r.go.load(Ordering::SeqCst) >= i {
                        return Poll::Ready(());
                    }
                    r.waker.register(cx.waker());
                    if r.go.load(Ordering::SeqCst) >= i {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
                .await;
                r.done.store(i, Ordering::SeqCst);
            }
        });
        let mut start = Instant::now();
        for i in 1..=WARM_UP + MEASURED {
            if i == WARM_UP + 1 {
                start = Instant::now();
                support::alloc::start();
            }
            rounds.go.store(i, Ordering::SeqCst);
            // From this thread: the task goes through the injection queue.
            rounds.waker.wake();
            // Spin briefly, then give the core (on a busy machine, perhaps
            // this very CPU) a chance to run; neither allocates.
            let mut spins = 0u32;
            while rounds.done.load(Ordering::SeqCst) < i {
                spins += 1;
                if spins % 128 == 0 {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
        let (allocs, frees) = support::alloc::stop();
        let per_round = start.elapsed() / MEASURED as u32;
        rt.block_on(task).unwrap();
        eprintln!(
            "{MEASURED} cross-core wakes: {allocs} allocations, {frees} frees, {per_round:?} per round trip"
        );
        assert_eq!((allocs, frees), (0, 0), "cross-core wakes allocated");
    });
}
