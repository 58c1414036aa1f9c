//! fasync notices on `sockwq::net` sockets (they implement `AsSource`; a
//! `TcpSocket` implements `Attach` before it connects), through the socket
//! types' own async methods on sockwq's runtime.

use sockwq_test_support as support;

use std::future::Future;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::io::AsyncReadExt;
use sockwq_net::{TcpListener, TcpSocket, TcpStream, UdpSocket, UnixStream};
use sockwq_reactor::fasync::{self, Code, Notice, Receiver};
use sockwq_runtime::{block_on, spawn, time};

/// `block_on` on sockwq's runtime, under a watchdog.
fn run<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
    support::with_watchdog(30, move || block_on(fut))
}

/// The next notice, or a test failure after 5 s.
async fn next(rx: &mut Receiver) -> Notice {
    match time::timeout(Duration::from_secs(5), rx.recv()).await {
        Ok(Some(n)) => n,
        Ok(None) => panic!("the channel ended"),
        Err(_) => panic!("no notice within 5 s"),
    }
}

/// Asserts that no notice comes within 100 ms.
async fn none(rx: &mut Receiver) {
    if let Ok(n) = time::timeout(Duration::from_millis(100), rx.recv()).await {
        panic!("unexpected notice {n:?}");
    }
}

#[test]
fn net_sockets_attach_and_report() {
    support::block_on(30, async {
        let (owner, mut rx) = fasync::channel(64);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _l = owner.attach(&listener).unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        // The pending connection: POLL_IN on the listener.
        let n = rx.next().await.unwrap();
        assert_eq!((n.code(), n.fd()), (Code::In, Some(listener.as_raw_fd())));
        let (server, _) = listener.accept().await.unwrap();
        let _s = owner.attach(&server).unwrap();
        client.try_write(b"x").unwrap();
        loop {
            let n = rx.next().await.unwrap();
            if n.fd() == Some(server.as_raw_fd()) {
                assert_eq!(n.code(), Code::In);
                break;
            }
        }
        // UDP and Unix sockets attach the same way.
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let _u = owner.attach(&udp).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let _a = owner.attach(&a).unwrap();
        drop(b);
        loop {
            let n = rx.next().await.unwrap();
            if n.fd() == Some(a.as_raw_fd()) && n.code() == Code::Hup {
                break;
            }
        }
    });
}

#[test]
fn a_tcp_socket_attached_before_connect_gets_the_connects_poll_out() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (owner, mut rx) = fasync::channel(16);
        let socket = TcpSocket::new_v4().unwrap();
        let sub = owner.attach(&socket).unwrap();
        assert!(!sub.is_attached(), "not registered before connect");
        let stream = socket.connect(listener.local_addr().unwrap()).await.unwrap();
        assert!(sub.is_attached());
        let n = next(&mut rx).await;
        assert_eq!((n.code(), n.band()), (Code::Out, 0x304));
        assert_eq!(
            (n.fd(), n.socket()),
            (Some(stream.as_raw_fd()), Some(sub.socket()))
        );
        none(&mut rx).await;
        // The subscription lives on with the stream.
        let (mut server, _) = listener.accept().await.unwrap();
        futures_util::io::AsyncWriteExt::write_all(&mut server, b"hi")
            .await
            .unwrap();
        assert_eq!(next(&mut rx).await.code(), Code::In);
    });
}

#[test]
fn a_refused_connect_of_an_attached_tcp_socket_is_poll_err_only() {
    run(async {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let (owner, mut rx) = fasync::channel(16);
        let socket = TcpSocket::new_v4().unwrap();
        let sub = owner.attach(&socket).unwrap();
        let err = socket.connect(port).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        let n = next(&mut rx).await;
        assert_eq!((n.code(), n.socket()), (Code::Err, Some(sub.socket())));
        none(&mut rx).await;
    });
}

#[test]
fn a_tcp_socket_attached_before_listen_gets_its_connections() {
    run(async {
        let (owner, mut rx) = fasync::channel(16);
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let _sub = owner.attach(&socket).unwrap();
        let listener = socket.listen(16).unwrap();
        let _c = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let n = next(&mut rx).await;
        assert_eq!((n.code(), n.fd()), (Code::In, Some(listener.as_raw_fd())));
    });
}

#[test]
fn split_halves_attach_as_their_stream() {
    run(async {
        let (owner, mut rx) = fasync::channel(64);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut tcp = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (peer, _) = listener.accept().await.unwrap();
        let (ua, mut ub) = {
            let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
            (UnixStream::from_std(a).unwrap(), b)
        };
        let tcp_id;
        {
            let (r, w) = TcpStream::split(&mut tcp);
            let s1 = owner.attach(&r).unwrap();
            let s2 = owner.attach(&w).unwrap();
            assert_eq!(s1.socket(), s2.socket());
            tcp_id = s1.socket();
            peer.try_write(b"1").unwrap();
            let got = [next(&mut rx).await, next(&mut rx).await];
            assert!(
                got.iter()
                    .all(|n| n.code() == Code::In && n.socket() == Some(tcp_id)),
                "{got:?}"
            );
        }
        let (r, w) = tcp.into_split();
        let s3 = owner.attach(&r).unwrap();
        let s4 = owner.attach(&w).unwrap();
        assert_eq!((s3.socket(), s4.socket()), (tcp_id, tcp_id));
        drop(s4);
        peer.try_write(b"2").unwrap();
        assert_eq!(next(&mut rx).await.socket(), Some(tcp_id));
        none(&mut rx).await;
        drop(s3);

        let (ur, uw) = ua.into_split();
        let s5 = owner.attach(&ur).unwrap();
        let s6 = owner.attach(&uw).unwrap();
        let unix_id = s5.socket();
        assert_eq!(s6.socket(), unix_id);
        assert_ne!(unix_id, tcp_id);
        drop(s6);
        ub.write_all(b"3").unwrap();
        let n = next(&mut rx).await;
        assert_eq!((n.code(), n.socket()), (Code::In, Some(unix_id)));
        let mut ua = ur.reunite(uw).unwrap();
        drop(s5);
        let (r, w) = UnixStream::split(&mut ua);
        let _s7 = owner.attach(&r).unwrap();
        let _s8 = owner.attach(&w).unwrap();
        drop(ub);
        let got = [next(&mut rx).await, next(&mut rx).await];
        assert!(
            got.iter()
                .all(|n| n.code() == Code::Hup && n.socket() == Some(unix_id)),
            "{got:?}"
        );
    });
}

#[test]
fn a_read_cancelled_by_a_timeout_leaves_no_waiting_reader() {
    run(async {
        let (owner, mut rx) = fasync::channel(16);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (peer, _) = listener.accept().await.unwrap();
        let _sub = owner.attach(&client).unwrap();
        let mut buf = [0u8; 16];
        let r = time::timeout(Duration::from_millis(30), client.read(&mut buf)).await;
        assert!(r.is_err(), "nothing to read: the read times out");
        peer.try_write(b"x").unwrap();
        assert_eq!(
            next(&mut rx).await.code(),
            Code::In,
            "the given-up read still counted as a waiting reader"
        );
    });
}

#[test]
fn a_task_waiting_in_readable_suppresses_poll_in_on_a_stream_only() {
    run(async {
        let (owner, mut rx) = fasync::channel(16);
        let (a, b) = UnixStream::pair().unwrap();
        let _sub = owner.attach(&a).unwrap();
        let a = std::sync::Arc::new(a);
        let waiter = {
            let a = a.clone();
            spawn(async move { a.readable().await.unwrap() })
        };
        time::sleep(Duration::from_millis(20)).await; // the task is waiting
        b.try_write(b"x").unwrap();
        waiter.await.unwrap();
        none(&mut rx).await;

        // UDP: the same wait suppresses nothing (no SOCKWQ_ASYNC_WAITDATA).
        let u = std::sync::Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let _su = owner.attach(&*u).unwrap();
        let receiver = {
            let u = u.clone();
            spawn(async move {
                let mut buf = [0u8; 8];
                u.recv(&mut buf).await.unwrap()
            })
        };
        time::sleep(Duration::from_millis(20)).await;
        let p = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        p.send_to(b"dgram", u.local_addr().unwrap()).unwrap();
        assert_eq!(receiver.await.unwrap(), 5, "the waiting task gets the datagram");
        let n = next(&mut rx).await;
        assert_eq!((n.code(), n.fd()), (Code::In, Some(u.as_raw_fd())));
    });
}

#[test]
fn a_listener_sends_poll_in_while_a_task_waits_in_accept() {
    run(async {
        let (owner, mut rx) = fasync::channel(16);
        let listener = std::sync::Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let _sub = owner.attach(&*listener).unwrap();
        let acceptor = {
            let l = listener.clone();
            spawn(async move { l.accept().await.map(|_| ()) })
        };
        time::sleep(Duration::from_millis(20)).await;
        let _c = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert_eq!(next(&mut rx).await.code(), Code::In);
        acceptor.await.unwrap().unwrap();
    });
}
