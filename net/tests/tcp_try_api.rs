//! TCP readiness and the non-async API: `ready`/`readable`/`writable`, the
//! `try_*` family, `try_io`/`async_io`, `poll_*_ready`, and peeking on the
//! stream and on its read halves.

use sockwq_test_support as support;

use std::io::{self, IoSlice, IoSliceMut};

use futures_util::future;
use futures_util::io::{AsyncReadExt as _, AsyncWriteExt as _};
use sockwq_net::TcpStream;
use sockwq_reactor::Interest;
use support::{assert_would_block, block_on, retry_would_block, tcp_pair};

const T: u64 = 30;

#[test]
fn readiness_and_try_api() {
    block_on(T, async {
        let (client, server) = tcp_pair().await;
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

/// `poll_peek` keeps tokio's `ReadBuf` shape (with the `tokio` feature);
/// `poll_peek_slice` takes a slice with or without it, on the stream and
/// on both read halves.
#[test]
fn poll_peek_slice_on_stream_and_read_halves() {
    block_on(T, async {
        let (mut client, mut server) = tcp_pair().await;
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
