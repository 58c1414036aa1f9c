//! Unix listeners: `poll_accept`, a cancelled accept takes nothing, and a
//! connect to a full backlog is an error, not a hang.

use sockwq_test_support as support;

use std::io;

use sockwq_net::{UnixListener, UnixStream};

use support::{abstract_name, block_on};

/// Seconds a test may take: a hang fails it instead of hanging the suite.
const T: u64 = 30;

#[test]
fn poll_accept_and_accept_is_cancel_safe() {
    block_on(T, async {
        let name = abstract_name("pollacc");
        let l = UnixListener::bind(&name).unwrap();
        // Nothing pending: poll_accept is Pending (with a noop waker).
        {
            let waker = futures::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(l.poll_accept(&mut cx).is_pending());
        }
        // A dropped accept future took nothing.
        {
            let fut = l.accept();
            futures::pin_mut!(fut);
            assert!(futures::poll!(fut.as_mut()).is_pending());
        }
        let _c = UnixStream::connect(&name).await.unwrap();
        let (s, _) = futures::future::poll_fn(|cx| l.poll_accept(cx)).await.unwrap();
        assert!(s.peer_addr().unwrap().is_unnamed());
    });
}

#[test]
fn connect_to_a_full_backlog_is_an_error_not_a_hang() {
    block_on(T, async {
        use socket2::{Domain, SockAddr, Socket, Type};
        let name = abstract_name("backlog");
        let raw = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        raw.bind(&SockAddr::unix(&name).unwrap()).unwrap();
        raw.listen(0).unwrap();
        let listener = UnixListener::from_std(std::os::unix::net::UnixListener::from(
            std::os::fd::OwnedFd::from(raw),
        ))
        .unwrap();
        // Bounded: the kernel refuses once its (tiny) queue is full.
        let mut queued = Vec::new();
        let mut refused = None;
        for _ in 0..16 {
            match UnixStream::connect(&name).await {
                Ok(c) => queued.push(c),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        let e = refused.expect("a full backlog refuses");
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert!(e.to_string().contains("backlog"), "{e}");
        // Accepting makes room again.
        let (_s, _) = listener.accept().await.unwrap();
        let _again = UnixStream::connect(&name).await.unwrap();
        assert!(!queued.is_empty());
    });
}
