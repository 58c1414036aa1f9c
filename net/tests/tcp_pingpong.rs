//! Ping-pong of 64-byte messages over one loopback connection, for counting
//! syscalls per echoed message under `strace -c -f` (the `#[ignore]`d
//! tests), sockwq against tokio. The un-ignored test is a quick smoke run
//! of the same code on sockwq's own runtime.
//!
//! ```text
//! CARGO_TARGET_DIR=target-tcp cargo test -p sockwq-net --test tcp_pingpong --no-run
//! for t in {,short_}{tokio_current_thread,sockwq_tokio_current_thread,sockwq_block_on,sockwq_runtime} \
//!          churn_{tokio_current_thread,sockwq_block_on,sockwq_runtime}; do
//!   for n in 0 10000; do
//!     PINGPONG_N=$n strace -f -c -o /tmp/$t.$n target-tcp/debug/deps/tcp_pingpong-* \
//!       --ignored --exact strace_$t --test-threads=1
//!   done
//! done   # (total calls at 10000 - total calls at 0) / 10000 = syscalls per echoed message
//! ```
#![cfg(feature = "tokio")] // drives sockwq sockets through tokio's AsyncRead/AsyncWrite

use sockwq_test_support as support;

const MSG: usize = 64;

fn n_from_env() -> usize {
    std::env::var("PINGPONG_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

macro_rules! pingpong {
    ($net:path) => {
        use $net as net;

        /// A client and its accepted server stream over loopback, both
        /// with `TCP_NODELAY`.
        async fn connected() -> (net::TcpStream, net::TcpStream) {
            let listener = net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (c, a) = futures_util::future::join(net::TcpStream::connect(addr), listener.accept()).await;
            let client = c.unwrap();
            let server = a.unwrap().0;
            client.set_nodelay(true).unwrap();
            server.set_nodelay(true).unwrap();
            (client, server)
        }

        /// `n` round trips of a 64-byte message; client and server are
        /// two futures joined in one task.
        pub(crate) async fn run(n: usize) -> usize {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut client, mut server) = connected().await;
            let serve = async {
                let mut buf = [0u8; super::MSG];
                for _ in 0..n {
                    server.read_exact(&mut buf).await.unwrap();
                    server.write_all(&buf).await.unwrap();
                }
            };
            let ping = async {
                let mut out = [7u8; super::MSG];
                let mut back = [0u8; super::MSG];
                for i in 0..n {
                    out[0] = i as u8;
                    client.write_all(&out).await.unwrap();
                    client.read_exact(&mut back).await.unwrap();
                    assert_eq!(back, out);
                }
            };
            futures_util::future::join(serve, ping).await;
            n
        }

        /// Connection churn: `n` times connect + accept, one byte over,
        /// both sides dropped (syscalls per connection).
        pub(crate) async fn churn(n: usize) -> usize {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            for _ in 0..n {
                let (c, a) =
                    futures_util::future::join(net::TcpStream::connect(addr), listener.accept()).await;
                let (mut c, mut a) = (c.unwrap(), a.unwrap().0);
                c.write_all(b"x").await.unwrap();
                let mut b = [0u8; 1];
                a.read_exact(&mut b).await.unwrap();
            }
            n
        }

        /// The same with 4 KiB reads, as a typical echo server does: each
        /// read returns fewer bytes than asked for (a short read), which
        /// clears readiness without a trailing `EAGAIN` recv.
        pub(crate) async fn run_short_reads(n: usize) -> usize {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut client, mut server) = connected().await;
            let serve = async {
                let mut buf = [0u8; 4096];
                let mut echoed = 0;
                while echoed < n * super::MSG {
                    let k = server.read(&mut buf).await.unwrap();
                    assert!(k > 0);
                    server.write_all(&buf[..k]).await.unwrap();
                    echoed += k;
                }
            };
            let ping = async {
                let out = [7u8; super::MSG];
                let mut back = [0u8; 4096];
                for _ in 0..n {
                    client.write_all(&out).await.unwrap();
                    let mut got = 0;
                    while got < super::MSG {
                        let k = client.read(&mut back).await.unwrap();
                        assert!(k > 0);
                        got += k;
                    }
                }
            };
            futures_util::future::join(serve, ping).await;
            n
        }
    };
}

mod on_tokio {
    pingpong!(tokio::net);
}

mod on_sockwq {
    pingpong!(sockwq_net);
}

fn tokio_ct() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `fut` to completion on a fresh tokio current_thread runtime.
fn block_on_tokio_ct<F: std::future::Future>(fut: F) -> F::Output {
    tokio_ct().block_on(fut)
}

#[test]
fn pingpong_on_sockwq_runtime_smoke() {
    let n = support::with_watchdog(60, || sockwq_runtime::block_on(on_sockwq::run(500)));
    assert_eq!(n, 500);
}

#[test]
fn pingpong_under_block_on_and_tokio_smoke() {
    assert_eq!(support::block_on(60, on_sockwq::run(500)), 500);
    let n = support::with_watchdog(60, || tokio_ct().block_on(on_sockwq::run(500)));
    assert_eq!(n, 500);
}

/// The `#[ignore]`d tests for `strace -c` (see the top of the file): each
/// runs `$work(n_from_env())` to completion under `$block_on`.
macro_rules! strace_tests {
    ($($name:ident: $block_on:path, $work:path, $why:literal;)*) => {
        $(
            #[test]
            #[ignore = $why]
            fn $name() {
                $block_on($work(n_from_env()));
            }
        )*
    };
}

strace_tests! {
    strace_tokio_current_thread: block_on_tokio_ct, on_tokio::run,
        "for strace -c: tokio::net on a tokio current_thread runtime";
    strace_sockwq_tokio_current_thread: block_on_tokio_ct, on_sockwq::run,
        "for strace -c: sockwq_net on a tokio current_thread runtime (the runtime's own reactor)";
    strace_sockwq_block_on: futures::executor::block_on, on_sockwq::run,
        "for strace -c: sockwq_net under futures' block_on (global reactor thread)";
    strace_sockwq_runtime: sockwq_runtime::block_on, on_sockwq::run,
        "for strace -c: sockwq_net on sockwq's own runtime (reactor turned by the thread)";
    strace_short_tokio_current_thread: block_on_tokio_ct, on_tokio::run_short_reads,
        "for strace -c: tokio::net, 4 KiB reads (short reads)";
    strace_short_sockwq_block_on: futures::executor::block_on, on_sockwq::run_short_reads,
        "for strace -c: sockwq_net under futures' block_on, 4 KiB reads (short reads)";
    strace_short_sockwq_tokio_current_thread: block_on_tokio_ct, on_sockwq::run_short_reads,
        "for strace -c: sockwq_net on a tokio current_thread runtime, 4 KiB reads";
    strace_short_sockwq_runtime: sockwq_runtime::block_on, on_sockwq::run_short_reads,
        "for strace -c: sockwq_net on sockwq's own runtime, 4 KiB reads (short reads)";
    strace_churn_tokio_current_thread: block_on_tokio_ct, on_tokio::churn,
        "for strace -c: connection churn, tokio::net on tokio current_thread";
    strace_churn_sockwq_block_on: futures::executor::block_on, on_sockwq::churn,
        "for strace -c: connection churn, sockwq_net under futures' block_on";
    strace_churn_sockwq_runtime: sockwq_runtime::block_on, on_sockwq::churn,
        "for strace -c: connection churn, sockwq_net on sockwq's own runtime";
}

#[test]
fn short_reads_smoke() {
    assert_eq!(support::block_on(60, on_sockwq::run_short_reads(300)), 300);
    let n = support::with_watchdog(60, || sockwq_runtime::block_on(on_sockwq::run_short_reads(300)));
    assert_eq!(n, 300);
}

#[test]
fn churn_smoke() {
    assert_eq!(support::block_on(60, on_sockwq::churn(100)), 100);
}
