//! Sockets that tokio 1.54 assumes ready when it creates them (tokio #8435,
//! #8444), before its driver has seen any event: an accepted stream (TCP or
//! Unix) readable and writable, a fresh `UnixStream` or `UnixDatagram` pair
//! writable (its buffers are empty: nothing to read until the peer writes).
//! Code written for tokio that polls readiness first must not wait for a
//! reactor turn there.
//!
//! Each test registers with a reactor of its own that is turned only where
//! the test says so (never after the socket under test is created), and
//! polls with a no-op waker: `Pending` means the socket waits for a turn.

use sockwq_test_support as support;

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sockwq_net::{TcpListener, TcpStream, UnixDatagram, UnixListener, UnixStream};
use sockwq_reactor::Reactor;
use support::{assert_would_block, with_watchdog};

const T: u64 = 30;

fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

/// A fresh abstract name, unique in this process and across processes.
fn abstract_name() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "\0sockwq-test-ready-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A blocking std client connected to the abstract `name` (a Unix connect
/// completes at once while the backlog has room).
fn connect_std(name: &str) -> std::os::unix::net::UnixStream {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name.as_bytes()[1..]).unwrap();
    std::os::unix::net::UnixStream::connect_addr(&addr).unwrap()
}

/// Turns `reactor` until `poll` is ready (bounded), and returns its value.
fn turn_until<R>(reactor: &mut Reactor, mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>) -> R {
    for _ in 0..1000 {
        if let Poll::Ready(v) = poll(&mut cx()) {
            return v;
        }
        reactor.turn(Some(Duration::from_millis(10))).unwrap();
    }
    panic!("not ready after 1000 reactor turns");
}

#[test]
fn accepted_unix_stream_is_readable_and_writable_before_a_turn() {
    with_watchdog(T, || {
        let mut reactor = Reactor::new().unwrap();
        let _enter = reactor.handle().enter();
        let name = abstract_name();
        let listener = UnixListener::bind(&name).unwrap();
        let _client = connect_std(&name);
        // The listener needs a turn to learn of the connection; the
        // accepted socket is registered after it and sees no turn.
        let (server, _) = turn_until(&mut reactor, |cx| listener.poll_accept(cx)).unwrap();

        // No data queued, and still: ready, as in tokio.
        assert!(server.poll_read_ready(&mut cx()).is_ready());
        assert!(server.poll_write_ready(&mut cx()).is_ready());
        assert_eq!(server.try_write(b"hi").unwrap(), 2);
        // The first WouldBlock drops the assumption: then the read side
        // waits for the reactor as usual.
        assert_would_block(server.try_read(&mut [0u8; 8]));
        assert!(server.poll_read_ready(&mut cx()).is_pending());
    });
}

#[test]
fn unix_accept_future_gives_a_ready_stream_too() {
    with_watchdog(T, || {
        let mut reactor = Reactor::new().unwrap();
        let handle = reactor.handle();
        let _enter = handle.enter();
        let name = abstract_name();
        let listener = UnixListener::bind(&name).unwrap();
        let _client = connect_std(&name);
        let mut accept = Box::pin(listener.accept());
        let (server, _) = turn_until(&mut reactor, |cx| accept.as_mut().poll(cx)).unwrap();
        assert!(server.poll_read_ready(&mut cx()).is_ready());
        assert!(server.poll_write_ready(&mut cx()).is_ready());
    });
}

/// TCP did this already; the Unix listener now matches it.
#[test]
fn accepted_tcp_stream_is_readable_and_writable_before_a_turn() {
    with_watchdog(T, || {
        let mut reactor = Reactor::new().unwrap();
        let _enter = reactor.handle().enter();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = TcpListener::from_std(std_listener).unwrap();
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let (server, _): (TcpStream, _) = turn_until(&mut reactor, |cx| listener.poll_accept(cx)).unwrap();
        assert!(server.poll_read_ready(&mut cx()).is_ready());
        assert!(server.poll_write_ready(&mut cx()).is_ready());
    });
}

#[test]
fn unix_stream_pair_is_writable_before_a_turn() {
    with_watchdog(T, || {
        let reactor = Reactor::new().unwrap();
        let _enter = reactor.handle().enter();
        let (a, b) = UnixStream::pair().unwrap();
        assert!(a.poll_write_ready(&mut cx()).is_ready());
        assert!(b.poll_write_ready(&mut cx()).is_ready());
        assert_eq!(a.try_write(b"ping").unwrap(), 4);
        // As tokio: a fresh pair is not assumed readable (nothing is
        // queued); reading waits for the reactor's event.
        assert!(a.poll_read_ready(&mut cx()).is_pending());
        assert!(b.poll_read_ready(&mut cx()).is_pending());
    });
}

#[test]
fn unix_datagram_pair_is_send_ready_before_a_turn() {
    with_watchdog(T, || {
        let reactor = Reactor::new().unwrap();
        let _enter = reactor.handle().enter();
        let (a, b) = UnixDatagram::pair().unwrap();
        assert!(a.poll_send_ready(&mut cx()).is_ready());
        assert!(b.poll_send_ready(&mut cx()).is_ready());
        assert_eq!(a.try_send(b"ping").unwrap(), 4);
        assert!(a.poll_recv_ready(&mut cx()).is_pending());
        assert!(b.poll_recv_ready(&mut cx()).is_pending());
    });
}

/// The pairs are still non-blocking and close-on-exec.
#[test]
fn pairs_are_nonblocking_and_cloexec() {
    with_watchdog(T, || {
        use std::os::fd::AsRawFd;
        let (a, _b) = UnixStream::pair().unwrap();
        let (c, _d) = UnixDatagram::pair().unwrap();
        for fd in [a.as_raw_fd(), c.as_raw_fd()] {
            // SAFETY: `fcntl(F_GETFL/F_GETFD)` only reads flags of a live fd.
            let (fl, fd_flags) = unsafe { (libc::fcntl(fd, libc::F_GETFL), libc::fcntl(fd, libc::F_GETFD)) };
            assert!(fl >= 0 && fd_flags >= 0, "{}", io::Error::last_os_error());
            assert_ne!(fl & libc::O_NONBLOCK, 0);
            assert_ne!(fd_flags & libc::FD_CLOEXEC, 0);
        }
    });
}
