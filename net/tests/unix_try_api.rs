//! Unix socket readiness and the non-async API: `ready`/`readable`/
//! `writable`, the `try_*` family (vectored and `BufMut`), `try_io`/
//! `async_io`, and the `recv_buf` family of datagrams.

use sockwq_test_support as support;

use std::io::{self, Read};

use sockwq_net::{UnixDatagram, UnixStream};

use support::{abstract_name, assert_would_block, block_on, retry_would_block};

/// Seconds a test may take: a hang fails it instead of hanging the suite.
const T: u64 = 30;

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
