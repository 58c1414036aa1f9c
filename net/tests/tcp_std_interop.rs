//! TCP with std's sockets: a std client against a sockwq listener, a sockwq
//! client against a std listener, and `from_std`/`into_std` round trips.

use sockwq_test_support as support;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use futures_util::io::{AsyncReadExt as _, AsyncWriteExt as _};
use sockwq_net::{TcpListener, TcpStream};
use support::block_on;

const T: u64 = 30;

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
