//! Shutting down the write side of a stream whose peer has gone away is
//! `Ok(())`, as in tokio 1.54 (tokio #4665 for TCP, #8520 for Unix): its
//! `shutdown_std` maps `NotConnected` to success, and every write-side
//! shutdown goes through it (the stream's and its halves' `poll_shutdown`,
//! the owned write half's drop).
//!
//! After a TCP reset the socket is `CLOSED` and `shutdown(2)` fails with
//! `ENOTCONN`. The reset comes from a std peer with a zero `SO_LINGER`
//! (socket2), so the peer does not depend on the code under test.

use sockwq_test_support as support;

use std::io;
use std::net::{Shutdown, TcpListener as StdListener};
use std::time::Duration;

use futures_util::io::{AsyncReadExt as _, AsyncWriteExt as _};
use sockwq_net::{TcpStream, UnixStream};
use support::block_on;

const T: u64 = 30;

/// A connected client whose peer has reset the connection, once the reset
/// has arrived (the client is readable: the peer sent no data).
async fn reset_client() -> TcpStream {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (peer, _) = listener.accept().unwrap();
    socket2::SockRef::from(&peer)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(peer); // RST
    client.readable().await.unwrap();
    client
}

/// The kernel's answer that the fix maps: without it, each test below gets
/// this error from its shutdown.
#[test]
fn the_kernel_says_not_connected_after_a_reset() {
    block_on(T, async {
        let client = reset_client().await;
        let std = client.into_std().unwrap();
        let err = std.shutdown(Shutdown::Write).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotConnected, "{err:?}");
    });
}

#[test]
fn tcp_close_after_peer_reset_is_ok() {
    block_on(T, async {
        let mut client = reset_client().await;
        client.close().await.unwrap();
        // The reset is still reported to a reader: the shutdown hid nothing.
        let err = client.read(&mut [0u8; 8]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err:?}");
    });
}

#[test]
fn tcp_split_halves_close_after_peer_reset_is_ok() {
    block_on(T, async {
        let mut client = reset_client().await;
        let (_rd, mut wr) = TcpStream::split(&mut client);
        wr.close().await.unwrap();

        let client = reset_client().await;
        let (rd, mut wr) = client.into_split();
        wr.close().await.unwrap();
        // The owned half recorded the shutdown; reuniting still works.
        rd.reunite(wr).unwrap();
    });
}

#[cfg(feature = "tokio")]
#[test]
fn tcp_tokio_shutdown_after_peer_reset_is_ok() {
    use tokio::io::AsyncWriteExt as _;
    block_on(T, async {
        let mut client = reset_client().await;
        client.shutdown().await.unwrap();

        let mut client = reset_client().await;
        let (_rd, mut wr) = TcpStream::split(&mut client);
        wr.shutdown().await.unwrap();

        let (_rd, mut wr) = reset_client().await.into_split();
        wr.shutdown().await.unwrap();
    });
}

/// A still-connected stream's shutdown is real: the peer reads EOF. (The
/// mapping must not turn other outcomes into a silent no-op.)
#[test]
fn tcp_close_of_a_live_stream_still_sends_fin() {
    block_on(T, async {
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        client.close().await.unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(T))).unwrap();
        let n = io::Read::read(&mut peer, &mut [0u8; 8]).unwrap();
        assert_eq!(n, 0, "the peer sees end of stream");
    });
}

/// Linux's `unix_shutdown` never fails with `ENOTCONN` (a stream whose peer
/// is gone shuts down fine), so on Linux this passes with or without the
/// mapping; it pins the tokio behaviour for the Unix stream and its halves.
#[test]
fn unix_close_after_peer_gone_is_ok() {
    block_on(T, async {
        let (mut a, b) = UnixStream::pair().unwrap();
        drop(b);
        a.close().await.unwrap();

        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        let (_rd, mut wr) = a.into_split();
        wr.close().await.unwrap();
    });
}
