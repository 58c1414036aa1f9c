//! Timers outside a sockwq runtime: under `futures::executor::block_on` and
//! on plain threads, a timer registers with the global reactor's timers
//! (the nearest deadline is its `epoll_wait` timeout). Only lower bounds on
//! time are asserted; the watchdogs turn a missed wake-up into a failure.

use sockwq_test_support as support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::executor::block_on;
use futures_util::StreamExt;
use sockwq_reactor::GlobalTimers;
use sockwq_runtime::time::{self, Instant};

use support::with_watchdog;

/// One test at a time: one of them counts the global timers.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn timeout_under_futures_executor() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    with_watchdog(20, || {
        let start = Instant::now();
        let r = block_on(time::timeout(
            Duration::from_millis(20),
            std::future::pending::<()>(),
        ));
        assert!(r.is_err());
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert_eq!(
            block_on(time::timeout(Duration::from_secs(5), async { 9 })),
            Ok(9)
        );
        let inner = time::sleep(Duration::from_millis(2));
        assert_eq!(block_on(time::timeout(Duration::from_secs(5), inner)), Ok(()));
    });
}

#[test]
fn sleeps_never_end_early_across_threads() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    with_watchdog(30, || {
        let fired: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
        let base = Instant::now() + Duration::from_millis(30);
        let threads: Vec<_> = (0..8u64)
            .map(|i| {
                let fired = fired.clone();
                // Deadlines 5 ms apart, registered from 8 threads in reverse.
                let deadline = base + Duration::from_millis(5 * (7 - i));
                std::thread::spawn(move || {
                    block_on(time::sleep_until(deadline));
                    fired.lock().unwrap().push((deadline, Instant::now()));
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let fired = fired.lock().unwrap();
        assert_eq!(fired.len(), 8);
        for (deadline, at) in fired.iter() {
            assert!(at >= deadline, "fired {:?} early", *deadline - *at);
        }
    });
}

#[test]
fn interval_under_futures_executor() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    with_watchdog(20, || {
        let period = Duration::from_millis(2);
        let ticks: Vec<Instant> = block_on(time::interval(period).take(5).collect());
        assert_eq!(ticks[4] - ticks[0], period * 4);
        assert!(Instant::now() >= ticks[4]);
    });
}

/// The global reactor's thread sleeps until the nearest deadline; a new,
/// nearer one must wake it rather than wait behind a far one.
#[test]
fn a_nearer_deadline_wakes_the_global_timer_thread() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    with_watchdog(20, || {
        // Registered first: the thread now sleeps for up to a minute.
        let mut far = time::sleep(Duration::from_secs(60));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(std::pin::Pin::new(&mut far).poll(&mut cx).is_pending());
        std::thread::sleep(Duration::from_millis(20));
        let start = Instant::now();
        block_on(time::sleep(Duration::from_millis(10)));
        assert!(start.elapsed() >= Duration::from_millis(10));
        drop(far);
    });
}

/// Dropped and completed sleeps leave no timer behind.
#[test]
fn dropped_sleeps_deregister_from_the_global_timers() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    with_watchdog(20, || {
        let global = GlobalTimers::get().unwrap();
        let before = global.len();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut sleeps: Vec<_> = (0..100).map(|_| time::sleep(Duration::from_secs(3600))).collect();
        for s in &mut sleeps {
            assert!(std::pin::Pin::new(s).poll(&mut cx).is_pending());
        }
        // Polling again updates the waker in place: no new timer.
        for s in &mut sleeps {
            assert!(std::pin::Pin::new(s).poll(&mut cx).is_pending());
        }
        assert_eq!(global.len(), before + 100);
        drop(sleeps);
        assert_eq!(global.len(), before);
        for _ in 0..20 {
            let _ = block_on(time::timeout(
                Duration::from_millis(1),
                std::future::pending::<()>(),
            ));
        }
        assert_eq!(global.len(), before);
    });
}

/// A waker that owns a timer: dropping its last reference drops (cancels)
/// that timer.
struct OwnsATimer(#[allow(dead_code)] time::Sleep);

impl std::task::Wake for OwnsATimer {
    fn wake(self: Arc<Self>) {}
}

/// Re-polling a sleep with another waker drops the old waker; when that
/// drop cancels another global timer, the global timers' lock must not be
/// held at that moment (it deadlocked).
#[test]
fn replacing_a_waker_that_owns_a_global_timer() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    with_watchdog(10, || {
        let noop = std::task::Waker::noop();
        let mut inner = time::sleep(Duration::from_secs(3600));
        let mut cx = std::task::Context::from_waker(noop);
        assert!(std::pin::Pin::new(&mut inner).poll(&mut cx).is_pending());
        let owner = std::task::Waker::from(Arc::new(OwnsATimer(inner)));
        let mut s = time::sleep(Duration::from_secs(3600));
        let mut cx = std::task::Context::from_waker(&owner);
        assert!(std::pin::Pin::new(&mut s).poll(&mut cx).is_pending());
        drop(owner); // the timer holds the last reference now
        let mut cx = std::task::Context::from_waker(noop);
        assert!(std::pin::Pin::new(&mut s).poll(&mut cx).is_pending()); // replaces it
        drop(s);
    });
}
