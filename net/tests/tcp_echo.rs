//! TCP echo over loopback: through futures-io's traits and through tokio's
//! (on a multi_thread runtime), and half-close (the peer reads EOF and still
//! writes back).

use sockwq_test_support as support;

use std::io;

use futures_util::future;
use futures_util::io::{AsyncReadExt as _, AsyncWriteExt as _};
use sockwq_net::{TcpListener, TcpStream};
use support::{block_on, tcp_pair};

const T: u64 = 30;

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
    use super::{T, TcpListener, TcpStream, support};
    use std::io::IoSlice;
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
}

#[test]
fn half_close_peer_reads_eof_and_writes_back() {
    block_on(T, async {
        let (mut client, mut server) = tcp_pair().await;
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
