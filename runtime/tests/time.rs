//! Runtime timers: order, never before the deadline, sub-millisecond
//! sleeps, timeout, interval. Only lower bounds on time are asserted.

use sockwq_test_support as support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_util::StreamExt;
use sockwq_runtime::time::Instant;
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

/// Polls `f` once with a no-op waker.
fn poll_once<F: std::future::Future + Unpin>(f: &mut F) -> std::task::Poll<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    std::pin::Pin::new(f).poll(&mut cx)
}

/// Polls the interval once: `Some(tick)` if a tick is due now.
fn tick_now(iv: &mut time::Interval) -> Option<Instant> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match iv.poll_tick(&mut cx) {
        std::task::Poll::Ready(t) => Some(t),
        std::task::Poll::Pending => None,
    }
}

const PERIOD: Duration = Duration::from_millis(20);
/// How long the thread is blocked to miss ticks: 3.5 periods.
const BLOCKED: Duration = Duration::from_millis(70);

/// Burst: the missed ticks come at once, each with its scheduled instant,
/// and the schedule does not move.
#[test]
fn missed_ticks_burst() {
    with_watchdog(10, || {
        block_on(async {
            let start = Instant::now();
            let mut iv = time::interval_at(start, PERIOD);
            assert_eq!(iv.missed_tick_behavior(), time::MissedTickBehavior::Burst);
            assert_eq!(iv.tick().await, start);
            std::thread::sleep(BLOCKED);
            // Due now, without waiting: start+1, +2, +3 periods.
            for k in 1..=3 {
                assert_eq!(tick_now(&mut iv), Some(start + PERIOD * k), "tick {k}");
            }
            // The fourth is on the original schedule, never early.
            let t4 = iv.tick().await;
            assert_eq!(t4, start + PERIOD * 4);
            assert!(Instant::now() >= t4);
            assert_eq!(iv.tick().await, start + PERIOD * 5);
        });
    });
}

/// The tolerance below which a late tick is not "missed" (tokio's).
const TOLERANCE: Duration = Duration::from_millis(5);

/// Delay: the late tick is returned, then the schedule restarts one
/// period after the late poll.
#[test]
fn missed_ticks_delay() {
    with_watchdog(10, || {
        block_on(async {
            let start = Instant::now();
            let mut iv = time::interval_at(start, PERIOD);
            iv.set_missed_tick_behavior(time::MissedTickBehavior::Delay);
            assert_eq!(iv.tick().await, start);
            let first_on_time = Instant::now() <= start + TOLERANCE;
            std::thread::sleep(BLOCKED);
            let before_late_poll = Instant::now();
            let late = tick_now(&mut iv).expect("a missed tick is due");
            let after_late_poll = Instant::now();
            assert!(late + TOLERANCE < before_late_poll);
            if first_on_time {
                assert_eq!(late, start + PERIOD);
            }
            // Nothing else is due: the missed ticks are not replayed.
            assert_eq!(tick_now(&mut iv), None);
            let next = iv.tick().await;
            assert!(next >= before_late_poll + PERIOD, "{:?}", next - before_late_poll);
            assert!(next <= after_late_poll + PERIOD);
            assert!(Instant::now() >= next);
        });
    });
}

/// Skip: the late tick is returned, the other missed ones are skipped, and
/// the next tick is the next one due on the original schedule.
#[test]
fn missed_ticks_skip() {
    with_watchdog(10, || {
        block_on(async {
            let start = Instant::now();
            let mut iv = time::interval_at(start, PERIOD);
            iv.set_missed_tick_behavior(time::MissedTickBehavior::Skip);
            assert_eq!(iv.tick().await, start);
            let first_on_time = Instant::now() <= start + TOLERANCE;
            std::thread::sleep(BLOCKED);
            let before_late_poll = Instant::now();
            let late = tick_now(&mut iv).expect("a missed tick is due");
            let after_late_poll = Instant::now();
            assert!(late + TOLERANCE < before_late_poll);
            if first_on_time {
                assert_eq!(late, start + PERIOD);
            }
            assert_eq!(tick_now(&mut iv), None);
            let next = iv.tick().await;
            // On the schedule's grid, and the first grid point after the
            // late poll.
            let since = next - late;
            assert_eq!(since.as_nanos() % PERIOD.as_nanos(), 0, "{since:?} off the grid");
            assert!(next > before_late_poll);
            assert!(next - PERIOD <= after_late_poll);
            assert!(Instant::now() >= next);
        });
    });
}

/// A tick up to 5 ms late is not "missed" (tokio's tolerance): even with
/// `Delay`, the schedule stays on the grid.
#[test]
fn a_slightly_late_tick_is_not_missed() {
    with_watchdog(10, || {
        block_on(async {
            let start = Instant::now() + Duration::from_millis(50);
            let mut iv = time::interval_at(start, PERIOD);
            iv.set_missed_tick_behavior(time::MissedTickBehavior::Delay);
            // Wait until just past the first tick, but within 5 ms of it.
            while Instant::now() < start {
                std::thread::yield_now();
            }
            if Instant::now() < start + TOLERANCE - Duration::from_millis(1) {
                assert_eq!(tick_now(&mut iv), Some(start));
                assert_eq!(iv.tick().await, start + PERIOD);
            } else {
                eprintln!("skipped: the thread was descheduled past the tolerance");
            }
        });
    });
}

#[test]
fn interval_resets() {
    with_watchdog(10, || {
        block_on(async {
            let mut iv = time::interval(Duration::from_secs(3600));
            assert_eq!(iv.period(), Duration::from_secs(3600));
            iv.tick().await;

            let before = Instant::now();
            iv.reset_immediately();
            let t = iv.tick().await;
            assert!(t >= before && t <= Instant::now());

            let before = Instant::now();
            iv.reset_after(Duration::from_millis(3));
            let t = iv.tick().await;
            assert!(t >= before + Duration::from_millis(3));
            assert!(Instant::now() >= t);

            let at = Instant::now() + Duration::from_millis(2);
            iv.reset_at(at);
            assert_eq!(iv.tick().await, at);
            assert!(Instant::now() >= at);
            // After a reset the period goes on from the reset tick.
            let mut iv = time::interval(Duration::from_millis(2));
            iv.tick().await;
            let before = Instant::now();
            iv.reset();
            let t = iv.tick().await;
            assert!(t >= before + Duration::from_millis(2));
        });
    });
}

#[test]
#[should_panic(expected = "`period` must be non-zero.")]
fn zero_period_panics() {
    let _ = time::interval(Duration::ZERO);
}

#[test]
fn instant_api_matches_tokio() {
    let a = Instant::now();
    let b = a + Duration::from_millis(3);
    assert_eq!(b - a, Duration::from_millis(3));
    assert_eq!(a - b, Duration::ZERO);
    assert_eq!(b - Duration::from_millis(3), a);
    assert_eq!(b.duration_since(a), Duration::from_millis(3));
    assert_eq!(a.checked_duration_since(b), None);
    assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    assert_eq!(Instant::from_std(a.into_std()), a);
    let s: std::time::Instant = b.into();
    assert_eq!(Instant::from(s), b);
    let mut c = a;
    c += Duration::from_secs(1);
    c -= Duration::from_millis(500);
    assert_eq!(c - a, Duration::from_millis(500));
    assert!(a.checked_add(Duration::MAX).is_none());
}

#[test]
fn timeout_accessors_and_error_path() {
    let mut t = time::timeout(Duration::from_secs(1), std::future::ready(5));
    assert_eq!(t.get_ref().clone().into_inner(), 5);
    let inner: &mut std::future::Ready<i32> = t.get_mut();
    assert_eq!(inner.clone().into_inner(), 5);
    assert_eq!(block_on(t.into_inner()), 5);
    let r: Result<(), time::error::Elapsed> =
        block_on(time::timeout(Duration::from_millis(1), std::future::pending()));
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "deadline has elapsed");
    let _: &dyn std::error::Error = &e;
}

/// A sleep first polled on a runtime core and then moved to another
/// executor re-registers with the global timers and still completes.
#[test]
fn sleep_moves_from_a_core_to_another_executor() {
    with_watchdog(10, || {
        let mut s = time::sleep(Duration::from_millis(20));
        let start = Instant::now();
        block_on(async {
            assert!(poll_once(&mut s).is_pending());
        });
        futures::executor::block_on(s);
        assert!(start.elapsed() >= Duration::from_millis(20));
    });
}

/// A waker that owns a timer: dropping its last reference drops (cancels)
/// that timer.
struct OwnsATimer(#[allow(dead_code)] time::Sleep);

impl std::task::Wake for OwnsATimer {
    fn wake(self: std::sync::Arc<Self>) {}
}

/// Re-polling a sleep with another waker drops the old waker; when that
/// drop cancels another timer of the same core, the core's timers must not
/// be borrowed at that moment (it panicked with "already borrowed").
#[test]
fn replacing_a_waker_that_owns_a_timer() {
    with_watchdog(10, || {
        block_on(async {
            let mut inner = time::sleep(Duration::from_secs(3600));
            assert!(poll_once(&mut inner).is_pending());
            let owner = std::task::Waker::from(std::sync::Arc::new(OwnsATimer(inner)));
            let mut s = time::sleep(Duration::from_secs(3600));
            let mut cx = std::task::Context::from_waker(&owner);
            assert!(std::pin::Pin::new(&mut s).poll(&mut cx).is_pending());
            drop(owner); // the timer holds the last reference now
            assert!(poll_once(&mut s).is_pending()); // replaces (drops) it
            drop(s);
        });
    });
}

/// A waker that only counts: its `Arc`'s strong count says who holds it.
struct Counted;

impl std::task::Wake for Counted {
    fn wake(self: std::sync::Arc<Self>) {}
}

/// Polls `s` once on this thread's core with a [`Counted`] waker, which
/// that core's timers then hold (its strong count is 2); returns it.
fn register_here(s: &mut time::Sleep) -> std::sync::Arc<Counted> {
    let counted = std::sync::Arc::new(Counted);
    let waker = std::task::Waker::from(counted.clone());
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(std::pin::Pin::new(s).poll(&mut cx).is_pending());
    drop(waker);
    assert_eq!(std::sync::Arc::strong_count(&counted), 2);
    counted
}

/// Waits (bounded by `deadline`) until only `counted`'s own reference is
/// left: the first core dropped its timer entry.
async fn until_released(counted: &std::sync::Arc<Counted>, deadline: Instant) {
    while std::sync::Arc::strong_count(counted) > 1 {
        assert!(
            Instant::now() < deadline,
            "the first core still holds the moved sleep's timer"
        );
        time::sleep(Duration::from_millis(1)).await;
    }
}

/// A sleep polled on one core, then moved to another core and dropped
/// there: the first core's timer entry (and the waker it holds) goes at
/// the first core's next pass, not at the deadline an hour later.
#[test]
fn a_sleep_dropped_on_another_core_leaves_no_timer_behind() {
    with_watchdog(30, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        block_on(async {
            let mut s = time::sleep(Duration::from_secs(3600));
            let counted = register_here(&mut s);
            // Dropped on the runtime's worker, another core.
            rt.spawn(async move { drop(s) }).await.unwrap();
            until_released(&counted, Instant::now() + Duration::from_secs(10)).await;
        });
    });
}

/// The same when the sleep is re-polled on the other core (it registers
/// there and drops its first entry, long before the deadline), and it
/// still fires there, not before its deadline.
#[test]
fn a_sleep_re_polled_on_another_core_moves_its_timer() {
    with_watchdog(30, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        block_on(async {
            let start = Instant::now();
            let mut s = time::sleep(Duration::from_secs(2));
            let counted = register_here(&mut s);
            let worker = rt.spawn(async move {
                s.await;
                Instant::now()
            });
            // Well before the deadline, when the first entry would fire.
            until_released(&counted, start + Duration::from_millis(1500)).await;
            let fired = worker.await.unwrap();
            assert!(fired >= start + Duration::from_secs(2), "fired early");
        });
    });
}
