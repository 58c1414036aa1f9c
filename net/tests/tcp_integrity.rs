//! Integrity: 64 MiB of pseudo-random bytes each way at once over one TCP
//! connection, random write and read sizes, checksums equal. One side
//! drives tokio's AsyncRead/AsyncWrite, the other futures-io's.
#![cfg(feature = "tokio")] // drives sockwq sockets through tokio's AsyncRead/AsyncWrite

use sockwq_test_support as support;

use sockwq_net::{TcpListener, TcpStream};
use support::{Checksum, Rng};

const TOTAL: usize = 64 << 20;
const MAX_CHUNK: usize = 256 << 10;

/// `send` writes `TOTAL` pseudo-random bytes in random-sized chunks, then
/// closes the write side; `recv` reads in random-sized chunks to the end.
/// Both return the checksum of what went through. `$io` names the traits
/// (tokio's or futures-io's), `$close` the method that ends the writes.
macro_rules! send_recv {
    ($via:ident, $io:path, $close:ident) => {
        mod $via {
            use super::*;
            use io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
            use $io as io;

            pub(crate) async fn send(mut w: impl AsyncWrite + Unpin, seed: u64) -> Checksum {
                let mut rng = Rng::new(seed);
                let mut sum = Checksum::default();
                let mut buf = vec![0u8; MAX_CHUNK];
                let mut left = TOTAL;
                while left > 0 {
                    let n = rng.range(1, MAX_CHUNK).min(left);
                    rng.fill(&mut buf[..n]);
                    w.write_all(&buf[..n]).await.unwrap();
                    sum.update(&buf[..n]);
                    left -= n;
                }
                w.$close().await.unwrap();
                sum
            }

            pub(crate) async fn recv(mut r: impl AsyncRead + Unpin, seed: u64) -> Checksum {
                let mut rng = Rng::new(seed);
                let mut sum = Checksum::default();
                let mut buf = vec![0u8; MAX_CHUNK];
                loop {
                    let want = rng.range(1, MAX_CHUNK);
                    let n = r.read(&mut buf[..want]).await.unwrap();
                    if n == 0 {
                        return sum;
                    }
                    sum.update(&buf[..n]);
                }
            }
        }
    };
}

send_recv!(via_tokio, tokio::io, shutdown);
send_recv!(via_futures, futures_util::io, close);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_mib_each_way_at_once() {
    support::timeout(50, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let (server, _) = accepted.unwrap();
        let (c_rd, c_wr) = client.unwrap().into_split();
        let (s_rd, s_wr) = server.into_split();

        let c_send = tokio::spawn(via_tokio::send(c_wr, 1));
        let c_recv = tokio::spawn(via_tokio::recv(c_rd, 2));
        let s_send = tokio::spawn(via_futures::send(s_wr, 3));
        let s_recv = tokio::spawn(via_futures::recv(s_rd, 4));

        let (c_sent, s_got) = (c_send.await.unwrap(), s_recv.await.unwrap());
        let (s_sent, c_got) = (s_send.await.unwrap(), c_recv.await.unwrap());
        assert_eq!(c_sent.len, TOTAL as u64);
        assert_eq!(s_sent.len, TOTAL as u64);
        assert_eq!(c_sent, s_got, "client -> server");
        assert_eq!(s_sent, c_got, "server -> client");
        assert_ne!(c_sent.hash, s_sent.hash);
    })
    .await;
}
