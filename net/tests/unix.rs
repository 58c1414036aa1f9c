//! Unix-domain sockets: stream echo (futures executor and tokio), abstract
//! names, pair, peer_cred, split halves across threads, std interop, peer
//! close, datagram echo, truncation, errors.

use sockwq_test_support as support;

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use sockwq_net::unix::{SocketAddr, UCred};
use sockwq_net::{UnixDatagram, UnixListener, UnixStream};

use support::{assert_would_block, block_on, retry_would_block};

/// Seconds a test may take: a hang fails it instead of hanging the suite.
const T: u64 = 30;
const LIMIT: Duration = Duration::from_secs(T);

/// A fresh abstract name, unique in this process and across processes.
fn abstract_name(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "\0sockwq-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh filesystem path in the temp dir (removed if present).
fn temp_path(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let p = std::env::temp_dir().join(format!(
        "sockwq-test-{tag}-{}-{}.sock",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&p);
    p
}

async fn echo_once(listener: UnixListener) -> io::Result<()> {
    let (mut s, _) = listener.accept().await?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return s.close().await;
        }
        s.write_all(&buf[..n]).await?;
    }
}

#[test]
fn stream_echo_pathname_block_on() {
    block_on(T, async {
        let path = temp_path("echo");
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
        let server = std::thread::spawn(move || futures::executor::block_on(echo_once(listener)));

        let mut c = UnixStream::connect(&path).await.unwrap();
        assert!(c.local_addr().unwrap().is_unnamed());
        assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
        let msg: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let mut got = vec![0u8; msg.len()];
        // Bounded: 10 rounds of 100 kB each way.
        for _ in 0..10 {
            let (w, r) = futures::join!(c.write_all(&msg), async {
                // Read with a second borrow: go through the fd-level try API.
                Ok::<(), io::Error>(())
            });
            w.unwrap();
            r.unwrap();
            c.read_exact(&mut got).await.unwrap();
            assert_eq!(got, msg);
        }
        c.close().await.unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        server.join().unwrap().unwrap();
        std::fs::remove_file(&path).unwrap();
    });
}

#[cfg(feature = "tokio")]
mod tokio_traits {
    //! The same echo through tokio's `AsyncRead`/`AsyncWrite`.
    use super::{LIMIT, abstract_name};
    use sockwq_net::{UnixListener, UnixStream};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn stream_echo_under_tokio_traits() {
        tokio::time::timeout(LIMIT, async {
            let name = abstract_name("tokio-echo");
            let listener = UnixListener::bind(&name).unwrap();
            let server = tokio::spawn(async move {
                let (mut s, peer) = listener.accept().await.unwrap();
                assert!(peer.is_unnamed());
                let mut buf = [0u8; 1024];
                loop {
                    let n = s.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n]).await.unwrap();
                }
                s.shutdown().await.unwrap();
            });
            let mut c = UnixStream::connect(&name).await.unwrap();
            for i in 0..100u32 {
                let msg = format!("message {i}");
                c.write_all(msg.as_bytes()).await.unwrap();
                let mut got = vec![0u8; msg.len()];
                c.read_exact(&mut got).await.unwrap();
                assert_eq!(got, msg.as_bytes());
            }
            c.shutdown().await.unwrap();
            let mut rest = Vec::new();
            c.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty());
            server.await.unwrap();
        })
        .await
        .expect("timed out");
    }
}

#[test]
fn abstract_namespace_bind_connect_and_addresses() {
    block_on(T, async {
        let name = abstract_name("abs");
        let listener = UnixListener::bind(&name).unwrap();
        let local = listener.local_addr().unwrap();
        assert_eq!(local.as_abstract_name(), Some(name.as_bytes()[1..].as_ref()));
        assert!(local.as_pathname().is_none() && !local.is_unnamed());

        // Via an explicit address, too.
        let addr = SocketAddr::from_abstract_name(&name.as_bytes()[1..]).unwrap();
        let (c1, c2) = futures::join!(UnixStream::connect(&name), UnixStream::connect_addr(&addr));
        let (c1, c2) = (c1.unwrap(), c2.unwrap());
        let (s1, _) = listener.accept().await.unwrap();
        let (s2, _) = listener.accept().await.unwrap();
        for c in [&c1, &c2] {
            let peer = c.peer_addr().unwrap();
            assert_eq!(peer.as_abstract_name(), Some(name.as_bytes()[1..].as_ref()));
        }
        for s in [&s1, &s2] {
            assert_eq!(
                s.local_addr().unwrap().as_abstract_name(),
                Some(name.as_bytes()[1..].as_ref())
            );
        }

        // A second bind to the same abstract name is refused.
        let err = UnixListener::bind(&name).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        // The name is free again once the listener is gone.
        drop(listener);
        let again = UnixListener::bind(&name).unwrap();
        drop(again);
    });
}

#[test]
fn pair_and_peer_cred() {
    block_on(T, async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        assert!(a.local_addr().unwrap().is_unnamed());
        assert!(a.peer_addr().unwrap().is_unnamed());
        let cred: UCred = a.peer_cred().unwrap();
        // SAFETY: getuid/getgid cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        assert_eq!(cred.uid(), uid);
        assert_eq!(cred.gid(), gid);
        assert_eq!(cred.pid(), Some(std::process::id() as i32));

        a.write_all(b"ab").await.unwrap();
        let mut buf = [0u8; 2];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ab");

        // peer_cred over a real connection (abstract listener).
        let name = abstract_name("cred");
        let l = UnixListener::bind(&name).unwrap();
        let c = UnixStream::connect(&name).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        assert_eq!(s.peer_cred().unwrap(), c.peer_cred().unwrap());
        assert_eq!(s.peer_cred().unwrap().uid(), uid);
    });
}

#[test]
fn readiness_and_try_io() {
    block_on(T, async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 16];
        // Nothing queued yet.
        assert_would_block(b.try_read(&mut buf));
        a.writable().await.unwrap();
        assert_eq!(a.try_write(b"xyz").unwrap(), 3);
        b.readable().await.unwrap();
        let ready = b
            .ready(sockwq_reactor::Interest::READABLE | sockwq_reactor::Interest::WRITABLE)
            .await
            .unwrap();
        assert!(ready.is_readable() || ready.is_writable());
        // Loop bounded: a readiness may be spurious.
        let n = retry_would_block(|| b.readable(), || b.try_read(&mut buf)).await;
        assert_eq!(&buf[..n], b"xyz");
        // Vectored both ways.
        let w = a
            .try_write_vectored(&[io::IoSlice::new(b"ab"), io::IoSlice::new(b"cd")])
            .unwrap();
        assert_eq!(w, 4);
        b.readable().await.unwrap();
        let (mut x, mut y) = ([0u8; 1], [0u8; 8]);
        let r = b
            .try_read_vectored(&mut [io::IoSliceMut::new(&mut x), io::IoSliceMut::new(&mut y)])
            .unwrap();
        assert_eq!(r, 4);
        assert_eq!((&x[..], &y[..3]), (&b"a"[..], &b"bcd"[..]));
        // try_io / async_io with a raw operation; accepts tokio's Interest.
        a.try_write(b"q").unwrap();
        let n = b
            .async_io(sockwq_reactor::Interest::READABLE, || {
                b.try_io(sockwq_reactor::Interest::READABLE, || {
                    let mut one = [0u8; 1];
                    (&*socket2::SockRef::from(&b)).read(&mut one)
                })
            })
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_would_block(b.try_io(sockwq_reactor::Interest::READABLE, || {
            (&*socket2::SockRef::from(&b)).read(&mut [0u8; 1])
        }));
    });
}

#[test]
fn owned_halves_on_two_threads_and_reunite() {
    let (a, b) = UnixStream::pair().unwrap();
    // `b` echoes on its own thread.
    let echo = std::thread::spawn(move || {
        futures::executor::block_on(async move {
            let (mut r, mut w) = b.into_split();
            futures_util::io::copy(&mut r, &mut w)
                .await
                .map(|_| r.reunite(w).is_ok())
        })
    });

    let (mut r, mut w) = a.into_split();
    const TOTAL: usize = 1 << 20;
    let writer = std::thread::spawn(move || {
        futures::executor::block_on(async move {
            let chunk: Vec<u8> = (0..8192u32).map(|i| (i % 251) as u8).collect();
            let mut sent = 0;
            while sent < TOTAL {
                w.write_all(&chunk).await.unwrap();
                sent += chunk.len();
            }
            w
        })
    });
    let reader = std::thread::spawn(move || {
        futures::executor::block_on(async move {
            let mut got = vec![0u8; TOTAL];
            r.read_exact(&mut got).await.unwrap();
            for (i, b) in got.iter().enumerate() {
                assert_eq!(*b, ((i % 8192) % 251) as u8, "byte {i}");
            }
            r
        })
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let w = writer.join();
        let r = reader.join();
        let _ = tx.send((w, r));
    });
    let (w, r) = rx.recv_timeout(LIMIT).expect("split halves hung");
    let (w, r) = (w.unwrap(), r.unwrap());
    // Reunite; then dropping the stream closes it: the echo side sees EOF.
    let stream = r.reunite(w).expect("same stream");
    drop(stream);
    assert!(echo.join().unwrap().unwrap(), "echo halves reunite");
}

#[test]
fn reunite_mismatch_and_write_half_drop_shuts_down() {
    block_on(T, async {
        let (a, mut a_peer) = UnixStream::pair().unwrap();
        let (b, _b_peer) = UnixStream::pair().unwrap();
        let (ar, aw) = a.into_split();
        let (br, bw) = b.into_split();
        let err = ar.reunite(bw).unwrap_err();
        assert!(err.to_string().contains("not from the same socket"));
        let (ar, bw) = (err.0, err.1);
        drop((br, bw));
        // Dropping the write half shuts down writing: the peer reads EOF
        // while the read half still works.
        drop(aw);
        let mut rest = Vec::new();
        a_peer.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        a_peer.write_all(b"still").await.unwrap();
        let mut buf = [0u8; 5];
        let mut ar = ar;
        ar.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still");
        assert!(ar.peer_addr().unwrap().is_unnamed());
    });
}

#[test]
fn forget_keeps_write_direction_open() {
    block_on(T, async {
        let (a, b) = UnixStream::pair().unwrap();
        let (ar, aw) = a.into_split();
        aw.forget();
        // No shutdown: the peer sees no EOF yet.
        let mut buf = [0u8; 1];
        assert_would_block(b.try_read(&mut buf));
        drop(ar);
        // Now the whole socket is closed.
        let mut b = b;
        assert_eq!(b.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn borrowed_split_read_and_write_concurrently() {
    block_on(T, async {
        let (mut a, b) = UnixStream::pair().unwrap();
        let echo = std::thread::spawn(move || {
            futures::executor::block_on(async move {
                let mut b = b;
                let mut buf = [0u8; 4096];
                loop {
                    let n = b.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<(), io::Error>(());
                    }
                    b.write_all(&buf[..n]).await?;
                }
            })
        });
        // `UnixStream::split` (futures' `AsyncReadExt::split` would win the
        // method lookup here, as it takes `self` by value).
        let (mut r, mut w) = UnixStream::split(&mut a);
        const N: usize = 256 * 1024;
        let data: Vec<u8> = (0..N).map(|i| (i * 7) as u8).collect();
        let mut got = vec![0u8; N];
        let (wr, rd) = futures::join!(
            async {
                w.write_all(&data).await?;
                w.close().await
            },
            r.read_exact(&mut got)
        );
        wr.unwrap();
        rd.unwrap();
        assert_eq!(got, data);
        assert!(r.local_addr().unwrap().is_unnamed() && w.peer_addr().unwrap().is_unnamed());
        echo.join().unwrap().unwrap();
    });
}

#[test]
fn std_client_against_our_listener_and_back() {
    block_on(T, async {
        let path = temp_path("std");
        let listener = UnixListener::bind(&path).unwrap();
        let p2 = path.clone();
        let client = std::thread::spawn(move || -> io::Result<Vec<u8>> {
            let mut s = std::os::unix::net::UnixStream::connect(&p2)?;
            s.set_read_timeout(Some(LIMIT))?;
            s.write_all(b"from std")?;
            s.shutdown(std::net::Shutdown::Write)?;
            let mut back = Vec::new();
            s.read_to_end(&mut back)?;
            Ok(back)
        });
        let (mut s, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"from std");
        s.write_all(b"from sockwq").await.unwrap();
        drop(s);
        assert_eq!(client.join().unwrap().unwrap(), b"from sockwq");

        // into_std / from_std round trips.
        let std_listener = listener.into_std().unwrap();
        let listener = UnixListener::from_std(std_listener).unwrap();
        let c = UnixStream::connect(&path).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        let mut std_c = c.into_std().unwrap();
        std_c.set_nonblocking(false).unwrap();
        std_c.write_all(b"z").unwrap();
        let mut s = UnixStream::try_from(s.into_std().unwrap()).unwrap();
        let mut one = [0u8; 1];
        s.read_exact(&mut one).await.unwrap();
        assert_eq!(&one, b"z");
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn peer_close_gives_eof_then_broken_pipe() {
    block_on(T, async {
        let (mut a, b) = UnixStream::pair().unwrap();
        drop(b);
        let mut buf = [0u8; 8];
        assert_eq!(a.read(&mut buf).await.unwrap(), 0);
        // Bounded: the first write may still be buffered on some kernels;
        // a closed Unix peer fails at once on Linux.
        let mut err = None;
        for _ in 0..10 {
            if let Err(e) = a.write_all(&[1u8; 4096]).await {
                err = Some(e);
                break;
            }
        }
        assert_eq!(
            err.expect("write to closed peer").kind(),
            io::ErrorKind::BrokenPipe
        );
        assert_eq!(a.try_write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    });
}

#[test]
fn poll_accept_and_accept_is_cancel_safe() {
    block_on(T, async {
        let name = abstract_name("pollacc");
        let l = UnixListener::bind(&name).unwrap();
        // Nothing pending: poll_accept is Pending (with a noop waker).
        {
            let waker = futures::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(l.poll_accept(&mut cx).is_pending());
        }
        // A dropped accept future took nothing.
        {
            let fut = l.accept();
            futures::pin_mut!(fut);
            assert!(futures::poll!(fut.as_mut()).is_pending());
        }
        let _c = UnixStream::connect(&name).await.unwrap();
        let (s, _) = futures::future::poll_fn(|cx| l.poll_accept(cx)).await.unwrap();
        assert!(s.peer_addr().unwrap().is_unnamed());
    });
}

#[test]
fn bad_input_is_a_clear_error() {
    block_on(T, async {
        let missing = temp_path("missing");
        let e = UnixStream::connect(&missing).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let e = UnixStream::connect("").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let long = "/tmp/".to_string() + &"x".repeat(300);
        assert_eq!(
            UnixListener::bind(&long).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            UnixDatagram::bind(&long).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let e = UnixStream::connect(abstract_name("nobody")).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        // A datagram socket is not a listener.
        let name = abstract_name("notlistening");
        let _d = UnixDatagram::bind(&name).unwrap();
        assert!(UnixStream::connect(&name).await.is_err());
        // Unnamed addresses cannot be bound or connected to.
        let (a, _b) = UnixStream::pair().unwrap();
        let unnamed = a.local_addr().unwrap();
        assert_eq!(
            UnixListener::bind_addr(&unnamed).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            UnixStream::connect_addr(&unnamed).await.unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        // A stale socket file: AddrInUse (as tokio; remove it first).
        let path = temp_path("stale");
        drop(UnixListener::bind(&path).unwrap());
        assert_eq!(
            UnixListener::bind(&path).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
        std::fs::remove_file(&path).unwrap();
    });
}

// ---- datagrams ------------------------------------------------------

#[test]
fn datagram_echo_send_to_recv_from_and_connected() {
    block_on(T, async {
        let server_name = abstract_name("dgram-srv");
        let client_path = temp_path("dgram-cli");
        let server = UnixDatagram::bind(&server_name).unwrap();
        let client = UnixDatagram::bind(&client_path).unwrap();
        let srv = std::thread::spawn(move || {
            futures::executor::block_on(async move {
                let mut buf = [0u8; 256];
                for _ in 0..100 {
                    let (n, from) = server.recv_from(&mut buf).await?;
                    let to = from.as_pathname().expect("client has a path").to_owned();
                    server.send_to(&buf[..n], to).await?;
                }
                Ok::<UnixDatagram, io::Error>(server)
            })
        });
        let mut buf = [0u8; 256];
        for i in 0..100u32 {
            let msg = format!("dgram {i}");
            assert_eq!(
                client.send_to(msg.as_bytes(), &server_name).await.unwrap(),
                msg.len()
            );
            let (n, from) = client.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], msg.as_bytes());
            assert_eq!(
                from.as_abstract_name(),
                Some(server_name.as_bytes()[1..].as_ref())
            );
        }
        let server = srv.join().unwrap().unwrap();

        // Connected: send/recv.
        client.connect(&server_name).unwrap();
        server.connect(&client_path).unwrap();
        assert_eq!(
            client.peer_addr().unwrap().as_abstract_name(),
            Some(server_name.as_bytes()[1..].as_ref())
        );
        for i in 0..100u32 {
            let msg = i.to_be_bytes();
            client.send(&msg).await.unwrap();
            let n = server.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &msg);
            server.send(&buf[..n]).await.unwrap();
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &msg);
        }
        std::fs::remove_file(&client_path).unwrap();
    });
}

#[test]
fn datagram_truncation_try_recv_peek_and_unnamed_sender() {
    block_on(T, async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let mut buf = [0u8; 64];
        assert_would_block(b.try_recv(&mut buf));
        assert_would_block(b.try_recv_from(&mut buf));

        // A too-small buffer gets the head; the tail is discarded.
        a.send(&[7u8; 100]).await.unwrap();
        a.send(b"next").await.unwrap();
        let mut small = [0u8; 10];
        assert_eq!(b.recv(&mut small).await.unwrap(), 10);
        assert_eq!(small, [7u8; 10]);
        // Peek leaves the datagram queued.
        let (n, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"next");
        assert!(from.is_unnamed());
        assert_eq!(b.peek(&mut buf).await.unwrap(), 4);
        let (n, from) = b.try_recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"next");
        assert!(from.is_unnamed());
        assert_would_block(b.try_peek_from(&mut buf));

        // An unbound sender shows up unnamed.
        let name = abstract_name("dgram-unnamed");
        let bound = UnixDatagram::bind(&name).unwrap();
        let unbound = UnixDatagram::unbound().unwrap();
        // A fresh socket's readiness arrives with the reactor's first
        // event: wait for it before a try_* call (as with tokio).
        unbound.writable().await.unwrap();
        unbound.try_send_to(b"hey", &name).unwrap();
        let (n, from) = bound.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hey");
        assert!(from.is_unnamed());
        // Sending to an unnamed address is rejected, not attempted.
        let e = unbound.send_to(b"x", "").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        // Not connected.
        assert_eq!(
            unbound.peer_addr().unwrap_err().kind(),
            io::ErrorKind::NotConnected
        );
        // Shutdown, readiness, std round trip.
        a.writable().await.unwrap();
        a.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(a.try_send(b"x").is_err());
        let std_b = b.into_std().unwrap();
        let b = UnixDatagram::from_std(std_b).unwrap();
        assert!(b.local_addr().unwrap().is_unnamed());
    });
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagram_poll_recv_with_readbuf_under_tokio() {
    use std::mem::MaybeUninit;
    tokio::time::timeout(LIMIT, async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let task = tokio::spawn(async move {
            for i in 0..50u8 {
                a.send(&[i; 33]).await.unwrap();
            }
            a
        });
        let mut storage = [MaybeUninit::<u8>::uninit(); 64];
        for i in 0..50u8 {
            let mut rb = tokio::io::ReadBuf::uninit(&mut storage);
            std::future::poll_fn(|cx| b.poll_recv(cx, &mut rb)).await.unwrap();
            assert_eq!(rb.filled(), &[i; 33][..]);
        }
        let a = task.await.unwrap();
        a.send(b"from").await.unwrap();
        let mut rb = tokio::io::ReadBuf::uninit(&mut storage);
        let from = std::future::poll_fn(|cx| b.poll_recv_from(cx, &mut rb))
            .await
            .unwrap();
        assert!(from.is_unnamed());
        assert_eq!(rb.filled(), b"from");
        // poll_send / poll_send_to
        std::future::poll_fn(|cx| a.poll_send(cx, b"ps")).await.unwrap();
        assert_eq!(b.recv(&mut [0u8; 8]).await.unwrap(), 2);
        b.readable().await.ok();
        b.writable().await.unwrap();
        std::future::poll_fn(|cx| b.poll_send_ready(cx)).await.unwrap();
        let _ = std::future::poll_fn(|cx| {
            // Not readable: Pending is fine; just must not error.
            match b.poll_recv_ready(cx) {
                std::task::Poll::Ready(r) => std::task::Poll::Ready(r),
                std::task::Poll::Pending => std::task::Poll::Ready(Ok(())),
            }
        })
        .await;
    })
    .await
    .expect("timed out");
}

#[test]
fn buf_mut_variants() {
    block_on(T, async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut v: Vec<u8> = Vec::with_capacity(4);
        assert_would_block(b.try_read_buf(&mut v));
        a.writable().await.unwrap();
        a.try_write(b"abc").unwrap();
        b.readable().await.unwrap();
        assert_eq!(b.try_read_buf(&mut v).unwrap(), 3);
        let (r, _w) = b.into_split();
        a.try_write(b"d").unwrap();
        r.readable().await.unwrap();
        assert_eq!(r.try_read_buf(&mut v).unwrap(), 1);
        assert_eq!(v, b"abcd");

        let name = abstract_name("dgram-buf");
        let d = UnixDatagram::bind(&name).unwrap();
        let u = UnixDatagram::unbound().unwrap();
        u.send_to(b"xy", &name).await.unwrap();
        let mut v: Vec<u8> = Vec::new();
        let (n, from) = d.recv_buf_from(&mut v).await.unwrap();
        assert_eq!((n, &v[..]), (2, &b"xy"[..]));
        assert!(from.is_unnamed());
        u.connect(&name).unwrap();
        u.send(b"z").await.unwrap();
        assert_eq!(d.recv_buf(&mut v).await.unwrap(), 1);
        assert_eq!(v, b"xyz");
        assert_would_block(d.try_recv_buf(&mut v));
        assert_would_block(d.try_recv_buf_from(&mut v));
    });
}

#[test]
fn types_are_send_sync_unpin_like_tokios() {
    fn check<T: Send + Sync + Unpin + std::fmt::Debug>() {}
    check::<UnixListener>();
    check::<UnixStream>();
    check::<UnixDatagram>();
    check::<SocketAddr>();
    check::<UCred>();
    check::<sockwq_net::unix::ReadHalf<'static>>();
    check::<sockwq_net::unix::WriteHalf<'static>>();
    check::<sockwq_net::unix::OwnedReadHalf>();
    check::<sockwq_net::unix::OwnedWriteHalf>();
    check::<sockwq_net::unix::ReuniteError>();
}

#[test]
fn connect_to_a_full_backlog_is_an_error_not_a_hang() {
    block_on(T, async {
        use socket2::{Domain, SockAddr, Socket, Type};
        let name = abstract_name("backlog");
        let raw = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        raw.bind(&SockAddr::unix(&name).unwrap()).unwrap();
        raw.listen(0).unwrap();
        let listener = UnixListener::from_std(std::os::unix::net::UnixListener::from(
            std::os::fd::OwnedFd::from(raw),
        ))
        .unwrap();
        // Bounded: the kernel refuses once its (tiny) queue is full.
        let mut queued = Vec::new();
        let mut refused = None;
        for _ in 0..16 {
            match UnixStream::connect(&name).await {
                Ok(c) => queued.push(c),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        let e = refused.expect("a full backlog refuses");
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert!(e.to_string().contains("backlog"), "{e}");
        // Accepting makes room again.
        let (_s, _) = listener.accept().await.unwrap();
        let _again = UnixStream::connect(&name).await.unwrap();
        assert!(!queued.is_empty());
    });
}
