//! UdpSocket: echo (unconnected and connected), truncation, 10,000
//! datagrams without loss under flow control, try_* on an empty socket,
//! peeking, options, std interop, errors — on loopback only.

use sockwq_test_support as support;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use sockwq_net::UdpSocket;
use sockwq_reactor::Interest;

use support::{assert_would_block, block_on, retry_would_block};

/// Seconds a test may take: a hang fails it instead of hanging the suite.
const T: u64 = 60;
const LIMIT: Duration = Duration::from_secs(T);

async fn local() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

/// Echoes `count` datagrams back to their senders, on its own thread.
fn spawn_echo(sock: UdpSocket, count: usize) -> std::thread::JoinHandle<io::Result<UdpSocket>> {
    std::thread::spawn(move || {
        futures::executor::block_on(async move {
            let mut buf = vec![0u8; 65536];
            for _ in 0..count {
                let (n, from) = sock.recv_from(&mut buf).await?;
                sock.send_to(&buf[..n], from).await?;
            }
            Ok(sock)
        })
    })
}

#[test]
fn echo_send_to_recv_from() {
    block_on(T, async {
        let server = local().await;
        let saddr = server.local_addr().unwrap();
        let echo = spawn_echo(server, 200);
        let client = local().await;
        let mut buf = [0u8; 2048];
        for i in 0..200usize {
            let msg = vec![(i % 256) as u8; i * 7 % 1500 + 1];
            assert_eq!(client.send_to(&msg, saddr).await.unwrap(), msg.len());
            let (n, from) = client.recv_from(&mut buf).await.unwrap();
            assert_eq!(from, saddr);
            assert_eq!(&buf[..n], &msg[..]);
        }
        echo.join().unwrap().unwrap();
    });
}

#[test]
fn echo_connected_send_recv_with_string_addresses() {
    block_on(T, async {
        let server = local().await;
        let saddr = server.local_addr().unwrap();
        let echo = spawn_echo(server, 100);
        let client = local().await;
        assert_eq!(
            client.peer_addr().unwrap_err().kind(),
            io::ErrorKind::NotConnected
        );
        // `ToSocketAddrs` forms: a String, a (host, port) pair.
        client.connect(saddr.to_string()).await.unwrap();
        client.connect(("127.0.0.1", saddr.port())).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), saddr);
        let mut buf = [0u8; 64];
        for i in 0..100u32 {
            client.send(&i.to_be_bytes()).await.unwrap();
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &i.to_be_bytes());
        }
        echo.join().unwrap().unwrap();
    });
}

#[test]
fn truncation_keeps_the_head_and_drops_the_tail() {
    block_on(T, async {
        let a = local().await;
        let b = local().await;
        let baddr = b.local_addr().unwrap();
        let big: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        a.send_to(&big, baddr).await.unwrap();
        a.send_to(b"second", baddr).await.unwrap();
        a.send_to(&big, baddr).await.unwrap();
        let mut small = [0u8; 10];
        // tokio's behaviour: the call returns buf.len(), the rest of the
        // datagram is gone, and the next call returns the next datagram.
        assert_eq!(b.recv(&mut small).await.unwrap(), 10);
        assert_eq!(&small[..], &big[..10]);
        let (n, from) = b.recv_from(&mut small).await.unwrap();
        assert_eq!((&small[..n], from), (&b"second"[..], a.local_addr().unwrap()));
        let (n, _) = b.recv_from(&mut small).await.unwrap();
        assert_eq!((n, &small[..]), (10, &big[..10]));
        assert_would_block(b.try_recv(&mut small));
    });
}

#[test]
fn ten_thousand_datagrams_ping_pong_none_lost() {
    block_on(T, async {
        const N: u32 = 10_000;
        let server = local().await;
        let saddr = server.local_addr().unwrap();
        let echo = spawn_echo(server, N as usize);
        let client = local().await;
        client.connect(saddr).await.unwrap();
        let mut buf = [0u8; 64];
        for i in 0..N {
            client.send(&i.to_le_bytes()).await.unwrap();
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(n, 4);
            assert_eq!(
                u32::from_le_bytes(buf[..4].try_into().unwrap()),
                i,
                "lost or reordered"
            );
        }
        echo.join().unwrap().unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_datagrams_windowed_shared_socket_under_tokio() {
    // A window of 32 in flight (flow control: far below the socket
    // buffers), sender and receiver in two tasks sharing one socket.
    const N: u32 = 10_000;
    const WINDOW: u32 = 32;
    tokio::time::timeout(LIMIT, async {
        let server = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let saddr = server.local_addr().unwrap();
        let srv = server.clone();
        let echo = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            for _ in 0..N {
                let (n, from) = srv.recv_from(&mut buf).await.unwrap();
                srv.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let client = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        client.connect(saddr).await.unwrap();
        let (credit_tx, mut credit_rx) = tokio::sync::mpsc::channel::<()>(WINDOW as usize);
        for _ in 0..WINDOW {
            credit_tx.send(()).await.unwrap();
        }
        let tx_sock = client.clone();
        let sender = tokio::spawn(async move {
            for i in 0..N {
                credit_rx.recv().await.unwrap();
                tx_sock.send(&i.to_le_bytes()).await.unwrap();
            }
        });
        let mut seen = vec![false; N as usize];
        let mut buf = [0u8; 64];
        for _ in 0..N {
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(n, 4);
            let i = u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize;
            assert!(!seen[i], "duplicate {i}");
            seen[i] = true;
            let _ = credit_tx.try_send(());
        }
        assert!(seen.iter().all(|s| *s));
        sender.await.unwrap();
        echo.await.unwrap();
    })
    .await
    .expect("timed out");
}

#[test]
fn try_recv_would_block_when_empty_then_ready() {
    block_on(T, async {
        let a = local().await;
        let b = local().await;
        let mut buf = [0u8; 16];
        assert_would_block(b.try_recv(&mut buf));
        assert_would_block(b.try_recv_from(&mut buf));
        assert_would_block(b.try_peek_from(&mut buf));
        assert_would_block(b.try_peek_sender());
        a.writable().await.unwrap();
        assert_eq!(a.try_send_to(b"hello", b.local_addr().unwrap()).unwrap(), 5);
        // Bounded wait-and-try loop: readiness may be spurious.
        let (n, from) = retry_would_block(|| b.readable(), || b.try_recv_from(&mut buf)).await;
        assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr().unwrap()));
        // Drained again: WouldBlock, and the readiness was cleared.
        assert_would_block(b.try_recv(&mut buf));
        // try_send on a connected socket.
        a.connect(b.local_addr().unwrap()).await.unwrap();
        let r = a.ready(Interest::WRITABLE).await.unwrap();
        assert!(r.is_writable());
        assert_eq!(a.try_send(b"xy").unwrap(), 2);
        let r = b.ready(Interest::READABLE | Interest::WRITABLE).await.unwrap();
        assert!(r.is_readable() || r.is_writable());
        b.readable().await.unwrap();
        // try_io / async_io around a raw call.
        let n = b
            .async_io(Interest::READABLE, || {
                socket2::SockRef::from(&b).recv(sockwq_test_uninit(&mut buf))
            })
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"xy");
        let e = b
            .try_io(Interest::READABLE, || {
                socket2::SockRef::from(&b).recv(sockwq_test_uninit(&mut buf))
            })
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    });
}

/// `&mut [u8]` as `&mut [MaybeUninit<u8>]` for socket2's `recv`.
fn sockwq_test_uninit(buf: &mut [u8]) -> &mut [std::mem::MaybeUninit<u8>] {
    // SAFETY: same layout; `recv` only writes initialized bytes.
    unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) }
}

#[test]
fn peek_variants_leave_the_datagram_queued() {
    block_on(T, async {
        let a = local().await;
        let b = local().await;
        let aaddr = a.local_addr().unwrap();
        a.send_to(b"peekaboo", b.local_addr().unwrap()).await.unwrap();
        assert_eq!(b.peek_sender().await.unwrap(), aaddr);
        let mut buf = [0u8; 32];
        let (n, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"peekaboo"[..], aaddr));
        assert_eq!(b.try_peek_from(&mut buf).unwrap().0, 8);
        b.connect(aaddr).await.unwrap();
        assert_eq!(b.peek(&mut buf).await.unwrap(), 8);
        assert_eq!(b.try_peek(&mut buf).unwrap(), 8);
        assert_eq!(
            std::future::poll_fn(|cx| b.poll_peek_sender(cx)).await.unwrap(),
            aaddr
        );
        assert_eq!(b.recv(&mut buf).await.unwrap(), 8);
        assert_would_block(b.try_peek(&mut buf));
    });
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn poll_api_with_readbuf_does_not_need_zeroed_memory() {
    use std::mem::MaybeUninit;
    tokio::time::timeout(LIMIT, async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (aaddr, baddr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let mut storage = [MaybeUninit::<u8>::uninit(); 16];

        std::future::poll_fn(|cx| a.poll_send_to(cx, b"0123456789abcdefXYZ", baddr))
            .await
            .unwrap();
        // poll_peek_from, then poll_recv_from: truncated to the 16 bytes of room.
        let mut rb = tokio::io::ReadBuf::uninit(&mut storage);
        let from = std::future::poll_fn(|cx| b.poll_peek_from(cx, &mut rb))
            .await
            .unwrap();
        assert_eq!((rb.filled(), from), (&b"0123456789abcdef"[..], aaddr));
        let mut rb = tokio::io::ReadBuf::uninit(&mut storage);
        let from = std::future::poll_fn(|cx| b.poll_recv_from(cx, &mut rb))
            .await
            .unwrap();
        assert_eq!((rb.filled(), from), (&b"0123456789abcdef"[..], aaddr));

        // Connected: poll_send / poll_peek / poll_recv, appending to a
        // partly filled ReadBuf.
        a.connect(baddr).await.unwrap();
        b.connect(aaddr).await.unwrap();
        std::future::poll_fn(|cx| a.poll_send(cx, b"tail")).await.unwrap();
        std::future::poll_fn(|cx| b.poll_recv_ready(cx)).await.unwrap();
        std::future::poll_fn(|cx| a.poll_send_ready(cx)).await.unwrap();
        let mut rb = tokio::io::ReadBuf::uninit(&mut storage);
        rb.put_slice(b"head-");
        std::future::poll_fn(|cx| b.poll_peek(cx, &mut rb)).await.unwrap();
        assert_eq!(rb.filled(), b"head-tail");
        let mut rb = tokio::io::ReadBuf::uninit(&mut storage);
        rb.put_slice(b"head-");
        std::future::poll_fn(|cx| b.poll_recv(cx, &mut rb)).await.unwrap();
        assert_eq!(rb.filled(), b"head-tail");
    })
    .await
    .expect("timed out");
}

#[test]
fn connected_socket_reports_refused_not_hang() {
    block_on(T, async {
        // A port that was just free: bind, note it, close.
        let gone = local().await;
        let gone_addr = gone.local_addr().unwrap();
        drop(gone);
        let a = local().await;
        a.connect(gone_addr).await.unwrap();
        a.send(b"anyone?").await.unwrap();
        let mut buf = [0u8; 8];
        // The ICMP port-unreachable comes back as ConnectionRefused on
        // recv (or on a later send): bounded tries, never a hang.
        let mut err = None;
        for _ in 0..10 {
            match a.recv(&mut buf).await {
                Err(e) => {
                    err = Some(e);
                    break;
                }
                Ok(_) => continue,
            }
        }
        assert_eq!(err.expect("an error").kind(), io::ErrorKind::ConnectionRefused);
    });
}

/// tokio's deprecated `tos`/`set_tos` are the same `IP_TOS` as
/// `tos_v4`/`set_tos_v4`: a value set through one is read through the other,
/// and the kernel sees it (a datagram still flows).
#[test]
#[allow(deprecated)]
fn deprecated_tos_aliases_are_ip_tos() {
    block_on(T, async {
        let (a, b) = (local().await, local().await);
        assert_eq!(a.tos().unwrap(), a.tos_v4().unwrap());
        a.set_tos(0x20).unwrap();
        assert_eq!(a.tos_v4().unwrap(), 0x20);
        assert_eq!(a.tos().unwrap(), 0x20);
        a.set_tos_v4(0x08).unwrap();
        assert_eq!(a.tos().unwrap(), 0x08);
        a.send_to(b"tos", b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0u8; 8];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"tos"[..], a.local_addr().unwrap()));
    });
}

#[test]
fn options_round_trip() {
    block_on(T, async {
        let s = local().await;
        assert!(!s.broadcast().unwrap());
        s.set_broadcast(true).unwrap();
        assert!(s.broadcast().unwrap());
        s.set_ttl(42).unwrap();
        assert_eq!(s.ttl().unwrap(), 42);
        s.set_multicast_ttl_v4(3).unwrap();
        assert_eq!(s.multicast_ttl_v4().unwrap(), 3);
        s.set_multicast_loop_v4(false).unwrap();
        assert!(!s.multicast_loop_v4().unwrap());
        s.set_tos_v4(0x10).unwrap();
        assert_eq!(s.tos_v4().unwrap(), 0x10);
        assert_eq!(s.device().unwrap(), None);
        assert_eq!(s.take_error().unwrap().map(|e| e.kind()), None);
        // An invalid value is an error, not a panic.
        assert!(s.set_ttl(1000).is_err());
        // IPv6 options on an IPv6 socket, if the host has IPv6.
        if let Ok(s6) = UdpSocket::bind("[::1]:0").await {
            s6.set_multicast_loop_v6(false).unwrap();
            assert!(!s6.multicast_loop_v6().unwrap());
            s6.set_tclass_v6(0x20).unwrap();
            assert_eq!(s6.tclass_v6().unwrap(), 0x20);
        }
    });
}

#[test]
fn multicast_join_leave_v4_on_loopback() {
    block_on(T, async {
        let group = Ipv4Addr::new(239, 255, 77, 77);
        let recv = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        let port = recv.local_addr().unwrap().port();
        match recv.join_multicast_v4(group, Ipv4Addr::LOCALHOST) {
            Ok(()) => {}
            // Containers without multicast support on lo: nothing to test.
            Err(e) => {
                eprintln!("multicast unavailable here: {e}");
                return;
            }
        }
        // Joining twice is an error, not a panic.
        assert!(recv.join_multicast_v4(group, Ipv4Addr::LOCALHOST).is_err());
        let send = local().await;
        send.set_multicast_loop_v4(true).unwrap();
        // Send through lo (IP_MULTICAST_IF by source address).
        socket2::SockRef::from(&send)
            .set_multicast_if_v4(&Ipv4Addr::LOCALHOST)
            .unwrap();
        send.send_to(b"mc", SocketAddr::from((group, port)))
            .await
            .unwrap();
        let mut buf = [0u8; 8];
        let (n, _) = recv.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"mc");
        recv.leave_multicast_v4(group, Ipv4Addr::LOCALHOST).unwrap();
        assert!(recv.leave_multicast_v4(group, Ipv4Addr::LOCALHOST).is_err());
    });
}

#[test]
fn std_interop_and_bad_input() {
    block_on(T, async {
        // from_std / into_std / TryFrom.
        let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = std_sock.local_addr().unwrap();
        let s = UdpSocket::try_from(std_sock).unwrap();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.send_to(b"std", addr).unwrap();
        let mut buf = [0u8; 8];
        let (n, from) = s.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"std"[..], peer.local_addr().unwrap()));
        let back = s.into_std().unwrap();
        back.set_nonblocking(false).unwrap();
        back.set_read_timeout(Some(LIMIT)).unwrap();
        peer.send_to(b"again", addr).unwrap();
        let (n, _) = back.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"again");
        let s = UdpSocket::from_std(back).unwrap();
        assert_eq!(s.local_addr().unwrap(), addr);

        // Bad input: clear errors.
        let e = UdpSocket::bind("not an address").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = UdpSocket::bind(&[][..]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = UdpSocket::bind("192.0.2.1:0").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrNotAvailable);
        let e = s.send_to(b"x", &[][..]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = s.connect("").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        // Oversized datagram: EMSGSIZE, an error.
        assert!(s.send_to(&vec![0u8; 70_000], addr).await.is_err());
        // Unconnected send: an error (EDESTADDRREQ), not a hang.
        assert!(s.send(b"x").await.is_err());
    });
}

#[test]
fn recv_buf_variants_fill_spare_capacity() {
    block_on(T, async {
        let a = local().await;
        let b = local().await;
        let (aaddr, baddr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let mut v: Vec<u8> = Vec::with_capacity(8);
        assert_would_block(b.try_recv_buf(&mut v));
        a.send_to(b"first", baddr).await.unwrap();
        let (n, from) = b.recv_buf_from(&mut v).await.unwrap();
        assert_eq!((n, from, &v[..]), (5, aaddr, &b"first"[..]));
        b.connect(aaddr).await.unwrap();
        a.send_to(b"+second", baddr).await.unwrap();
        // Truncated to the 3 bytes of spare capacity left (documented).
        let n = b.recv_buf(&mut v).await.unwrap();
        assert_eq!((n, &v[..]), (3, &b"first+se"[..]));
        v.reserve(64);
        a.send_to(b"cond", baddr).await.unwrap();
        assert_eq!(b.recv_buf(&mut v).await.unwrap(), 4);
        a.send_to(b"!", baddr).await.unwrap();
        let got = retry_would_block(|| b.readable(), || b.try_recv_buf_from(&mut v)).await;
        assert_eq!(got, (1, aaddr));
        assert_eq!(v, b"first+second!");
    });
}

#[test]
fn udp_socket_is_send_sync_unpin() {
    fn check<T: Send + Sync + Unpin + std::fmt::Debug>() {}
    check::<UdpSocket>();
}

/// A task that keeps sending datagrams (loopback `send_to` never waits)
/// spends its IO budget and yields: a `spawn_local` task queued behind it
/// runs after at most `coop::BUDGET` sends, as behind a tokio socket.
#[test]
fn a_send_to_loop_yields_after_its_budget() {
    use std::cell::Cell;
    use std::rc::Rc;
    let seen = support::with_watchdog(60, || {
        sockwq_runtime::block_on(async {
            let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let to = rx.local_addr().unwrap();
            let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            // The first send waits for the socket's first writable report;
            // from then on every send is ready at once.
            tx.send_to(b"x", to).await.unwrap();
            let sends = Rc::new(Cell::new(0usize));
            let s = sends.clone();
            // Queued behind the sender: runs when the sender yields.
            let other = sockwq_runtime::spawn_local(async move { s.get() });
            for _ in 0..10_000 {
                tx.send_to(b"x", to).await.unwrap();
                sends.set(sends.get() + 1);
            }
            other.await.unwrap()
        })
    });
    assert!(
        seen <= sockwq_reactor::coop::BUDGET as usize,
        "the other task ran only after {seen} sends (budget {})",
        sockwq_reactor::coop::BUDGET
    );
    assert!(seen > 0, "the sender yielded before its first send");
}
