//! A signal listener polled outside any sockwq runtime, with no fd left
//! for it nor for the global reactor (so no timer can run): it retries at
//! an interval rather than waking itself at once (a busy loop), receives
//! what is sent meanwhile, and registers once fds are free again. Alone in
//! its binary: it lowers the process's fd limit, and the global reactor
//! must not have started.

use sockwq_test_support as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use sockwq_runtime::signal::unix::{Signal, SignalKind, signal};

use support::{exhaust_fds, with_watchdog};

/// Counts its wakes.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `sig` as an executor would (again after each wake) for `span`;
/// returns the number of polls and the first `Ready`, if any.
fn drive(sig: &mut Signal, counter: &Arc<Counter>, span: Duration) -> (usize, Option<Option<()>>) {
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let end = Instant::now() + span;
    let mut polls = 0;
    let mut seen = counter.0.load(Ordering::SeqCst);
    let mut first = true;
    while Instant::now() < end {
        let woken = counter.0.load(Ordering::SeqCst);
        if first || woken != seen {
            first = false;
            seen = woken;
            polls += 1;
            if let Poll::Ready(r) = sig.poll_recv(&mut cx) {
                return (polls, Some(r));
            }
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    (polls, None)
}

#[test]
fn a_listener_out_of_fds_without_timers_does_not_spin() {
    with_watchdog(30, || {
        let mut sig = signal(SignalKind::user_defined2()).unwrap();
        let counter = Arc::new(Counter::default());
        // No new fd can be made, for the listener's registration or the
        // global reactor.
        let no_fds = exhaust_fds();
        let (idle_polls, idle) = drive(&mut sig, &counter, Duration::from_millis(500));
        // SAFETY: kill with our own pid and a valid signal number.
        assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) }, 0);
        let (_, while_starved) = drive(&mut sig, &counter, Duration::from_secs(5));
        drop(no_fds);
        assert_eq!(idle, None, "recv finished while nothing was sent");
        // A retry every 50 ms is 10 polls in 500 ms; a busy loop is
        // thousands.
        assert!(
            (2..=50).contains(&idle_polls),
            "{idle_polls} polls in 500 ms while out of fds (want a retry every 50 ms)"
        );
        assert_eq!(while_starved, Some(Some(())), "the signal sent while out of fds");

        // With fds again: the listener registers (the global reactor starts)
        // and receives the next signal.
        // SAFETY: as above.
        assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) }, 0);
        let (_, after) = drive(&mut sig, &counter, Duration::from_secs(10));
        assert_eq!(after, Some(Some(())), "the signal sent once fds were free");
    });
}
