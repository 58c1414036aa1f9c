//! The IO budget on sockwq's own runtime: a task reading a socket that is
//! always ready yields after `coop::BUDGET` operations, so a `spawn_local`
//! task queued behind it runs promptly.

use std::cell::Cell;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use futures_util::AsyncReadExt;
use sockwq_reactor::{Async, coop};
use sockwq_test_support::with_watchdog;

/// Bytes queued before the reader starts; read one at a time, each read is
/// ready at once: without a budget the reader would never yield.
const QUEUED: usize = 50_000;

#[test]
fn always_ready_reader_yields_to_a_spawn_local_task() {
    let seen = with_watchdog(60, || {
        sockwq_runtime::block_on(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            b.write_all(&vec![7u8; QUEUED]).unwrap();
            let mut a = Async::new(a).unwrap();
            let reads = Rc::new(Cell::new(0usize));
            let r = reads.clone();
            let reader = sockwq_runtime::spawn_local(async move {
                let mut byte = [0u8; 1];
                // The first read waits for the reactor; from here on the
                // socket is ready for every read.
                assert_eq!(a.read(&mut byte).await.unwrap(), 1);
                r.set(r.get() + 1);
                // Queued behind the reader: runs when the reader yields.
                let r2 = r.clone();
                let other = sockwq_runtime::spawn_local(async move { r2.get() });
                for _ in 1..QUEUED {
                    assert_eq!(a.read(&mut byte).await.unwrap(), 1);
                    r.set(r.get() + 1);
                }
                // (Returned wrapped: the reader's output is a join handle.)
                Some(other)
            });
            let other = reader.await.unwrap().unwrap();
            assert_eq!(reads.get(), QUEUED);
            other.await.unwrap()
        })
    });
    // The reader was polled first and yielded once its budget was spent.
    assert!(
        seen <= coop::BUDGET as usize,
        "the other task ran only after {seen} reads (budget {})",
        coop::BUDGET
    );
    assert!(seen > 0);
}
