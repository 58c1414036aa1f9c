//! Runtime timers: order, never before the deadline, sub-millisecond
//! sleeps, timeout, interval. Only lower bounds on time are asserted.

use sockwq_test_support as support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sockwq_runtime::{Runtime, block_on, spawn, spawn_local, time};

use support::with_watchdog;

/// A small deterministic generator (no rand dependency).
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

#[test]
fn sleeps_never_end_before_their_deadline() {
    with_watchdog(30, || {
        block_on(async {
            for micros in [0u64, 1, 10, 50, 100, 200, 500, 999, 1000, 1500, 3000] {
                for _ in 0..5 {
                    let d = Duration::from_micros(micros);
                    let start = Instant::now();
                    time::sleep(d).await;
                    assert!(
                        start.elapsed() >= d,
                        "sleep({d:?}) ended after {:?}",
                        start.elapsed()
                    );
                }
            }
        });
    });
}

#[test]
fn timers_fire_in_deadline_order() {
    with_watchdog(30, || {
        block_on(async {
            let start = Instant::now() + Duration::from_millis(2);
            let fired: Rc<RefCell<Vec<(Instant, Instant)>>> = Rc::default();
            let mut seed = 7;
            let mut handles = Vec::new();
            for _ in 0..500 {
                let deadline = start + Duration::from_micros(lcg(&mut seed) % 20_000);
                let fired = fired.clone();
                handles.push(spawn_local(async move {
                    time::sleep_until(deadline).await;
                    fired.borrow_mut().push((deadline, Instant::now()));
                }));
            }
            for h in handles {
                h.await.unwrap();
            }
            let fired = fired.borrow();
            assert_eq!(fired.len(), 500);
            for (deadline, at) in fired.iter() {
                assert!(at >= deadline, "fired {:?} early", *deadline - *at);
            }
            for w in fired.windows(2) {
                assert!(w[0].0 <= w[1].0, "out of order: {:?} then {:?}", w[0].0, w[1].0);
            }
        });
    });
}

#[test]
fn sub_millisecond_sleep_is_not_rounded_to_a_millisecond() {
    // Reported, not asserted as an upper bound: machines are noisy.
    with_watchdog(30, || {
        block_on(async {
            let n = 50;
            let start = Instant::now();
            for _ in 0..n {
                time::sleep(Duration::from_micros(200)).await;
            }
            let per = start.elapsed() / n;
            assert!(per >= Duration::from_micros(200));
            eprintln!("sleep(200us) took {per:?} on average");
        });
    });
}

#[test]
fn timers_on_workers() {
    with_watchdog(30, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let lates = rt.block_on(async {
            let hs: Vec<_> = (0..200u64)
                .map(|i| {
                    spawn(async move {
                        let d = Duration::from_micros(100 + (i * 37) % 3000);
                        let start = Instant::now();
                        time::sleep(d).await;
                        start.elapsed().checked_sub(d)
                    })
                })
                .collect();
            let mut lates = Vec::new();
            for h in hs {
                lates.push(h.await.unwrap().expect("a timer fired early"));
            }
            lates
        });
        assert_eq!(lates.len(), 200);
    });
}

#[test]
fn timeout_ok_and_elapsed() {
    with_watchdog(10, || {
        block_on(async {
            assert_eq!(time::timeout(Duration::from_secs(5), async { 3 }).await, Ok(3));
            let start = Instant::now();
            let r = time::timeout(Duration::from_millis(3), std::future::pending::<()>()).await;
            assert!(r.is_err());
            assert!(start.elapsed() >= Duration::from_millis(3));
            let inner = time::sleep(Duration::from_millis(1));
            assert_eq!(time::timeout(Duration::from_secs(5), inner).await, Ok(()));
            let e: std::io::Error = r.unwrap_err().into();
            assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        });
    });
}

#[test]
fn interval_ticks_are_period_apart_and_stream() {
    with_watchdog(10, || {
        block_on(async {
            let period = Duration::from_micros(500);
            let mut iv = time::interval(period);
            let t0 = iv.tick().await;
            let mut prev = t0;
            for _ in 0..10 {
                let t = iv.tick().await;
                assert!(t - prev >= period);
                assert!(Instant::now() >= t);
                prev = t;
            }
            let ticks: Vec<Instant> = time::interval(period).take(5).collect().await;
            assert!(ticks[4] - ticks[0] >= period * 4);
            assert!(Instant::now() >= ticks[4]);
        });
    });
}

#[test]
fn dropped_and_reset_sleeps() {
    with_watchdog(10, || {
        block_on(async {
            // A dropped timer does not fire into anything.
            for _ in 0..100 {
                let s = time::sleep(Duration::from_millis(1));
                let _ = time::timeout(Duration::from_micros(10), s).await;
            }
            let mut s = time::sleep(Duration::from_secs(3600));
            let start = Instant::now();
            s.reset(Instant::now() + Duration::from_millis(2));
            s.await;
            assert!(start.elapsed() >= Duration::from_millis(2));
        });
    });
}

#[test]
fn sleep_outside_a_runtime_panics() {
    let r = std::panic::catch_unwind(|| futures::executor::block_on(time::sleep(Duration::from_millis(1))));
    let msg = r
        .unwrap_err()
        .downcast_ref::<&str>()
        .copied()
        .unwrap_or_default()
        .to_owned();
    assert!(msg.contains("outside a sockwq runtime"), "{msg}");
}
