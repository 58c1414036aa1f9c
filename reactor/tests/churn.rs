//! Churn stress: register/deregister cycles on two threads while a third
//! turns the reactor and dispatches events for those very sources — the
//! grace-period path. Each cycle also joins and leaves the RCU wait queue
//! (a new `ArcSwap` per source, freed with it: the workload of arc-swap
//! #210/#214). No fd may leak, nothing may crash; under valgrind
//! (see README) no invalid access may show.
//!
//! `SOCKWQ_CHURN_CYCLES` overrides the number of cycles (default 50,000).
//! One test per binary: it counts `/proc/self/fd`.

use sockwq_test_support as support;

use std::io::Write;
use std::task::Context;
use std::thread;
use std::time::Duration;

use futures::task::noop_waker;
use sockwq_reactor::Interest;

use support::{Driver, open_fds, pair};

#[test]
fn churn_with_events_in_flight() {
    let cycles: usize = std::env::var("SOCKWQ_CHURN_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let fds_before = open_fds();

    let turner = Driver::start(Duration::from_millis(5));
    let handle = turner.handle.clone();

    let workers: Vec<_> = (0..2)
        .map(|w| {
            let handle = handle.clone();
            thread::spawn(move || {
                let waker = noop_waker();
                let mut cx = Context::from_waker(&waker);
                for i in 0..cycles / 2 {
                    let (a, mut b) = pair();
                    // SAFETY: `a` outlives the registration (declared before it).
                    let reg = unsafe { handle.register(&a) }.unwrap();
                    // An event in flight for this source, dispatched (maybe) by
                    // the turner while we deregister below.
                    b.write_all(b"x").unwrap();
                    // Arm the read slot, and join the RCU wait queue.
                    let _ = reg.poll_ready(&mut cx, Interest::PRIORITY);
                    let mut fut = Box::pin(reg.ready(Interest::PRIORITY));
                    let _ = std::future::Future::poll(fut.as_mut(), &mut cx);
                    if (i + w) % 3 == 0 {
                        // SAFETY: `reg_b` is dropped before `b` is closed.
                        let reg_b = unsafe { handle.register(&b) }.unwrap();
                        drop(reg_b);
                        // Closing b sends a hang-up to a.
                        drop(b);
                    }
                    drop(fut);
                    drop(reg);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("churn worker panicked");
    }
    let mut reactor = turner.stop();
    // Two more turns end every pending grace period.
    reactor.turn(Some(Duration::ZERO)).unwrap();
    reactor.turn(Some(Duration::ZERO)).unwrap();
    let stats = reactor.stats();
    assert_eq!(
        stats.deferred_releases, stats.registrations,
        "every deregistered source is released after its grace period: {stats:?}"
    );
    assert!(stats.registrations >= cycles as u64, "{stats:?}");
    assert!(stats.events > 0, "{stats:?}");
    assert!(stats.rcu_updates >= 2 * cycles as u64, "{stats:?}");
    drop(reactor);
    drop(handle);
    assert_eq!(open_fds(), fds_before, "fd leak");
}
