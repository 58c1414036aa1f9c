//! TCP split halves: owned halves on separate threads (checksummed stream)
//! and reunited, reunite refusing halves of another stream, a dropped write
//! half shutting down (`forget` does not), and borrowed halves.

use sockwq_test_support as support;

use std::time::Duration;

use futures_util::io::{AsyncReadExt as _, AsyncWriteExt as _};
use sockwq_net::TcpStream;
use sockwq_net::tcp::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
use support::{assert_would_block, block_on, tcp_pair};

const T: u64 = 30;

#[test]
fn split_halves_on_two_threads() {
    support::with_watchdog(T, || {
        let (client, server) = futures::executor::block_on(tcp_pair());
        // Server: echo with its own split, on its own thread.
        let echo = std::thread::spawn(move || {
            futures::executor::block_on(async move {
                let (mut rd, mut wr) = server.into_split();
                futures_util::io::copy(&mut rd, &mut wr).await.unwrap()
            })
        });
        const N: usize = 4 << 20;
        let (mut rd, mut wr): (OwnedReadHalf, OwnedWriteHalf) = client.into_split();
        let writer = std::thread::spawn(move || {
            futures::executor::block_on(async move {
                let mut rng = support::Rng::new(1);
                let mut sum = support::Checksum::default();
                let mut buf = vec![0u8; 1 << 16];
                let mut left = N;
                while left > 0 {
                    let n = rng.range(1, buf.len()).min(left);
                    rng.fill(&mut buf[..n]);
                    wr.write_all(&buf[..n]).await.unwrap();
                    sum.update(&buf[..n]);
                    left -= n;
                }
                wr.close().await.unwrap();
                (sum, wr)
            })
        });
        let reader = std::thread::spawn(move || {
            futures::executor::block_on(async move {
                let mut sum = support::Checksum::default();
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = rd.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    sum.update(&buf[..n]);
                }
                (sum, rd)
            })
        });
        let (sent, wr) = writer.join().unwrap();
        let (got, rd) = reader.join().unwrap();
        assert_eq!(sent.len, N as u64);
        assert_eq!(sent, got);
        assert_eq!(echo.join().unwrap(), N as u64);
        // The halves reunite into the original stream.
        let stream = rd.reunite(wr).unwrap();
        assert!(stream.local_addr().is_ok());
    });
}

#[test]
fn reunite_rejects_foreign_halves_and_write_half_drop_shuts_down() {
    block_on(T, async {
        let (a, a_peer) = tcp_pair().await;
        let (b, _b_peer) = tcp_pair().await;
        let (ar, aw) = a.into_split();
        let (br, bw) = b.into_split();
        let ReuniteError(ar, bw) = ar.reunite(bw).unwrap_err();
        let err = aw.reunite(br).unwrap_err();
        assert!(err.to_string().contains("not from the same socket"));
        let ReuniteError(br, aw) = err;
        // Dropping a write half shuts down its write direction: EOF at the peer.
        drop(aw);
        let mut a_peer = a_peer;
        let mut rest = Vec::new();
        a_peer.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        // forget() does not: the peer sees no EOF yet (try_read: WouldBlock).
        let (c, c_peer) = tcp_pair().await;
        let (cr, cw) = c.into_split();
        cw.forget();
        std::thread::sleep(Duration::from_millis(20));
        assert_would_block(c_peer.try_read(&mut [0u8; 1]));
        drop((ar, br, bw, cr));
    });
}

#[test]
fn borrowed_split_halves() {
    block_on(T, async {
        let (mut client, mut server) = tcp_pair().await;
        let (mut rd, mut wr) = TcpStream::split(&mut client);
        assert_eq!(rd.peer_addr().unwrap(), wr.peer_addr().unwrap());
        assert_eq!(rd.local_addr().unwrap(), wr.local_addr().unwrap());
        wr.writable().await.unwrap();
        wr.write_all(b"split").await.unwrap();
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).await.unwrap();
        server.write_all(&buf).await.unwrap();
        rd.readable().await.unwrap();
        let mut p = [0u8; 5];
        assert_eq!(rd.peek(&mut p).await.unwrap(), 5);
        rd.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"split");
        wr.close().await.unwrap();
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        assert!(std::ptr::eq(rd.as_ref(), wr.as_ref()));
    });
}
