//! A tokio runtime that shuts down takes its sockwq reactor with it: drop
//! is prompt with sockwq IO pending, later IO on its sockets fails with the
//! error `tokio::runtime::is_rt_shutdown_err` recognizes (the one tokio's
//! own sockets give), and no fd is left open.
//!
//! The only test of its binary: it counts the process's open fds.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sockwq::net::{TcpListener, TcpStream};
use sockwq_test_support::{open_fds, with_watchdog};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::{Runtime, is_rt_shutdown_err};

/// A runtime flavour: its name and how to build one.
type Flavor = (&'static str, fn() -> Runtime);

fn runtimes() -> [Flavor; 2] {
    [
        ("current_thread", || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        }),
        ("multi_thread", || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
        }),
    ]
}

/// Sockets of a runtime that outlive it, and one tokio listener next to
/// them (the reference for the error).
struct Survivors {
    client: TcpStream,
    listener: TcpListener,
    waited_on: TcpListener,
    tokio_listener: tokio::net::TcpListener,
}

async fn setup() -> io::Result<Survivors> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let client = TcpStream::connect(addr).await?;
    let (server, _) = listener.accept().await?;
    // Tasks with sockwq IO pending when the runtime goes down.
    tokio::spawn(async move {
        let mut server = server;
        let mut buf = [0u8; 8];
        let _ = server.read(&mut buf).await;
    });
    let pending_accept = TcpListener::bind("127.0.0.1:0").await?;
    tokio::spawn(async move {
        let _ = pending_accept.accept().await;
    });
    let waited_on = TcpListener::bind("127.0.0.1:0").await?;
    let tokio_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    // Let the tasks reach their pending IO.
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(Survivors {
        client,
        listener,
        waited_on,
        tokio_listener,
    })
}

fn cycle(name: &str, build: fn() -> Runtime) {
    let rt = build();
    let Survivors {
        mut client,
        listener,
        waited_on,
        tokio_listener,
    } = rt.block_on(setup()).unwrap();
    assert!(sockwq::reactor::tokio::runtimes() >= 1);

    // Another thread (another runtime) waits on one of rt's sockets.
    let waiter = std::thread::spawn(move || {
        let rt2 = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt2.block_on(async { waited_on.accept().await.map(drop) })
    });
    std::thread::sleep(Duration::from_millis(20));

    let t = Instant::now();
    drop(rt);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "{name}: runtime drop took {:?}",
        t.elapsed()
    );

    // The pending accept on the other runtime ends with the shutdown error.
    let e = waiter.join().unwrap().unwrap_err();
    assert!(is_rt_shutdown_err(&e), "{name}: pending accept: {e:?}");

    // As in tokio's docs for `is_rt_shutdown_err`: IO on another runtime.
    let rt2 = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt2.block_on(async {
        let ours = listener.accept().await.map(drop).unwrap_err();
        let theirs = tokio_listener.accept().await.map(drop).unwrap_err();
        assert!(is_rt_shutdown_err(&theirs));
        assert!(is_rt_shutdown_err(&ours), "{name}: accept: {ours:?}");
        assert_eq!(
            (ours.kind(), ours.to_string()),
            (theirs.kind(), theirs.to_string())
        );
        let mut buf = [0u8; 8];
        let e = client.read(&mut buf).await.unwrap_err();
        assert!(is_rt_shutdown_err(&e), "{name}: read: {e:?}");
        let e = client.write(b"x").await.unwrap_err();
        assert!(is_rt_shutdown_err(&e), "{name}: write: {e:?}");
        // rt2's own sockwq sockets work: a reactor of its own.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (mut s, _) = l.accept().await.unwrap();
        c.write_all(b"ok").await.unwrap();
        s.read_exact(&mut buf[..2]).await.unwrap();
        assert_eq!(&buf[..2], b"ok");
    });
    drop((client, listener, tokio_listener));
    drop(rt2);
}

/// A runtime whose driver task never runs: sockets made under
/// `Runtime::enter`, and the runtime dropped without a `block_on`.
fn never_driven() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let l = {
        let _g = rt.enter();
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let _a = sockwq::reactor::Async::new(a).unwrap();
        let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std.set_nonblocking(true).unwrap();
        TcpListener::from_std(std).unwrap()
    };
    drop(rt);
    let e = futures::executor::block_on(l.accept()).map(drop).unwrap_err();
    assert!(is_rt_shutdown_err(&e), "never driven: {e:?}");
}

#[test]
fn runtime_drop_with_pending_io_then_shutdown_error_and_no_fd_leak() {
    with_watchdog(120, || {
        // Warm-up: anything created once per process exists from here on.
        for (name, build) in runtimes() {
            cycle(name, build);
        }
        never_driven();
        let before = open_fds();
        for _ in 0..3 {
            for (name, build) in runtimes() {
                cycle(name, build);
            }
            never_driven();
        }
        assert_eq!(open_fds(), before, "fds leaked by runtimes that shut down");
        assert_eq!(
            sockwq::reactor::tokio::runtimes(),
            0,
            "registry entries of dead runtimes"
        );
    });
}
