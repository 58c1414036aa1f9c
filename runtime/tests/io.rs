//! Runtime with real sockets: the cooperative budget against a task that
//! never stops yielding, cancellation closing sockets, prompt shutdown
//! with tasks blocked on IO, and a `run_per_core` SO_REUSEPORT echo server.

use sockwq_test_support as support;

use std::future::poll_fn;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use sockwq_reactor::Async;
use sockwq_runtime::{Runtime, spawn, spawn_local, time};

use support::with_watchdog;

async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

async fn echo(mut s: Async<UnixStream>) -> std::io::Result<u64> {
    let mut buf = [0u8; 256];
    let mut total = 0;
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        s.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

/// Waits (bounded) until `peer` sees end-of-file: the other end was closed.
fn assert_peer_closed(peer: &mut UnixStream) {
    peer.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut b = [0u8; 16];
    match peer.read(&mut b) {
        Ok(0) => {}
        Ok(n) => panic!("read {n} bytes, expected EOF"),
        Err(e) => panic!("expected EOF (the task's socket closed), got {e}"),
    }
}

#[test]
fn yielding_task_does_not_starve_an_echo_on_the_same_worker() {
    with_watchdog(60, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let spins = Arc::new(AtomicUsize::new(0));
        let (st, sp) = (stop.clone(), spins.clone());
        let spinner = rt.spawn(async move {
            let start = Instant::now();
            // Always ready: yields in a tight loop (bounded in time).
            while !st.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(30) {
                sp.fetch_add(1, Ordering::Relaxed);
                yield_now().await;
            }
        });
        let (a, mut client) = UnixStream::pair().unwrap();
        let server = rt.spawn(async move { echo(Async::new(a)?).await });
        client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        for i in 0..200u32 {
            let msg = i.to_le_bytes();
            client.write_all(&msg).unwrap();
            let mut back = [0u8; 4];
            client
                .read_exact(&mut back)
                .expect("echo starved by the yielding task");
            assert_eq!(back, msg);
        }
        assert!(spins.load(Ordering::Relaxed) > 0, "the spinner never ran");
        stop.store(true, Ordering::Relaxed);
        drop(client);
        assert_eq!(rt.block_on(server).unwrap().unwrap(), 800);
        rt.block_on(spinner).unwrap();
    });
}

#[test]
fn abort_of_a_task_holding_a_socket_closes_it() {
    with_watchdog(30, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let (a, mut peer) = UnixStream::pair().unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let h = rt.spawn(async move {
            let mut a = Async::new(a).unwrap();
            started_tx.send(()).unwrap();
            let mut b = [0u8; 1];
            // Blocks: the peer never writes.
            let _ = a.read(&mut b).await;
        });
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        h.abort();
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
        // The future was dropped before the handle returned: fd closed.
        assert_peer_closed(&mut peer);
    });
}

#[test]
fn runtime_drop_with_tasks_blocked_on_io_is_prompt_and_closes_sockets() {
    with_watchdog(30, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let mut peers = Vec::new();
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let (a, peer) = UnixStream::pair().unwrap();
            peers.push(peer);
            let started = started.clone();
            drop(rt.spawn(async move {
                let mut a = Async::new(a).unwrap();
                started.fetch_add(1, Ordering::SeqCst);
                let mut b = [0u8; 1];
                let _ = a.read(&mut b).await;
            }));
        }
        let t = Instant::now();
        while started.load(Ordering::SeqCst) < 100 && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(started.load(Ordering::SeqCst), 100);
        let t = Instant::now();
        drop(rt);
        let took = t.elapsed();
        assert!(took < Duration::from_secs(5), "drop took {took:?}");
        for p in &mut peers {
            assert_peer_closed(p);
        }
    });
}

#[test]
fn block_on_owns_sockets_of_its_thread() {
    with_watchdog(30, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        rt.block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            // Served by a local task of this thread, and by a worker.
            let local = spawn_local(echo(Async::new(a).unwrap()));
            let mut b = Async::new(b).unwrap();
            b.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 5];
            b.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hello");
            drop(b);
            assert_eq!(local.await.unwrap().unwrap(), 5);

            let (a, b) = UnixStream::pair().unwrap();
            let remote = spawn(async move { echo(Async::new(a)?).await });
            let mut b = Async::new(b).unwrap();
            b.write_all(b"world!").await.unwrap();
            let mut buf = [0u8; 6];
            b.read_exact(&mut buf).await.unwrap();
            drop(b);
            assert_eq!(remote.await.unwrap().unwrap(), 6);
        });
    });
}

fn reuseport_listener(addr: SocketAddr) -> TcpListener {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    s.set_reuse_address(true).unwrap();
    s.set_reuse_port(true).unwrap();
    s.bind(&addr.into()).unwrap();
    s.listen(1024).unwrap();
    s.into()
}

#[test]
fn run_per_core_reuseport_echo_server() {
    with_watchdog(60, || {
        const CONNS: usize = 200;
        const MSGS: usize = 5;
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let first = reuseport_listener("127.0.0.1:0".parse().unwrap());
        let addr = first.local_addr().unwrap();
        let second = reuseport_listener(addr);
        let listeners = Arc::new(Mutex::new(vec![Some(first), Some(second)]));
        let stop = Arc::new(AtomicBool::new(false));

        let clients = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let threads: Vec<_> = (0..4)
                    .map(|t| {
                        std::thread::spawn(move || {
                            for c in 0..CONNS / 4 {
                                let mut s = TcpStream::connect(addr).unwrap();
                                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                                s.set_nodelay(true).unwrap();
                                for m in 0..MSGS {
                                    let mut msg = [0u8; 64];
                                    msg[..8].copy_from_slice(
                                        &((t * 1_000_000 + c * 100 + m) as u64).to_le_bytes(),
                                    );
                                    s.write_all(&msg).unwrap();
                                    let mut back = [0u8; 64];
                                    s.read_exact(&mut back).unwrap();
                                    assert_eq!(back, msg);
                                }
                            }
                        })
                    })
                    .collect();
                let ok = threads.into_iter().all(|t| t.join().is_ok());
                stop.store(true, Ordering::SeqCst);
                ok
            })
        };

        let served = rt.run_per_core(move |worker| {
            let listener = listeners.lock().unwrap()[worker].take().unwrap();
            let stop = stop.clone();
            async move {
                // Created on this worker: registered with its reactor.
                let listener = Async::new(listener).unwrap();
                let mut conns = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let accepted =
                        time::timeout(Duration::from_millis(20), listener.read_with(|l| l.accept())).await;
                    let Ok(res) = accepted else { continue };
                    let (s, _) = res.unwrap();
                    s.set_nodelay(true).unwrap();
                    conns.push(spawn_local(async move {
                        let mut s = Async::new(s)?;
                        let mut buf = [0u8; 64];
                        loop {
                            let n = s.read(&mut buf).await?;
                            if n == 0 {
                                return Ok::<_, std::io::Error>(());
                            }
                            s.write_all(&buf[..n]).await?;
                        }
                    }));
                }
                let n = conns.len();
                for c in conns {
                    c.await.unwrap().unwrap();
                }
                n
            }
        });
        assert!(clients.join().unwrap(), "a client failed");
        assert_eq!(served.iter().sum::<usize>(), CONNS, "{served:?}");
        assert!(
            served.iter().all(|&n| n > 0),
            "a worker served nothing: {served:?}"
        );
    });
}

#[test]
fn yielding_block_on_future_does_not_starve_its_own_sockets() {
    with_watchdog(60, || {
        sockwq_runtime::block_on(async {
            let (a, client) = UnixStream::pair().unwrap();
            let server = spawn_local(echo(Async::new(a).unwrap()));
            let done = Arc::new(AtomicBool::new(false));
            let d = done.clone();
            let t = std::thread::spawn(move || {
                let mut client = client;
                client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                for i in 0..100u32 {
                    client.write_all(&i.to_le_bytes()).unwrap();
                    let mut back = [0u8; 4];
                    client
                        .read_exact(&mut back)
                        .expect("echo starved by the main future");
                    assert_eq!(back, i.to_le_bytes());
                }
                d.store(true, Ordering::SeqCst);
            });
            // The main future is always ready: it yields in a tight loop.
            let start = Instant::now();
            while !done.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(30) {
                yield_now().await;
            }
            t.join().unwrap();
            assert_eq!(server.await.unwrap().unwrap(), 400);
        });
    });
}
