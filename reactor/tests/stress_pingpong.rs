//! Lost-wakeup stress: two threads ping-pong one byte over a socketpair,
//! each on its own executor, through a reactor turned by a third thread
//! (the thread driver). Every round trip is two cross-thread wakes; a
//! single lost wakeup stalls the exchange, and the watchdog fails the test
//! instead of letting it hang.
//!
//! `SOCKWQ_STRESS_ROUNDS` overrides the number of round trips (default
//! 200,000 per test).

use sockwq_test_support as support;

use std::future::Future;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use sockwq_reactor::{Async, Interest, Stats};

use support::Driver;

fn rounds() -> u64 {
    std::env::var("SOCKWQ_STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

/// Ping-pongs `total` round trips over a socketpair registered with a
/// reactor turned by its own thread: `pinger` drives one end and stores
/// the round trips done in its counter, `ponger` the other end, each on
/// its own thread and executor. Fails if that count stalls for 30 s, or
/// ends short of `total`. Returns the reactor's stats.
fn ping_pong<P, Q>(
    total: u64,
    pinger: impl FnOnce(Async<UnixStream>, Arc<AtomicU64>) -> P + Send + 'static,
    ponger: impl FnOnce(Async<UnixStream>) -> Q + Send + 'static,
) -> Stats
where
    P: Future<Output = ()>,
    Q: Future<Output = ()>,
{
    let driver = Driver::start(Duration::from_millis(50));
    let (a, b) = UnixStream::pair().unwrap();
    let a = Async::with_handle(a, &driver.handle).unwrap();
    let b = Async::with_handle(b, &driver.handle).unwrap();
    let progress = Arc::new(AtomicU64::new(0));
    let p = progress.clone();
    let ta = thread::spawn(move || futures::executor::block_on(pinger(a, p)));
    let tb = thread::spawn(move || futures::executor::block_on(ponger(b)));
    let mut last = 0;
    let mut since = Instant::now();
    loop {
        thread::sleep(Duration::from_millis(100));
        let p = progress.load(Ordering::Relaxed);
        if ta.is_finished() && tb.is_finished() {
            break;
        }
        if p != last {
            last = p;
            since = Instant::now();
        } else if since.elapsed() > Duration::from_secs(30) {
            panic!("stalled at round {p} of {total} for 30 s: a wakeup was lost");
        }
    }
    ta.join().expect("pinger panicked");
    tb.join().expect("ponger panicked");
    assert_eq!(progress.load(Ordering::Relaxed), total);
    driver.stop().stats()
}

/// The `poll_read`/`poll_write` path: per-direction waker slots.
#[test]
fn ping_pong_through_waker_slots() {
    let n = rounds();
    let stats = ping_pong(
        n,
        move |mut a, p| async move {
            let mut buf = [0u8; 1];
            for i in 0..n {
                a.write_all(&[i as u8]).await.unwrap();
                a.read_exact(&mut buf).await.unwrap();
                assert_eq!(buf[0], (i as u8).wrapping_add(1));
                p.store(i + 1, Ordering::Relaxed);
            }
        },
        move |mut b| async move {
            let mut buf = [0u8; 1];
            for _ in 0..n {
                b.read_exact(&mut buf).await.unwrap();
                b.write_all(&[buf[0].wrapping_add(1)]).await.unwrap();
            }
        },
    );
    assert!(
        stats.wakeups >= n,
        "expected at least one wake per round trip: {stats:?}"
    );
}

/// Reads `buf.len()` bytes waiting with `readable()` futures: each wait
/// joins and leaves the RCU wait queue (two `ArcSwap` stores).
async fn read_exact_via_futures(io: &Async<UnixStream>, buf: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match io
            .source()
            .try_io(Interest::READABLE, || io.get_ref().read(&mut buf[got..]))
        {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                io.readable().await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The readiness-future path: the `SocketWq` behind `ArcSwap`.
#[test]
fn ping_pong_through_rcu_wait_queue() {
    let n = rounds() / 2;
    let stats = ping_pong(
        n,
        move |a, p| async move {
            let mut buf = [0u8; 4];
            for i in 0..n {
                a.get_ref().write_all(&(i as u32).to_le_bytes()).unwrap();
                read_exact_via_futures(&a, &mut buf).await.unwrap();
                assert_eq!(u32::from_le_bytes(buf), i as u32 ^ 0xffff_ffff);
                p.store(i + 1, Ordering::Relaxed);
            }
        },
        move |b| async move {
            let mut buf = [0u8; 4];
            for _ in 0..n {
                read_exact_via_futures(&b, &mut buf).await.unwrap();
                let v = u32::from_le_bytes(buf) ^ 0xffff_ffff;
                b.get_ref().write_all(&v.to_le_bytes()).unwrap();
            }
        },
    );
    assert!(stats.rcu_updates > 0, "{stats:?}");
}
