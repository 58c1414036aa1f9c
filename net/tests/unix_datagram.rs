//! Unix datagram sockets: echo with `send_to`/`recv_from` and connected,
//! truncation, `try_recv`, peeking, unnamed senders, and tokio's `ReadBuf`
//! polling API.

use sockwq_test_support as support;

use std::io;
#[cfg(feature = "tokio")]
use std::time::Duration;

use sockwq_net::UnixDatagram;

use support::{abstract_name, assert_would_block, block_on, temp_path};

/// Seconds a test may take: a hang fails it instead of hanging the suite.
const T: u64 = 30;
#[cfg(feature = "tokio")]
const LIMIT: Duration = Duration::from_secs(T);

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
