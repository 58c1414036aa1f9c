//! sockwq IO polled from a tokio task spends tokio's coop budget: a task
//! reading a socket that is always ready does not starve another task on a
//! current_thread runtime.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sockwq_test_support::with_watchdog;
use tokio::io::AsyncReadExt;

/// Bytes queued before the reader starts; read one at a time, each read is
/// ready at once: without a budget the reader would never yield.
const QUEUED: usize = 50_000;

#[test]
fn always_ready_reader_does_not_starve_another_task() {
    let seen = with_watchdog(60, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
            b.write_all(&vec![7u8; QUEUED]).unwrap();
            a.set_nonblocking(true).unwrap();
            let mut a = sockwq::net::UnixStream::from_std(a).unwrap();
            let reads = Arc::new(AtomicUsize::new(0));
            let r = reads.clone();
            let reader = tokio::spawn(async move {
                let mut byte = [0u8; 1];
                // The first read waits for the reactor; from here on the
                // socket is ready for every read.
                assert_eq!(a.read(&mut byte).await.unwrap(), 1);
                r.fetch_add(1, Ordering::Relaxed);
                // Queued behind the reader: runs when the reader yields.
                let r2 = r.clone();
                let other = tokio::spawn(async move { r2.load(Ordering::Relaxed) });
                for _ in 1..QUEUED {
                    assert_eq!(a.read(&mut byte).await.unwrap(), 1);
                    r.fetch_add(1, Ordering::Relaxed);
                }
                // (Returned wrapped: the reader's output is a join handle.)
                Some(other)
            });
            let other = reader.await.unwrap().unwrap();
            assert_eq!(reads.load(Ordering::Relaxed), QUEUED);
            other.await.unwrap()
        })
    });
    // tokio's budget is 128 units per task poll.
    assert!(seen <= 128, "the other task ran only after {seen} reads");
    assert!(seen > 0);
}
