//! Round trips between sockwq sockets whose tasks run on different tokio
//! worker threads: the dispatching thread (the one in tokio's IO driver)
//! and the woken task's thread differ all the time. A lost wake-up stalls
//! a ping-pong for good, which the progress watchdog turns into a failure.
//!
//! The default run is 200,000 round trips (debug builds are slow);
//! `SOCKWQ_ROUNDTRIPS=1000000 cargo test --release --test tokio_roundtrips`
//! runs the full million.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sockwq::net::{TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PAIRS: u64 = 8;

fn total() -> u64 {
    std::env::var("SOCKWQ_ROUNDTRIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

#[test]
fn round_trips_across_worker_threads() {
    let total = total();
    let per_pair = total.div_ceil(PAIRS);
    let done = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicBool::new(false));

    // Progress watchdog: fails the test if no round trip completes for 20 s.
    let watchdog = {
        let (done, finished) = (done.clone(), finished.clone());
        std::thread::spawn(move || {
            let mut last = 0;
            let mut since = Instant::now();
            while !finished.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(100));
                let now = done.load(Ordering::Relaxed);
                if now != last {
                    (last, since) = (now, Instant::now());
                } else if since.elapsed() > Duration::from_secs(20) {
                    eprintln!("watchdog: stuck at {now} round trips (lost wake-up)");
                    std::process::exit(101);
                }
            }
        })
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for p in 0..PAIRS {
            let done = done.clone();
            tasks.spawn(async move {
                let mut c = TcpStream::connect(addr).await.unwrap();
                c.set_nodelay(true).unwrap();
                let mut buf = [0u8; 8];
                for i in 0..per_pair {
                    let msg = (p << 56 | i).to_le_bytes();
                    c.write_all(&msg).await.unwrap();
                    c.read_exact(&mut buf).await.unwrap();
                    assert_eq!(buf, msg);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        for _ in 0..PAIRS {
            let (mut s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            tasks.spawn(async move {
                let mut buf = [0u8; 8];
                for _ in 0..per_pair {
                    s.read_exact(&mut buf).await.unwrap();
                    s.write_all(&buf).await.unwrap();
                }
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
    });
    finished.store(true, Ordering::Release);
    watchdog.join().unwrap();
    let n = done.load(Ordering::Relaxed);
    assert_eq!(n, per_pair * PAIRS);
    eprintln!("{n} round trips in {:?}", start.elapsed());
}
