//! Runtime: no fd leaks. Counts `/proc/self/fd`, so this file holds a single
//! test (test binaries run in their own process; tests of one binary run
//! concurrently and would disturb the count).

use sockwq_test_support as support;

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::io::AsyncReadExt;
use sockwq_reactor::Async;
use sockwq_runtime::{Runtime, time};

use support::{open_fds, with_watchdog};

/// Polls (bounded) until the fd count is `want`; returns the last count.
fn wait_for_fds(want: usize) -> usize {
    let start = Instant::now();
    loop {
        let n = open_fds();
        if n == want || start.elapsed() > Duration::from_secs(10) {
            return n;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn abort_and_shutdown_close_every_fd() {
    with_watchdog(60, || {
        let before_rt = open_fds();
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        // Two reactors: an epoll fd and an eventfd each.
        assert_eq!(wait_for_fds(before_rt + 4), before_rt + 4);
        let base = open_fds();

        // A task that creates and holds sockets, blocked on a read.
        let (ready_tx, ready_rx) = mpsc::channel();
        let h = rt.spawn(async move {
            let (a, b) = UnixStream::pair().unwrap();
            let mut a = Async::new(a).unwrap();
            let _b = b;
            ready_tx.send(()).unwrap();
            let mut buf = [0u8; 1];
            let _ = a.read(&mut buf).await;
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(open_fds(), base + 2);
        h.abort();
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
        assert_eq!(wait_for_fds(base), base, "abort leaked the task's sockets");

        // Many tasks holding sockets, some on timers, then the runtime drops.
        let mut peers = Vec::new();
        for i in 0..50 {
            let (a, peer) = UnixStream::pair().unwrap();
            peers.push(peer);
            drop(rt.spawn(async move {
                let mut a = Async::new(a).unwrap();
                if i % 2 == 0 {
                    time::sleep(Duration::from_secs(3600)).await;
                }
                let mut buf = [0u8; 1];
                let _ = a.read(&mut buf).await;
            }));
        }
        rt.block_on(time::sleep(Duration::from_millis(20)));
        drop(rt);
        for p in &mut peers {
            p.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            assert_eq!(
                p.read(&mut [0u8; 1]).unwrap(),
                0,
                "a task's socket outlived the runtime"
            );
        }
        drop(peers);
        assert_eq!(wait_for_fds(before_rt), before_rt, "the runtime leaked fds");
    });
}
