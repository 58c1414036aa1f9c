//! A registration whose `EPOLL_CTL_DEL` fails must not free its source
//! while the epoll instance lives: the kernel may still report its token.
//!
//! The scenario (the contract of the `unsafe` `Handle::register` broken on
//! purpose, to test the reactor's defence): register `a` while a `dup` of
//! it lives, close `a`, drop the registration. The delete fails with
//! `EBADF`, yet the epoll entry survives (the dup keeps the file open), so
//! a write by the peer makes the next turn dispatch that token.

use sockwq_test_support as support;

use std::io::Write;
use std::time::Duration;

use sockwq_reactor::Reactor;

use support::{pair, with_watchdog};

const ZERO: Option<Duration> = Some(Duration::ZERO);

#[test]
fn a_failed_delete_keeps_the_source_and_no_event_goes_astray() {
    with_watchdog(30, || {
        let mut r = Reactor::new().unwrap();
        let (a, mut peer) = pair();
        let dup = a.try_clone().unwrap();
        // SAFETY: deliberately broken: `a` is closed below while its
        // registration lives (`dup` keeps the file open). The contract forbids
        // this; the test checks that the reactor still stays memory-safe.
        let reg = unsafe { r.handle().register(&a) }.unwrap();
        r.turn(ZERO).unwrap();
        drop(a);
        let err = reg.deregister().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
        // Two turns: a source that went through the grace period is freed by now.
        r.turn(ZERO).unwrap();
        r.turn(ZERO).unwrap();

        // Fresh registrations, whose sources would take the freed memory.
        let others: Vec<_> = (0..64)
            .map(|_| {
                let (c, d) = pair();
                // SAFETY: `c` outlives the registration: the tuple drops its
                // fields in order, the registration first.
                let reg = unsafe { r.handle().register(&c) }.unwrap();
                (reg, c, d)
            })
            .collect();
        // Their own first events (writable); nothing is readable.
        for _ in 0..3 {
            r.turn(ZERO).unwrap();
        }
        assert!(others.iter().all(|(reg, ..)| !reg.readiness().is_readable()));
        let before = r.stats().events;

        // The stale epoll entry fires with the old token.
        peer.write_all(b"x").unwrap();
        for _ in 0..50 {
            if r.stats().events > before {
                break;
            }
            r.turn(Some(Duration::from_millis(100))).unwrap();
        }
        assert!(
            r.stats().events > before,
            "the surviving epoll entry reported nothing"
        );
        for (i, (reg, ..)) in others.iter().enumerate() {
            assert!(
                !reg.readiness().is_readable(),
                "socket {i} (fd {}) became readable from another socket's event",
                reg.fd()
            );
        }
        let s = r.stats();
        assert_eq!(s.failed_deregistrations, 1, "{s:?}");
        assert_eq!(s.deferred_releases, 0, "the source was freed: {s:?}");
        drop(others);
        drop(r);
        drop(dup);
    });
}
