//! TCP accept: concurrent acceptors on one listener, `incoming()`,
//! `poll_accept`, and many tokio tasks sharing a listener.

use sockwq_test_support as support;

use futures_util::{StreamExt, future};
use sockwq_net::{TcpListener, TcpStream};
use support::block_on;

const T: u64 = 30;

#[test]
fn incoming_stream_and_concurrent_acceptors() {
    block_on(T, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Two tasks accepting on one listener at once: both get served.
        let acceptors = future::join(listener.accept(), listener.accept());
        let connects = future::join(TcpStream::connect(addr), TcpStream::connect(addr));
        let ((a1, a2), (c1, c2)) = future::join(acceptors, connects).await;
        let (a1, a2, c1, c2) = (a1.unwrap().0, a2.unwrap().0, c1.unwrap(), c2.unwrap());
        let mut peers = [a1.peer_addr().unwrap(), a2.peer_addr().unwrap()];
        let mut locals = [c1.local_addr().unwrap(), c2.local_addr().unwrap()];
        peers.sort();
        locals.sort();
        assert_eq!(peers, locals);

        // incoming(): three connections, in order of acceptance.
        let clients = future::join_all((0..3).map(|_| TcpStream::connect(addr)));
        let accepted = listener.incoming().take(3).collect::<Vec<_>>();
        let (clients, accepted) = future::join(clients, accepted).await;
        assert_eq!(clients.into_iter().filter(Result::is_ok).count(), 3);
        assert_eq!(accepted.into_iter().filter(Result::is_ok).count(), 3);

        // poll_accept.
        let (c, a) = future::join(
            TcpStream::connect(addr),
            future::poll_fn(|cx| listener.poll_accept(cx)),
        )
        .await;
        assert_eq!(a.unwrap().1, c.unwrap().local_addr().unwrap());
    });
}

#[cfg(feature = "tokio")]
mod tokio_traits {
    //! tokio's AsyncRead/AsyncWrite, on tasks of a multi_thread runtime.
    use super::{T, TcpListener, TcpStream, support};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Several tasks on a multi_thread runtime accept from one shared
    /// listener (the multi-waiter path): every connection is served once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shared_listener_many_acceptors() {
        support::timeout(T, async {
            let listener = std::sync::Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let addr = listener.local_addr().unwrap();
            const CONNS: usize = 200;
            let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let acceptors: Vec<_> = (0..4)
                .map(|_| {
                    let (listener, served) = (listener.clone(), served.clone());
                    tokio::spawn(async move {
                        loop {
                            let (mut s, _) = listener.accept().await.unwrap();
                            let n = served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            s.write_all(&(n as u32).to_le_bytes()).await.unwrap();
                        }
                    })
                })
                .collect();
            let mut seen = Vec::new();
            let clients: Vec<_> = (0..CONNS)
                .map(|_| {
                    tokio::spawn(async move {
                        let mut s = TcpStream::connect(addr).await.unwrap();
                        let mut b = [0u8; 4];
                        s.read_exact(&mut b).await.unwrap();
                        u32::from_le_bytes(b)
                    })
                })
                .collect();
            for c in clients {
                seen.push(c.await.unwrap());
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..CONNS as u32).collect::<Vec<_>>());
            for a in acceptors {
                a.abort();
            }
        })
        .await;
    }
}
