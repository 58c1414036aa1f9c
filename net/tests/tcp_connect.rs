//! TCP connect and bind by address: refused ports, several addresses tried
//! in turn, bad addresses and addresses in use, host names, IPv6 loopback.

use sockwq_test_support as support;

use std::io;
use std::net::SocketAddr;

use futures_util::future;
use futures_util::io::{AsyncReadExt as _, AsyncWriteExt as _};
use sockwq_net::{TcpListener, TcpSocket, TcpStream, lookup_host};
use support::block_on;

const T: u64 = 30;

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
