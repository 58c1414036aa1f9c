//! TCP connection reset by the peer: a pending read and later reads and
//! writes fail (never SIGPIPE, never a hang), and a write pending on a full
//! buffer fails when the peer resets.

use sockwq_test_support as support;

use std::io;
use std::time::Duration;

use futures_util::future;
use futures_util::io::{AsyncReadExt as _, AsyncWriteExt as _};
use support::{block_on, tcp_pair};

const T: u64 = 30;

/// Restores `SIGPIPE`'s default action (kill), which the Rust runtime sets
/// to ignore: a send without `MSG_NOSIGNAL` would now kill the test binary.
fn default_sigpipe() {
    // SAFETY: setting a signal disposition to SIG_DFL has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

#[test]
fn peer_reset_errors_pending_and_later_io() {
    default_sigpipe();
    block_on(T, async {
        let (client, server) = tcp_pair().await;
        let (mut rd, mut wr) = client.into_split();
        let mut buf = [0u8; 64];
        // A read pending before the reset...
        let pending = rd.read(&mut buf);
        let reset = async {
            // Give the read a chance to park (no timing is asserted).
            futures_timer_yield().await;
            server.set_zero_linger().unwrap();
            assert_eq!(server.linger().unwrap(), Some(Duration::ZERO));
            drop(server); // RST
        };
        let (res, ()) = future::join(pending, reset).await;
        let err = res.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err:?}");
        // ...and later writes: an error (EPIPE), never SIGPIPE.
        let err = wr.write_all(&[7u8; 4096]).await.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "{err:?}"
        );
        // A later read does not hang: the reset was reported, now it is EOF
        // (or the error again).
        match rd.read(&mut buf).await {
            Ok(0) => {}
            Err(e) => assert!(matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            )),
            Ok(n) => panic!("read {n} bytes from a reset connection"),
        }
        assert!(wr.try_write(b"x").is_err());
    });
}

#[test]
fn reset_with_unread_data_and_pending_write() {
    default_sigpipe();
    block_on(T, async {
        let (client, server) = tcp_pair().await;
        // Fill the peer's buffers so our write is pending, then reset.
        let mut client = client;
        let writer = async {
            let chunk = vec![1u8; 1 << 16];
            // Bounded: the kernel buffers hold a few MiB at most.
            for _ in 0..100_000 {
                if let Err(e) = client.write_all(&chunk).await {
                    return e;
                }
            }
            panic!("writes to a reset peer kept succeeding");
        };
        let reset = async {
            futures_timer_yield().await;
            server.set_zero_linger().unwrap();
            drop(server);
        };
        let (err, ()) = future::join(writer, reset).await;
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{err:?}"
        );
    });
}

/// Yields to the executor a few times (lets the other joined future run).
async fn futures_timer_yield() {
    for _ in 0..10 {
        let mut yielded = false;
        future::poll_fn(|cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
    }
    std::thread::sleep(Duration::from_millis(20));
}
