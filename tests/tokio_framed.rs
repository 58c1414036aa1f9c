//! tokio-util's `Framed<_, LinesCodec>` over a sockwq `TcpStream` on a
//! multi_thread runtime: 10,000 lines each way, every one checked.

use futures::{SinkExt, StreamExt};
use sockwq::net::{TcpListener, TcpStream};
use sockwq_test_support::with_watchdog;
use tokio_util::codec::{Framed, LinesCodec};

const LINES: usize = 10_000;

fn line(side: &str, i: usize) -> String {
    // Varying lengths, so that lines straddle reads.
    format!("{side} line {i} {}", "x".repeat(i % 97))
}

#[test]
fn lines_codec_both_ways_on_multi_thread() {
    with_watchdog(120, || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (s, _) = listener.accept().await.unwrap();
                let (mut tx, mut rx) = Framed::new(s, LinesCodec::new()).split();
                // Send and receive at once, on two tasks.
                let sender = tokio::spawn(async move {
                    for i in 0..LINES {
                        tx.send(line("server", i)).await.unwrap();
                    }
                    tx.close().await.unwrap();
                });
                for i in 0..LINES {
                    assert_eq!(rx.next().await.unwrap().unwrap(), line("client", i));
                }
                sender.await.unwrap();
            });
            let s = TcpStream::connect(addr).await.unwrap();
            let (mut tx, mut rx) = Framed::new(s, LinesCodec::new()).split();
            let sender = tokio::spawn(async move {
                for i in 0..LINES {
                    tx.send(line("client", i)).await.unwrap();
                }
                tx.close().await.unwrap();
            });
            for i in 0..LINES {
                assert_eq!(rx.next().await.unwrap().unwrap(), line("server", i));
            }
            // The server closed its half after its last line.
            assert!(rx.next().await.is_none());
            sender.await.unwrap();
            server.await.unwrap();
        });
    });
}
