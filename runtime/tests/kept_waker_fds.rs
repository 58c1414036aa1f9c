//! A socket whose reactor lives on keeps, in its waker slot, the waker of
//! the last task (or `block_on`) that waited on it: that waker must not
//! keep the epoll fd and eventfd of a core that is gone. Counts
//! `/proc/self/fd`, so this file holds a single test.

use sockwq_test_support as support;

use std::future::poll_fn;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use sockwq_reactor::Async;
use sockwq_runtime::{Runtime, block_on};

use support::{open_fds, with_watchdog};

/// Waits until `a` is readable: pending first (so its read slot keeps
/// this waker), then a byte written by another thread wakes it. Reads the
/// byte and clears the readiness, for the next call to wait again.
async fn wait_readable(a: &Async<UnixStream>, b: &UnixStream) {
    let (armed_tx, armed_rx) = mpsc::channel::<()>();
    let b = b.try_clone().unwrap();
    let writer = thread::spawn(move || {
        armed_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the reader never armed");
        (&b).write_all(b"x").unwrap();
    });
    let mut told = false;
    let ev = poll_fn(|cx| {
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
    writer.join().unwrap();
    let mut buf = [0u8; 2];
    assert_eq!(a.get_ref().read(&mut buf).unwrap(), 1);
    let again = a.get_ref().read(&mut buf).unwrap_err();
    assert_eq!(again.kind(), std::io::ErrorKind::WouldBlock);
    a.source().clear_readiness(ev);
}

#[test]
fn a_kept_waker_keeps_no_fd_of_a_core_that_is_gone() {
    with_watchdog(30, || {
        // Created once per process: the global reactor and its thread.
        block_on(async {});
        // On the global reactor, which outlives every core below.
        let (a1, b1) = UnixStream::pair().unwrap();
        let a1 = Async::new(a1).unwrap();
        let (a2, b2) = UnixStream::pair().unwrap();
        let a2 = Async::new(a2).unwrap();
        let before = open_fds();

        // A free block_on: its core (an epoll fd and an eventfd) is gone
        // when it returns; `a1`'s slot still holds its main future's waker.
        block_on(wait_readable(&a1, &b1));
        assert_eq!(open_fds(), before, "a finished block_on's fds are kept open");

        // A runtime's task: its waker stays in `a2`'s slot after the
        // runtime is dropped.
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let (a2, b2) = rt
            .block_on(rt.spawn(async move {
                wait_readable(&a2, &b2).await;
                (a2, b2)
            }))
            .unwrap();
        drop(rt);
        assert_eq!(open_fds(), before, "a dropped runtime's worker fds are kept open");
        drop((a1, b1, a2, b2));
    });
}
