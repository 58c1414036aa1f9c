//! TCP over loopback: echo, half-close, reset, refused, std interop, the
//! readiness API, split halves across threads, listener and socket options.

use sockwq_test_support as support;

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use futures_util::io::{AsyncReadExt as _, AsyncWriteExt as _};
use futures_util::{StreamExt, future};
use sockwq_net::tcp::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
use sockwq_net::{TcpListener, TcpSocket, TcpStream, lookup_host};
use sockwq_reactor::Interest;
use support::{assert_would_block, block_on, retry_would_block};

const T: u64 = 30;

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = future::join(TcpStream::connect(addr), listener.accept()).await;
    let (server, peer) = accepted.unwrap();
    let client = client.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(client.peer_addr().unwrap(), addr);
    (client, server)
}

#[test]
fn echo_futures_io() {
    block_on(T, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = async {
            let (mut s, _) = listener.accept().await.unwrap();
            // `TcpStream::split`, not futures' `AsyncReadExt::split(self)`.
            let (mut rd, mut wr) = TcpStream::split(&mut s);
            futures_util::io::copy(&mut rd, &mut wr).await.unwrap()
        };
        let client = async {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let mut got = Vec::new();
            for i in 0..100u32 {
                let msg = format!("message {i}");
                s.write_all(msg.as_bytes()).await.unwrap();
                let mut buf = vec![0u8; msg.len()];
                s.read_exact(&mut buf).await.unwrap();
                assert_eq!(buf, msg.as_bytes());
                got.extend_from_slice(&buf);
            }
            s.close().await.unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty());
            got.len() as u64
        };
        let (copied, sent) = future::join(server, client).await;
        assert_eq!(copied, sent);
    });
}

#[cfg(feature = "tokio")]
mod tokio_traits {
    //! tokio's AsyncRead/AsyncWrite (its own imports: the futures-io
    //! extension traits of the parent module would clash).
    use super::{IoSlice, T, TcpListener, TcpStream, support};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn echo_tokio_io_multi_thread() {
        support::timeout(T, async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let (mut rd, mut wr) = s.split();
                tokio::io::copy(&mut rd, &mut wr).await.unwrap()
            });
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            for i in 0..100u32 {
                let msg = format!("tokio {i}");
                s.write_all(msg.as_bytes()).await.unwrap();
                let mut buf = vec![0u8; msg.len()];
                s.read_exact(&mut buf).await.unwrap();
                assert_eq!(buf, msg.as_bytes());
            }
            // Vectored write through tokio's trait: one writev.
            assert!(tokio::io::AsyncWrite::is_write_vectored(&s));
            let n = s
                .write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
                .await
                .unwrap();
            let mut buf = vec![0u8; n];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, &b"abcd"[..n]);
            s.shutdown().await.unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty());
            server.await.unwrap();
        })
        .await;
    }

    /// Several tasks on a multi_thread runtime accept from one shared
    /// listener (the multi-waiter path): every connection is served once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shared_listener_many_acceptors() {
        support::timeout(T, async {
            let listener = std::sync::Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let addr = listener.local_addr().unwrap();
            const CONNS: usize = 200;
            let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let acceptors: Vec<_> = (0..4)
                .map(|_| {
                    let (listener, served) = (listener.clone(), served.clone());
                    tokio::spawn(async move {
                        loop {
                            let (mut s, _) = listener.accept().await.unwrap();
                            let n = served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            s.write_all(&(n as u32).to_le_bytes()).await.unwrap();
                        }
                    })
                })
                .collect();
            let mut seen = Vec::new();
            let clients: Vec<_> = (0..CONNS)
                .map(|_| {
                    tokio::spawn(async move {
                        let mut s = TcpStream::connect(addr).await.unwrap();
                        let mut b = [0u8; 4];
                        s.read_exact(&mut b).await.unwrap();
                        u32::from_le_bytes(b)
                    })
                })
                .collect();
            for c in clients {
                seen.push(c.await.unwrap());
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..CONNS as u32).collect::<Vec<_>>());
            for a in acceptors {
                a.abort();
            }
        })
        .await;
    }
}

#[test]
fn half_close_peer_reads_eof_and_writes_back() {
    block_on(T, async {
        let (mut client, mut server) = pair().await;
        client.write_all(b"request").await.unwrap();
        client.close().await.unwrap(); // shutdown(Write)

        let mut req = Vec::new();
        server.read_to_end(&mut req).await.unwrap(); // EOF seen
        assert_eq!(req, b"request");
        // The peer's write direction is still open.
        server.write_all(b"response after EOF").await.unwrap();
        drop(server);

        let mut resp = Vec::new();
        client.read_to_end(&mut resp).await.unwrap();
        assert_eq!(resp, b"response after EOF");
        // Writing after our own shutdown is an error, not a signal.
        let err = client.write_all(b"x").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    });
}

/// Restores `SIGPIPE`'s default action (kill), which the Rust runtime sets
/// to ignore: a send without `MSG_NOSIGNAL` would now kill the test binary.
fn default_sigpipe() {
    // SAFETY: setting a signal disposition to SIG_DFL has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

#[test]
fn peer_reset_errors_pending_and_later_io() {
    default_sigpipe();
    block_on(T, async {
        let (client, server) = pair().await;
        let (mut rd, mut wr) = client.into_split();
        let mut buf = [0u8; 64];
        // A read pending before the reset...
        let pending = rd.read(&mut buf);
        let reset = async {
            // Give the read a chance to park (no timing is asserted).
            futures_timer_yield().await;
            server.set_zero_linger().unwrap();
            assert_eq!(server.linger().unwrap(), Some(Duration::ZERO));
            drop(server); // RST
        };
        let (res, ()) = future::join(pending, reset).await;
        let err = res.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err:?}");
        // ...and later writes: an error (EPIPE), never SIGPIPE.
        let err = wr.write_all(&[7u8; 4096]).await.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "{err:?}"
        );
        // A later read does not hang: the reset was reported, now it is EOF
        // (or the error again).
        match rd.read(&mut buf).await {
            Ok(0) => {}
            Err(e) => assert!(matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            )),
            Ok(n) => panic!("read {n} bytes from a reset connection"),
        }
        assert!(wr.try_write(b"x").is_err());
    });
}

#[test]
fn reset_with_unread_data_and_pending_write() {
    default_sigpipe();
    block_on(T, async {
        let (client, server) = pair().await;
        // Fill the peer's buffers so our write is pending, then reset.
        let mut client = client;
        let writer = async {
            let chunk = vec![1u8; 1 << 16];
            // Bounded: the kernel buffers hold a few MiB at most.
            for _ in 0..100_000 {
                if let Err(e) = client.write_all(&chunk).await {
                    return e;
                }
            }
            panic!("writes to a reset peer kept succeeding");
        };
        let reset = async {
            futures_timer_yield().await;
            server.set_zero_linger().unwrap();
            drop(server);
        };
        let (err, ()) = future::join(writer, reset).await;
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{err:?}"
        );
    });
}

/// Yields to the executor a few times (lets the other joined future run).
async fn futures_timer_yield() {
    for _ in 0..10 {
        let mut yielded = false;
        future::poll_fn(|cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
    }
    std::thread::sleep(Duration::from_millis(20));
}

fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr
}

#[test]
fn connect_to_closed_port_is_refused() {
    block_on(T, async {
        let dead = closed_port();
        let err = TcpStream::connect(dead).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        let err = TcpSocket::new_v4().unwrap().connect(dead).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        // Each address is tried: the refused one first, then a live one.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live = listener.local_addr().unwrap();
        let addrs = [dead, live];
        let s = TcpStream::connect(&addrs[..]).await.unwrap();
        assert_eq!(s.peer_addr().unwrap(), live);
        // Nothing to try: InvalidInput.
        let none: &[SocketAddr] = &[];
        let err = TcpStream::connect(none).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    });
}

#[test]
fn bad_addresses_are_errors() {
    block_on(T, async {
        for bad in ["", "garbage", "127.0.0.1", "127.0.0.1:65536", "[::1]"] {
            let err = TcpListener::bind(bad).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
            let err = TcpStream::connect(bad).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        // Binding an address in use: AddrInUse.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = TcpListener::bind(l.local_addr().unwrap()).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    });
}

#[test]
fn host_names_resolve() {
    block_on(T, async {
        let listener = TcpListener::bind(("localhost", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(listener.local_addr().unwrap().ip().is_loopback());
        let addrs: Vec<_> = lookup_host(format!("localhost:{port}")).await.unwrap().collect();
        assert!(!addrs.is_empty());
        // Connecting by name tries each resolved address (::1 may be refused).
        let (s, accepted) = future::join(TcpStream::connect(("localhost", port)), listener.accept()).await;
        let (server, _) = accepted.unwrap();
        assert_eq!(s.unwrap().local_addr().unwrap(), server.peer_addr().unwrap());
    });
}

#[test]
fn std_client_against_our_listener() {
    block_on(T, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(T))).unwrap();
            s.write_all(b"from std").unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut back = Vec::new();
            s.read_to_end(&mut back).unwrap();
            back
        });
        let (mut s, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        s.write_all(&got).await.unwrap();
        drop(s);
        assert_eq!(client.join().unwrap(), b"from std");
    });
}

#[test]
fn our_client_against_std_listener() {
    block_on(T, async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(T))).unwrap();
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
            s.write_all(b"!").unwrap();
        });
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"to std").await.unwrap();
        s.close().await.unwrap();
        let mut back = Vec::new();
        s.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"to std!");
        server.join().unwrap();
    });
}

#[test]
fn from_std_into_std_round_trip() {
    block_on(T, async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = TcpListener::try_from(std_listener).unwrap();
        let std_client = std::net::TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut client = TcpStream::from_std(std_client).unwrap();
        let mut server_std = server.into_std().unwrap();
        server_std.set_nonblocking(false).unwrap();
        server_std.write_all(b"via std").unwrap();
        let mut buf = [0u8; 7];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"via std");
        let mut client_std = client.into_std().unwrap();
        let mut server = TcpStream::try_from(server_std).unwrap();
        client_std.set_nonblocking(false).unwrap();
        client_std.write_all(b"back").unwrap();
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"back");
        let std_listener = listener.into_std().unwrap();
        assert_eq!(std_listener.local_addr().unwrap(), addr);
    });
}

#[test]
fn readiness_and_try_api() {
    block_on(T, async {
        let (client, server) = pair().await;
        client.writable().await.unwrap();
        assert_eq!(client.try_write(b"hello").unwrap(), 5);
        let n = client
            .try_write_vectored(&[IoSlice::new(b" wor"), IoSlice::new(b"ld")])
            .unwrap();
        assert_eq!(n, 6);

        // ready() takes sockwq's Interest and (with the `tokio` feature) tokio's.
        let r = server.ready(Interest::READABLE).await.unwrap();
        assert!(r.is_readable());
        #[cfg(feature = "tokio")]
        {
            let r = server
                .ready(tokio::io::Interest::READABLE | tokio::io::Interest::WRITABLE)
                .await
                .unwrap();
            assert!(r.is_readable() || r.is_writable());
        }

        let mut peeked = [0u8; 5];
        assert_eq!(server.peek(&mut peeked).await.unwrap(), 5);
        assert_eq!(&peeked, b"hello");
        #[cfg(feature = "tokio")]
        {
            let mut storage = [0u8; 3];
            let mut rb = tokio::io::ReadBuf::new(&mut storage);
            let n = future::poll_fn(|cx| server.poll_peek(cx, &mut rb)).await.unwrap();
            assert_eq!((n, rb.filled()), (3, &b"hel"[..]));
        }
        let mut storage = [0u8; 3];
        let n = future::poll_fn(|cx| server.poll_peek_slice(cx, &mut storage))
            .await
            .unwrap();
        assert_eq!(&storage[..n], b"hel");

        // Drain with the try_* family; bounded retries through readable().
        let mut got = Vec::new();
        for _ in 0..100 {
            if got.len() == 11 {
                break;
            }
            server.readable().await.unwrap();
            let mut a = [0u8; 2];
            let mut b = [0u8; 3];
            match server.try_read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)]) {
                Ok(n) => got.extend(a.iter().chain(b.iter()).take(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
            let mut bm = bytes::BytesMut::with_capacity(4);
            match server.try_read_buf(&mut bm) {
                Ok(_) => got.extend_from_slice(&bm),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
            let mut c = [0u8; 16];
            match server.try_read(&mut c) {
                Ok(n) => got.extend_from_slice(&c[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, b"hello world");
        // Nothing queued: WouldBlock, no wait.
        assert_would_block(server.try_read(&mut [0u8; 4]));

        // try_io / async_io with a raw syscall.
        let fd = std::os::fd::AsRawFd::as_raw_fd(&client);
        let sent = client
            .async_io(Interest::WRITABLE, || {
                // SAFETY: a valid fd and buffer.
                let n = unsafe { libc::send(fd, b"raw".as_ptr().cast(), 3, libc::MSG_NOSIGNAL) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            })
            .await
            .unwrap();
        assert_eq!(sent, 3);
        let sfd = std::os::fd::AsRawFd::as_raw_fd(&server);
        let mut raw = [0u8; 3];
        let n = retry_would_block(
            || server.readable(),
            || {
                server.try_io(Interest::READABLE, || {
                    // SAFETY: a valid fd and buffer.
                    let r = unsafe { libc::recv(sfd, raw.as_mut_ptr().cast(), 3, 0) };
                    if r < 0 {
                        Err(io::Error::last_os_error())
                    } else {
                        Ok(r as usize)
                    }
                })
            },
        )
        .await;
        assert_eq!(&raw[..n], b"raw");

        // poll_read_ready / poll_write_ready.
        future::poll_fn(|cx| client.poll_write_ready(cx)).await.unwrap();
        client.try_write(b"z").unwrap();
        future::poll_fn(|cx| server.poll_read_ready(cx)).await.unwrap();
    });
}

#[test]
fn options() {
    block_on(T, async {
        let (client, server) = pair().await;
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.set_ttl(42).unwrap();
        assert_eq!(client.ttl().unwrap(), 42);
        client.set_quickack(true).unwrap();
        let _ = client.quickack().unwrap();
        #[allow(deprecated)]
        client.set_linger(Some(Duration::from_secs(1))).unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(1)));
        #[allow(deprecated)]
        client.set_linger(None).unwrap();
        assert!(client.take_error().unwrap().is_none());
        assert!(server.local_addr().unwrap().ip().is_loopback());
        // Options tokio leaves to socket2 work through `AsFd`.
        let sock = socket2::SockRef::from(&client);
        sock.set_keepalive(true).unwrap();
        assert!(sock.keepalive().unwrap());

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.set_ttl(7).unwrap();
        assert_eq!(listener.ttl().unwrap(), 7);

        let s = TcpSocket::new_v4().unwrap();
        assert!(!s.reuseaddr().unwrap());
        s.set_reuseaddr(true).unwrap();
        assert!(s.reuseaddr().unwrap());
        s.set_reuseport(true).unwrap();
        assert!(s.reuseport().unwrap());
        s.set_keepalive(true).unwrap();
        assert!(s.keepalive().unwrap());
        s.set_nodelay(true).unwrap();
        assert!(s.nodelay().unwrap());
        s.set_send_buffer_size(1 << 16).unwrap();
        assert!(s.send_buffer_size().unwrap() >= 1 << 16);
        s.set_recv_buffer_size(1 << 16).unwrap();
        assert!(s.recv_buffer_size().unwrap() >= 1 << 16);
        s.set_zero_linger().unwrap();
        assert_eq!(s.linger().unwrap(), Some(Duration::ZERO));
        s.set_tos_v4(0x10).unwrap();
        assert_eq!(s.tos_v4().unwrap(), 0x10);
        assert!(s.take_error().unwrap().is_none());
        s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let bound = s.local_addr().unwrap();
        // SO_REUSEPORT: two listeners on one port.
        let s2 = TcpSocket::new_v4().unwrap();
        s2.set_reuseport(true).unwrap();
        s2.set_reuseaddr(true).unwrap();
        s2.bind(bound).unwrap();
        let l1 = s.listen(16).unwrap();
        let l2 = s2.listen(u32::MAX).unwrap(); // clamped, not an error
        assert_eq!(l1.local_addr().unwrap(), l2.local_addr().unwrap());

        // from_std_stream: a std stream back to a socket (options, then drop).
        let std_stream = std::net::TcpStream::connect(bound).unwrap();
        let sock = TcpSocket::from_std_stream(std_stream);
        sock.set_nodelay(true).unwrap();
        assert!(sock.nodelay().unwrap());
        let _ = format!("{sock:?} {l1:?} {client:?}");
    });
}

#[test]
fn ipv6_only_and_loopback() {
    block_on(T, async {
        let s = match TcpSocket::new_v6() {
            Ok(s) => s,
            Err(_) => return, // no IPv6 in this environment
        };
        s.set_only_v6(true).unwrap();
        assert!(s.only_v6().unwrap());
        if s.bind("[::1]:0".parse().unwrap()).is_err() {
            return; // IPv6 loopback not configured
        }
        let l = s.listen(8).unwrap();
        let addr = l.local_addr().unwrap();
        let (c, a) = future::join(TcpStream::connect(addr), l.accept()).await;
        let (mut a, _) = a.unwrap();
        let mut c = c.unwrap();
        c.write_all(b"v6").await.unwrap();
        let mut buf = [0u8; 2];
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"v6");
    });
}

#[test]
fn split_halves_on_two_threads() {
    support::with_watchdog(T, || {
        let (client, server) = futures::executor::block_on(pair());
        // Server: echo with its own split, on its own thread.
        let echo = std::thread::spawn(move || {
            futures::executor::block_on(async move {
                let (mut rd, mut wr) = server.into_split();
                futures_util::io::copy(&mut rd, &mut wr).await.unwrap()
            })
        });
        const N: usize = 4 << 20;
        let (mut rd, mut wr): (OwnedReadHalf, OwnedWriteHalf) = client.into_split();
        let writer = std::thread::spawn(move || {
            futures::executor::block_on(async move {
                let mut rng = support::Rng::new(1);
                let mut sum = support::Checksum::default();
                let mut buf = vec![0u8; 1 << 16];
                let mut left = N;
                while left > 0 {
                    let n = rng.range(1, buf.len()).min(left);
                    rng.fill(&mut buf[..n]);
                    wr.write_all(&buf[..n]).await.unwrap();
                    sum.update(&buf[..n]);
                    left -= n;
                }
                wr.close().await.unwrap();
                (sum, wr)
            })
        });
        let reader = std::thread::spawn(move || {
            futures::executor::block_on(async move {
                let mut sum = support::Checksum::default();
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = rd.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    sum.update(&buf[..n]);
                }
                (sum, rd)
            })
        });
        let (sent, wr) = writer.join().unwrap();
        let (got, rd) = reader.join().unwrap();
        assert_eq!(sent.len, N as u64);
        assert_eq!(sent, got);
        assert_eq!(echo.join().unwrap(), N as u64);
        // The halves reunite into the original stream.
        let stream = rd.reunite(wr).unwrap();
        assert!(stream.local_addr().is_ok());
    });
}

#[test]
fn reunite_rejects_foreign_halves_and_write_half_drop_shuts_down() {
    block_on(T, async {
        let (a, a_peer) = pair().await;
        let (b, _b_peer) = pair().await;
        let (ar, aw) = a.into_split();
        let (br, bw) = b.into_split();
        let ReuniteError(ar, bw) = ar.reunite(bw).unwrap_err();
        let err = aw.reunite(br).unwrap_err();
        assert!(err.to_string().contains("not from the same socket"));
        let ReuniteError(br, aw) = err;
        // Dropping a write half shuts down its write direction: EOF at the peer.
        drop(aw);
        let mut a_peer = a_peer;
        let mut rest = Vec::new();
        a_peer.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        // forget() does not: the peer sees no EOF yet (try_read: WouldBlock).
        let (c, c_peer) = pair().await;
        let (cr, cw) = c.into_split();
        cw.forget();
        std::thread::sleep(Duration::from_millis(20));
        assert_would_block(c_peer.try_read(&mut [0u8; 1]));
        drop((ar, br, bw, cr));
    });
}

#[test]
fn borrowed_split_halves() {
    block_on(T, async {
        let (mut client, mut server) = pair().await;
        let (mut rd, mut wr) = TcpStream::split(&mut client);
        assert_eq!(rd.peer_addr().unwrap(), wr.peer_addr().unwrap());
        assert_eq!(rd.local_addr().unwrap(), wr.local_addr().unwrap());
        wr.writable().await.unwrap();
        wr.write_all(b"split").await.unwrap();
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).await.unwrap();
        server.write_all(&buf).await.unwrap();
        rd.readable().await.unwrap();
        let mut p = [0u8; 5];
        assert_eq!(rd.peek(&mut p).await.unwrap(), 5);
        rd.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"split");
        wr.close().await.unwrap();
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        assert!(std::ptr::eq(rd.as_ref(), wr.as_ref()));
    });
}

#[test]
fn incoming_stream_and_concurrent_acceptors() {
    block_on(T, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Two tasks accepting on one listener at once: both get served.
        let acceptors = future::join(listener.accept(), listener.accept());
        let connects = future::join(TcpStream::connect(addr), TcpStream::connect(addr));
        let ((a1, a2), (c1, c2)) = future::join(acceptors, connects).await;
        let (a1, a2, c1, c2) = (a1.unwrap().0, a2.unwrap().0, c1.unwrap(), c2.unwrap());
        let mut peers = [a1.peer_addr().unwrap(), a2.peer_addr().unwrap()];
        let mut locals = [c1.local_addr().unwrap(), c2.local_addr().unwrap()];
        peers.sort();
        locals.sort();
        assert_eq!(peers, locals);

        // incoming(): three connections, in order of acceptance.
        let clients = future::join_all((0..3).map(|_| TcpStream::connect(addr)));
        let accepted = listener.incoming().take(3).collect::<Vec<_>>();
        let (clients, accepted) = future::join(clients, accepted).await;
        assert_eq!(clients.into_iter().filter(Result::is_ok).count(), 3);
        assert_eq!(accepted.into_iter().filter(Result::is_ok).count(), 3);

        // poll_accept.
        let (c, a) = future::join(
            TcpStream::connect(addr),
            future::poll_fn(|cx| listener.poll_accept(cx)),
        )
        .await;
        assert_eq!(a.unwrap().1, c.unwrap().local_addr().unwrap());
    });
}

#[test]
fn accepted_streams_are_nonblocking_and_cloexec() {
    block_on(T, async {
        let (client, server) = pair().await;
        for fd in [
            std::os::fd::AsRawFd::as_raw_fd(&client),
            std::os::fd::AsRawFd::as_raw_fd(&server),
        ] {
            // SAFETY: fcntl on a valid fd.
            let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
            // SAFETY: F_GETFD takes no pointer argument; a bad fd yields -1.
            let fdfl = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            assert!(fl & libc::O_NONBLOCK != 0);
            assert!(fdfl & libc::FD_CLOEXEC != 0);
        }
        let _ = std::os::fd::AsFd::as_fd(&server);
        // A blocking socket handed over through from_std_stream is made
        // non-blocking by connect (a blocking connect would stall the thread).
        let blocking = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        assert!(!blocking.nonblocking().unwrap());
        let sock =
            TcpSocket::from_std_stream(std::net::TcpStream::from(std::os::fd::OwnedFd::from(blocking)));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let s = sock.connect(listener.local_addr().unwrap()).await.unwrap();
        assert!(socket2::SockRef::from(&s).nonblocking().unwrap());
    });
}

/// `poll_peek` keeps tokio's `ReadBuf` shape (with the `tokio` feature);
/// `poll_peek_slice` takes a slice with or without it, on the stream and
/// on both read halves.
#[test]
fn poll_peek_slice_on_stream_and_read_halves() {
    block_on(T, async {
        let (mut client, mut server) = pair().await;
        client.write_all(b"peekaboo").await.unwrap();
        let mut buf = [0u8; 4];
        let n = future::poll_fn(|cx| server.poll_peek_slice(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"peek");
        {
            let (mut rd, _wr) = TcpStream::split(&mut server);
            let mut buf = [0u8; 8];
            let n = future::poll_fn(|cx| rd.poll_peek_slice(cx, &mut buf))
                .await
                .unwrap();
            assert_eq!(&buf[..n], b"peekaboo");
        }
        let (mut rd, _wr) = server.into_split();
        let mut buf = [0u8; 2];
        let n = future::poll_fn(|cx| rd.poll_peek_slice(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"pe");
        // Peeking removed nothing.
        let mut all = [0u8; 8];
        rd.read_exact(&mut all).await.unwrap();
        assert_eq!(&all, b"peekaboo");
    });
}
