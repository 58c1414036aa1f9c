//! A socket created anywhere inside a `Runtime` (its `block_on`, its
//! workers, or with its handle entered) belongs to the runtime: it works
//! after that `block_on` returns, and fails promptly once the runtime is
//! dropped.

use sockwq_test_support as support;

use std::io::{Read, Write};
use std::net::TcpStream as StdTcpStream;
use std::sync::mpsc;
use std::time::Duration;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use sockwq_net::TcpListener;
use sockwq_runtime::{Runtime, spawn};

use support::with_watchdog;

async fn serve(l: TcpListener) -> std::io::Result<()> {
    loop {
        let (mut s, _) = l.accept().await?;
        spawn(async move {
            let mut buf = [0u8; 64];
            loop {
                let n = s.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<_, std::io::Error>(());
                }
                s.write_all(&buf[..n]).await?;
            }
        });
    }
}

fn echo_round_trip(addr: std::net::SocketAddr, msg: &[u8]) {
    let mut c = StdTcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(msg).unwrap();
    let mut back = vec![0u8; msg.len()];
    c.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
}

/// The most common tokio shape: bind in `block_on`, serve from a task.
#[test]
fn listener_bound_in_block_on_serves_from_a_spawned_task() {
    with_watchdog(30, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let l = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = l.local_addr().unwrap();
        let server = rt.spawn(serve(l));
        for i in 0..20u8 {
            echo_round_trip(addr, &[i; 17]);
        }
        // Another block_on after the first returned: still served.
        let msg = rt.block_on(async move {
            let mut c = sockwq_net::TcpStream::connect(addr).await?;
            c.write_all(b"from block_on").await?;
            let mut buf = [0u8; 13];
            c.read_exact(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        });
        assert_eq!(&msg.unwrap(), b"from block_on");
        assert!(!server.is_finished());
    });
}

/// A socket made in `block_on` and used afterwards from the calling
/// thread's later `block_on`s and from tasks alike.
#[test]
fn stream_connected_in_block_on_is_used_by_a_task_later() {
    with_watchdog(30, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_l.local_addr().unwrap();
        let c = rt.block_on(sockwq_net::TcpStream::connect(addr)).unwrap();
        let (mut peer, _) = std_l.accept().unwrap();
        let reader = rt.spawn(async move {
            let mut c = c;
            let mut buf = [0u8; 5];
            c.read_exact(&mut buf).await.map(|()| buf)
        });
        std::thread::sleep(Duration::from_millis(20));
        peer.write_all(b"hello").unwrap();
        assert_eq!(&rt.block_on(reader).unwrap().unwrap(), b"hello");
    });
}

/// With the runtime's handle entered (no `block_on`), a socket joins the
/// runtime too.
#[test]
fn socket_created_with_the_handle_entered_belongs_to_the_runtime() {
    with_watchdog(30, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_l.set_nonblocking(true).unwrap();
        let l = {
            let _guard = rt.handle().enter();
            TcpListener::from_std(std_l).unwrap()
        };
        let addr = l.local_addr().unwrap();
        let _server = rt.spawn(serve(l));
        echo_round_trip(addr, b"entered");
    });
}

/// Dropping the runtime shuts its reactors down: a pending accept on a
/// listener made in `block_on` wakes with an error, and later calls fail
/// at once, instead of hanging.
#[test]
fn socket_from_block_on_fails_promptly_after_the_runtime_is_dropped() {
    with_watchdog(30, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let l = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let l2 = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            futures::executor::block_on(async {
                let accept = l.accept();
                futures_util::pin_mut!(accept);
                // Polled once (pending) before the runtime goes away.
                assert!(futures_util::poll!(accept.as_mut()).is_pending());
                started_tx.send(()).unwrap();
                accept.await.map(|_| ())
            })
        });
        started_rx.recv().unwrap();
        drop(rt);
        let err = waiter.join().unwrap().unwrap_err();
        assert!(err.to_string().contains("shut down"), "{err}");
        let err = futures::executor::block_on(l2.accept()).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("shut down"), "{err}");
    });
}
