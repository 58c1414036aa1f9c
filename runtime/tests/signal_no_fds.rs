//! A signal listener that cannot register for lack of fds waits and tries
//! again; its stream does not end, and it still receives the signals sent
//! meanwhile. Alone in its binary: it lowers the
//! process's fd limit for a moment.

use sockwq_test_support as support;

use std::time::Duration;

use sockwq_runtime::block_on;
use sockwq_runtime::signal::unix::{SignalKind, signal};
use sockwq_runtime::time::timeout;

use support::{exhaust_fds, with_watchdog};

#[test]
fn a_listener_out_of_fds_keeps_waiting_and_still_receives() {
    with_watchdog(30, || {
        block_on(async {
            let mut sig = signal(SignalKind::user_defined2()).unwrap();
            // No new fd can be made (the listener's first wait needs one).
            let no_fds = exhaust_fds();
            let out_of_fds = timeout(Duration::from_millis(300), sig.recv()).await;
            // Still out of fds: a delivery is read from the signalfd itself
            // (no new fd needed) at the next retry.
            // SAFETY: kill with our own pid and a valid signal number.
            assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) }, 0);
            let while_starved = timeout(Duration::from_secs(5), sig.recv()).await;
            let still_starved = std::fs::File::open("/dev/null").map(drop);
            drop(no_fds);
            assert!(
                out_of_fds.is_err(),
                "recv finished ({out_of_fds:?}) while the listener could not register"
            );
            assert!(still_starved.is_err(), "an fd was free during the delivery");
            assert_eq!(
                while_starved,
                Ok(Some(())),
                "the signal sent while the listener could not register"
            );

            // SAFETY: kill with our own pid and a valid signal number.
            assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) }, 0);
            let got = timeout(Duration::from_secs(10), sig.recv()).await;
            assert_eq!(
                got,
                Ok(Some(())),
                "the signal sent after the fd limit was restored"
            );
        });
    });
}
