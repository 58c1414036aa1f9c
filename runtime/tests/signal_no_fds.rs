//! A signal listener that cannot register for lack of fds waits and tries
//! again; its stream does not end, and it still receives the signals sent
//! meanwhile. Alone in its binary: it lowers the
//! process's fd limit for a moment.

use sockwq_test_support as support;

use std::os::fd::AsRawFd;
use std::time::Duration;

use sockwq_runtime::block_on;
use sockwq_runtime::signal::unix::{SignalKind, signal};
use sockwq_runtime::time::timeout;

use support::with_watchdog;

fn nofile() -> libc::rlimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is valid storage for the limit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim
}

fn set_nofile(lim: libc::rlimit) {
    // SAFETY: a valid limit, not above the hard limit it came with.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

#[test]
fn a_listener_out_of_fds_keeps_waiting_and_still_receives() {
    with_watchdog(30, || {
        block_on(async {
            let mut sig = signal(SignalKind::user_defined2()).unwrap();
            let saved = nofile();
            // The lowest free fd: with the soft limit there, no new fd can
            // be made (the listener's first wait needs one).
            let lowest_free = std::fs::File::open("/dev/null").unwrap().as_raw_fd();
            set_nofile(libc::rlimit {
                rlim_cur: lowest_free as libc::rlim_t,
                rlim_max: saved.rlim_max,
            });
            let starved = std::fs::File::open("/dev/null").map(drop);
            let out_of_fds = timeout(Duration::from_millis(300), sig.recv()).await;
            // Still out of fds: a delivery is read from the signalfd itself
            // (no new fd needed) at the next retry.
            // SAFETY: kill with our own pid and a valid signal number.
            assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) }, 0);
            let while_starved = timeout(Duration::from_secs(5), sig.recv()).await;
            let still_starved = std::fs::File::open("/dev/null").map(drop);
            set_nofile(saved);
            let e = starved.expect_err("the lowered limit let a new fd through");
            assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
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
