//! sockwq sockets inside tokio runtimes: one echo test run on
//! current_thread, multi_thread and `LocalRuntime`, each runtime driving
//! its own sockwq reactor.

use std::io;
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;

use sockwq::net::{TcpListener, TcpStream};
use sockwq::reactor::Async;
use sockwq_test_support::with_watchdog;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONNS: usize = 8;
const ROUNDS: usize = 200;

/// `CONNS` clients of `ROUNDS` checked messages each against an echo
/// server built on `tokio::io::copy`, all on sockwq sockets.
async fn echo_round_trips() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        for _ in 0..CONNS {
            let (mut s, _) = listener.accept().await?;
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
        Ok::<(), io::Error>(())
    });
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..CONNS {
        clients.spawn(client(addr, c));
    }
    while let Some(r) = clients.join_next().await {
        r.map_err(io::Error::other)??;
    }
    Ok(())
}

async fn client(addr: SocketAddr, c: usize) -> io::Result<()> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut back = [0u8; 32];
    for i in 0..ROUNDS {
        let msg = format!("{c:04}:{i:08}:ping-pong......");
        s.write_all(msg.as_bytes()).await?;
        s.read_exact(&mut back[..msg.len()]).await?;
        assert_eq!(&back[..msg.len()], msg.as_bytes());
    }
    s.shutdown().await?;
    assert_eq!(s.read(&mut back).await?, 0, "the echo side closes after our FIN");
    Ok(())
}

/// The reactor a new fd joins here, and that it is this runtime's.
fn joined_reactor() -> io::Result<sockwq::reactor::Handle> {
    let (a, _b) = UnixStream::pair()?;
    let a = Async::new(a)?;
    let h = a.registration().handle().clone();
    assert_eq!(h, sockwq::reactor::tokio::handle()?);
    Ok(h)
}

#[test]
fn echo_on_current_thread() {
    with_watchdog(60, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            joined_reactor()?;
            echo_round_trips().await
        })
        .unwrap();
    });
}

#[test]
fn echo_on_multi_thread() {
    with_watchdog(60, || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // On a worker as well as in block_on: the same reactor.
            let outside = joined_reactor()?;
            let inside = tokio::spawn(async { joined_reactor() })
                .await
                .map_err(io::Error::other)??;
            assert_eq!(outside, inside);
            echo_round_trips().await
        })
        .unwrap();
    });
}

#[test]
fn echo_on_local_runtime() {
    with_watchdog(60, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build_local(Default::default())
            .unwrap();
        rt.block_on(async {
            joined_reactor()?;
            // `!Send` tasks too: a sockwq socket in a `spawn_local` task.
            let local = tokio::task::spawn_local(async {
                let rc = std::rc::Rc::new(());
                let r = echo_round_trips().await;
                drop(rc);
                r
            });
            local.await.map_err(io::Error::other)?
        })
        .unwrap();
    });
}

#[test]
fn two_runtimes_on_one_thread_each_have_their_own_reactor() {
    with_watchdog(60, || {
        let rt1 = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let rt2 = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let a1 = rt1.block_on(async { joined_reactor() }).unwrap();
        let b1 = rt2.block_on(async { joined_reactor() }).unwrap();
        let a2 = rt1.block_on(async { joined_reactor() }).unwrap();
        let b2 = rt2.block_on(async { joined_reactor() }).unwrap();
        assert_ne!(a1, b1, "two runtimes, two reactors");
        assert_eq!(a1, a2);
        assert_eq!(b1, b2);
        // Under `Handle::enter` (no block_on) as well.
        let _g = rt2.enter();
        assert_eq!(joined_reactor().unwrap(), b1);
        // Both serve IO, used in turn.
        rt1.block_on(echo_round_trips()).unwrap();
        rt2.block_on(echo_round_trips()).unwrap();
    });
}

/// More sockets ready at once than one turn takes (256 events): the rest
/// are turned in later batches (the driver task's hand-over), none lost.
#[test]
fn more_ready_sockets_than_a_batch() {
    const N: usize = 700;
    for multi in [false, true] {
        with_watchdog(60, move || {
            let rt = if multi {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
            } else {
                tokio::runtime::Builder::new_current_thread().enable_all().build()
            }
            .unwrap();
            rt.block_on(async {
                let mut peers = Vec::new();
                let mut readers = tokio::task::JoinSet::new();
                for _ in 0..N {
                    let (a, b) = UnixStream::pair().unwrap();
                    a.set_nonblocking(true).unwrap();
                    let mut a = sockwq::net::UnixStream::from_std(a).unwrap();
                    peers.push(b);
                    readers.spawn(async move {
                        let mut byte = [0u8; 1];
                        a.read_exact(&mut byte).await.map(|_| byte[0])
                    });
                }
                // Every reader waits; then all become readable at once.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                for b in &mut peers {
                    std::io::Write::write_all(b, b"!").unwrap();
                }
                let mut n = 0;
                while let Some(r) = readers.join_next().await {
                    assert_eq!(r.unwrap().unwrap(), b'!');
                    n += 1;
                }
                assert_eq!(n, N);
            });
        });
    }
}
