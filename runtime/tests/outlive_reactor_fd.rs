//! A registration that outlives its reactor must not keep the reactor's
//! epoll fd and eventfd open once it is dropped. Counts `/proc/self/fd`,
//! so this file holds a single test.
//!
//! The cycle this guards against: the source's read slot keeps the waker
//! of `block_on`'s main future, whose core holds the reactor's `Handle`;
//! a deregistration queued for a grace period that no turn will end would
//! put the source in the reactor's own release list.

use sockwq_test_support as support;

use std::future::poll_fn;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use sockwq_reactor::Async;
use sockwq_runtime::block_on;

use support::{open_fds, with_watchdog};

#[test]
fn a_socket_returned_from_block_on_leaves_no_fd_behind() {
    with_watchdog(30, || {
        // Anything created once per process (the global reactor is not used).
        block_on(async {});
        let before = open_fds();

        let (a, b) = UnixStream::pair().unwrap();
        let (armed_tx, armed_rx) = mpsc::channel::<()>();
        let writer = thread::spawn(move || {
            armed_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("the reader never armed");
            (&b).write_all(b"x").unwrap();
            b
        });
        let a = block_on(async move {
            let a = Async::new(a).unwrap();
            let mut told = false;
            // Pending first, so the read slot keeps this block_on's waker;
            // then the writer's byte wakes it.
            poll_fn(|cx| {
                let r = a.poll_readable(cx);
                if r.is_pending() && !told {
                    armed_tx.send(()).unwrap();
                    told = true;
                }
                r
            })
            .await
            .unwrap();
            assert!(told, "the slot was never armed: the test proves nothing");
            a
        });
        let b = writer.join().unwrap();
        // The reactor is gone; the registration lives on.
        assert!(a.source().is_shutdown());
        assert_eq!(open_fds(), before + 4, "a, b, the epoll fd, the eventfd");
        drop(a);
        drop(b);
        assert_eq!(
            open_fds(),
            before,
            "the dropped reactor's epoll fd and eventfd leaked"
        );
    });
}
