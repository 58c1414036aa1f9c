//! 1,000 concurrent connections echoing at once under a tokio multi_thread
//! runtime, then connection churn (accept + close, one after another), and
//! no fd leak once everything is dropped. (Alone in its test binary: it
//! counts the process's fds.)
#![cfg(feature = "tokio")] // drives sockwq sockets through tokio's AsyncRead/AsyncWrite

use sockwq_test_support as support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sockwq_net::{TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONNS: usize = 1000;
const ROUNDS: usize = 8;
const MSG: usize = 512;

async fn echo_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (c, a) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let (mut c, (mut a, _)) = (c.unwrap(), a.unwrap());
    c.write_all(b"warm").await.unwrap();
    let mut buf = [0u8; 4];
    a.read_exact(&mut buf).await.unwrap();
}

async fn run() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut echoes = Vec::with_capacity(CONNS);
        for _ in 0..CONNS {
            let (mut s, _) = listener.accept().await.unwrap();
            echoes.push(tokio::spawn(async move {
                let (mut rd, mut wr) = s.split();
                tokio::io::copy(&mut rd, &mut wr).await.unwrap()
            }));
        }
        let mut total = 0;
        for e in echoes {
            total += e.await.unwrap();
        }
        total
    });
    let barrier = Arc::new(tokio::sync::Barrier::new(CONNS));
    let clients: Vec<_> = (0..CONNS)
        .map(|i| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                // Everyone connected: now all echo at once.
                barrier.wait().await;
                let mut out = [0u8; MSG];
                let mut back = [0u8; MSG];
                for r in 0..ROUNDS {
                    out.fill((i + r) as u8);
                    s.write_all(&out).await.unwrap();
                    s.read_exact(&mut back).await.unwrap();
                    assert_eq!(out, back);
                }
                s.shutdown().await.unwrap();
                assert_eq!(s.read(&mut back).await.unwrap(), 0);
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    assert_eq!(server.await.unwrap(), (CONNS * ROUNDS * MSG) as u64);
}

/// Connection churn: each cycle registers two sockets (a new RCU wait
/// queue each) and frees them again (grace-period release).
async fn churn(cycles: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    for i in 0..cycles {
        let (c, a) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let (mut c, (mut a, _)) = (c.unwrap(), a.unwrap());
        // Both sides wait once (readable), so waiters join and leave.
        let byte = [i as u8];
        let (w, r) = tokio::join!(c.write_all(&byte), async {
            a.readable().await.unwrap();
            let mut b = [0u8; 1];
            a.read_exact(&mut b).await.map(|_| b[0])
        });
        w.unwrap();
        assert_eq!(r.unwrap(), i as u8);
        if i % 2 == 0 {
            a.set_zero_linger().unwrap(); // some aborts, some FINs
        }
    }
}

#[test]
fn thousand_concurrent_connections_no_fd_leak() {
    support::with_watchdog(120, || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // Warm-up: the global reactor (and its thread and fds) start lazily.
        rt.block_on(echo_once());
        let before = support::open_fds();

        rt.block_on(support::timeout(100, run()));
        rt.block_on(support::timeout(100, churn(2000)));

        // Closes are synchronous on drop; allow a short, bounded grace for
        // tasks that finished but were not yet dropped by the runtime.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut after = support::open_fds();
        while after != before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            after = support::open_fds();
        }
        assert_eq!(before, after, "fds before/after 1,000 connections");
    });
}
