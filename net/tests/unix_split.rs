//! Unix stream split halves: owned halves on separate threads and reunited,
//! reunite refusing halves of another stream, a dropped write half shutting
//! down (`forget` does not), and borrowed halves read and written at once.

use sockwq_test_support as support;

use std::io;
use std::sync::mpsc;
use std::time::Duration;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use sockwq_net::UnixStream;

use support::{assert_would_block, block_on};

/// Seconds a test may take: a hang fails it instead of hanging the suite.
const T: u64 = 30;
const LIMIT: Duration = Duration::from_secs(T);

#[test]
fn owned_halves_on_two_threads_and_reunite() {
    let (a, b) = UnixStream::pair().unwrap();
    // `b` echoes on its own thread.
    let echo = std::thread::spawn(move || {
        futures::executor::block_on(async move {
            let (mut r, mut w) = b.into_split();
            futures_util::io::copy(&mut r, &mut w)
                .await
                .map(|_| r.reunite(w).is_ok())
        })
    });

    let (mut r, mut w) = a.into_split();
    const TOTAL: usize = 1 << 20;
    let writer = std::thread::spawn(move || {
        futures::executor::block_on(async move {
            let chunk: Vec<u8> = (0..8192u32).map(|i| (i % 251) as u8).collect();
            let mut sent = 0;
            while sent < TOTAL {
                w.write_all(&chunk).await.unwrap();
                sent += chunk.len();
            }
            w
        })
    });
    let reader = std::thread::spawn(move || {
        futures::executor::block_on(async move {
            let mut got = vec![0u8; TOTAL];
            r.read_exact(&mut got).await.unwrap();
            for (i, b) in got.iter().enumerate() {
                assert_eq!(*b, ((i % 8192) % 251) as u8, "byte {i}");
            }
            r
        })
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let w = writer.join();
        let r = reader.join();
        let _ = tx.send((w, r));
    });
    let (w, r) = rx.recv_timeout(LIMIT).expect("split halves hung");
    let (w, r) = (w.unwrap(), r.unwrap());
    // Reunite; then dropping the stream closes it: the echo side sees EOF.
    let stream = r.reunite(w).expect("same stream");
    drop(stream);
    assert!(echo.join().unwrap().unwrap(), "echo halves reunite");
}

#[test]
fn reunite_mismatch_and_write_half_drop_shuts_down() {
    block_on(T, async {
        let (a, mut a_peer) = UnixStream::pair().unwrap();
        let (b, _b_peer) = UnixStream::pair().unwrap();
        let (ar, aw) = a.into_split();
        let (br, bw) = b.into_split();
        let err = ar.reunite(bw).unwrap_err();
        assert!(err.to_string().contains("not from the same socket"));
        let (ar, bw) = (err.0, err.1);
        drop((br, bw));
        // Dropping the write half shuts down writing: the peer reads EOF
        // while the read half still works.
        drop(aw);
        let mut rest = Vec::new();
        a_peer.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        a_peer.write_all(b"still").await.unwrap();
        let mut buf = [0u8; 5];
        let mut ar = ar;
        ar.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still");
        assert!(ar.peer_addr().unwrap().is_unnamed());
    });
}

#[test]
fn forget_keeps_write_direction_open() {
    block_on(T, async {
        let (a, b) = UnixStream::pair().unwrap();
        let (ar, aw) = a.into_split();
        aw.forget();
        // No shutdown: the peer sees no EOF yet.
        let mut buf = [0u8; 1];
        assert_would_block(b.try_read(&mut buf));
        drop(ar);
        // Now the whole socket is closed.
        let mut b = b;
        assert_eq!(b.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn borrowed_split_read_and_write_concurrently() {
    block_on(T, async {
        let (mut a, b) = UnixStream::pair().unwrap();
        let echo = std::thread::spawn(move || {
            futures::executor::block_on(async move {
                let mut b = b;
                let mut buf = [0u8; 4096];
                loop {
                    let n = b.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<(), io::Error>(());
                    }
                    b.write_all(&buf[..n]).await?;
                }
            })
        });
        // `UnixStream::split` (futures' `AsyncReadExt::split` would win the
        // method lookup here, as it takes `self` by value).
        let (mut r, mut w) = UnixStream::split(&mut a);
        const N: usize = 256 * 1024;
        let data: Vec<u8> = (0..N).map(|i| (i * 7) as u8).collect();
        let mut got = vec![0u8; N];
        let (wr, rd) = futures::join!(
            async {
                w.write_all(&data).await?;
                w.close().await
            },
            r.read_exact(&mut got)
        );
        wr.unwrap();
        rd.unwrap();
        assert_eq!(got, data);
        assert!(r.local_addr().unwrap().is_unnamed() && w.peer_addr().unwrap().is_unnamed());
        echo.join().unwrap().unwrap();
    });
}
