//! Vectored reads and writes with more buffers than the kernel takes in
//! one call (`UIO_MAXIOV`, 1024), as tokio (through std) does them: the
//! call covers the first 1024 buffers and reports that many bytes, never
//! `EMSGSIZE`; and readiness is kept, so the rest goes on at once.

use sockwq_test_support as support;

use std::io::{IoSlice, IoSliceMut};

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use sockwq_net::{TcpListener, TcpStream, UnixStream};

use support::block_on;

const T: u64 = 30;
const BUFS: usize = 2048;

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = futures::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

/// Writes 2048 one-byte slices: one non-waiting vectored write, then
/// waiting ones until all are out; reads them back with vectored reads
/// into one-byte buffers; every byte checked.
async fn check<S>(a: &mut S, b: &mut S, try_api: impl Fn(&S, &[IoSlice<'_>]) -> std::io::Result<usize>)
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let data: Vec<u8> = (0..BUFS).map(|i| (i % 251) as u8).collect();
    let slices: Vec<IoSlice<'_>> = data.chunks(1).map(IoSlice::new).collect();
    // The non-waiting form (the caller waited for writability): the first
    // 1024 slices, not EMSGSIZE.
    let n = try_api(a, &slices).expect("try_write_vectored past UIO_MAXIOV");
    assert_eq!(n, 1024, "one call covers the first UIO_MAXIOV slices");
    // The waiting form, for the rest.
    let mut sent = n;
    while sent < BUFS {
        let k = a
            .write_vectored(&slices[sent..])
            .await
            .expect("write_vectored past UIO_MAXIOV");
        assert!(k > 0 && k <= 1024, "{k}");
        sent += k;
    }
    let mut got = vec![0u8; BUFS];
    let mut read = 0;
    while read < BUFS {
        let mut bufs: Vec<IoSliceMut<'_>> = got[read..].chunks_mut(1).map(IoSliceMut::new).collect();
        let k = b
            .read_vectored(&mut bufs)
            .await
            .expect("read_vectored past UIO_MAXIOV");
        assert!(k > 0 && k <= 1024, "{k}");
        read += k;
    }
    assert_eq!(got, data);
}

#[test]
fn tcp_vectored_io_past_uio_maxiov() {
    block_on(T, async {
        let (mut a, mut b) = tcp_pair().await;
        a.set_nodelay(true).unwrap();
        a.writable().await.unwrap();
        check(&mut a, &mut b, |s, bufs| s.try_write_vectored(bufs)).await;
    });
}

#[test]
fn unix_vectored_io_past_uio_maxiov() {
    block_on(T, async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.writable().await.unwrap();
        check(&mut a, &mut b, |s, bufs| s.try_write_vectored(bufs)).await;
    });
}
