//! Closed bits that the fd contradicts must not make IO loops spin, and no
//! single poll may loop unboundedly.
//!
//! * A datagram socket after `shutdown(SHUT_RD)` reports
//!   `EPOLLIN | EPOLLRDHUP` (read-closed) while `recv` returns `EAGAIN`.
//! * A datagram socket with a pending error reports `EPOLLERR | EPOLLOUT`
//!   (write-closed, as for a pipe without readers), yet after the error is
//!   taken its sends succeed, until the buffer fills.

use sockwq_test_support as support;

use std::cell::Cell;
use std::future::Future;
use std::io::{self, ErrorKind};
use std::net::{Shutdown, UdpSocket};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::noop_waker_ref;
use sockwq_reactor::{Async, Interest, Reactor, Ready};

use support::{pair, with_watchdog};

const ZERO: Option<Duration> = Some(Duration::ZERO);

/// Turns until `cond` holds (bounded: 100 turns of up to 100 ms).
fn turn_until(r: &mut Reactor, mut cond: impl FnMut() -> bool) {
    for _ in 0..100 {
        if cond() {
            return;
        }
        r.turn(Some(Duration::from_millis(100))).unwrap();
    }
    panic!("condition not reached after 100 turns");
}

/// An IO closure that counts its calls and gives up (with an error the
/// test reports) instead of letting a spinning poll run for ever.
fn bounded<T>(calls: &Cell<usize>, op: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    calls.set(calls.get() + 1);
    if calls.get() > 1_000 {
        return Err(io::Error::other("spinning: 1000 IO calls in one poll"));
    }
    op()
}

/// Polls a `recv` on a read-shut datagram socket once: it must return
/// `Pending` after at most two `recv` calls, and readiness must not claim
/// readable any more.
fn recv_after_shutdown_read_pends<T: std::os::fd::AsFd>(
    r: &mut Reactor,
    sock: &Async<T>,
    recv: impl Fn(&T, &mut [u8]) -> io::Result<usize>,
) {
    turn_until(r, || sock.source().readiness().is_read_closed());
    let calls = Cell::new(0);
    let mut buf = [0u8; 16];
    let mut cx = Context::from_waker(noop_waker_ref());
    let mut read = pin!(sock.read_with(|s| bounded(&calls, || recv(s, &mut buf))));
    match read.as_mut().poll(&mut cx) {
        Poll::Pending => {}
        other => panic!("expected Pending after {} recv calls, got {other:?}", calls.get()),
    }
    assert!(calls.get() <= 2, "{} recv calls in one poll", calls.get());
    let ready = sock.source().readiness();
    assert!(
        !ready.is_readable() && !ready.is_read_closed(),
        "readiness still claims a read would not block: {ready:?}"
    );
}

#[test]
fn udp_recv_after_shutdown_read_does_not_spin() {
    with_watchdog(30, || {
        let mut r = Reactor::new().unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(peer.local_addr().unwrap()).unwrap();
        let sock = Async::with_handle(sock, &r.handle()).unwrap();
        socket2::SockRef::from(sock.get_ref())
            .shutdown(Shutdown::Read)
            .unwrap();
        recv_after_shutdown_read_pends(&mut r, &sock, |s, b| s.recv(b));
        // A datagram still arrives (UDP keeps queueing after SHUT_RD): the
        // next event sets readable again and the read completes.
        peer.send_to(b"hi", sock.get_ref().local_addr().unwrap()).unwrap();
        turn_until(&mut r, || sock.source().readiness().is_readable());
        let mut buf = [0u8; 4];
        let n = futures::executor::block_on(sock.read_with(|s| s.recv(&mut buf))).unwrap();
        assert_eq!(&buf[..n], b"hi");
    });
}

#[test]
fn unix_datagram_recv_after_shutdown_read_does_not_spin() {
    with_watchdog(30, || {
        let mut r = Reactor::new().unwrap();
        let (sock, _peer) = UnixDatagram::pair().unwrap();
        let sock = Async::with_handle(sock, &r.handle()).unwrap();
        sock.get_ref().shutdown(Shutdown::Read).unwrap();
        recv_after_shutdown_read_pends(&mut r, &sock, |s, b| s.recv(b));
    });
}

#[test]
fn a_poll_yields_when_events_keep_renewing_readiness() {
    with_watchdog(30, || {
        use std::io::Write;
        // Every IO call would block, and every call an event renews the
        // readiness it cleared (the turn runs inside the closure): the
        // clear never holds, so without a bound the poll would never end.
        let mut r = Reactor::new().unwrap();
        let (a, mut b) = pair();
        let a = Async::with_handle(a, &r.handle()).unwrap();
        b.write_all(b"x").unwrap();
        turn_until(&mut r, || a.source().readiness().is_readable());
        let calls = Cell::new(0);
        let woken = std::sync::Arc::new(AtomicUsize::new(0));
        let waker = {
            struct W(std::sync::Arc<AtomicUsize>);
            impl std::task::Wake for W {
                fn wake(self: std::sync::Arc<Self>) {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            std::task::Waker::from(std::sync::Arc::new(W(woken.clone())))
        };
        let mut cx = Context::from_waker(&waker);
        let res = a.source().poll_io(&mut cx, Interest::READABLE, || {
            bounded(&calls, || {
                b.write_all(b"x")?;
                r.turn(ZERO)?;
                Err::<(), _>(ErrorKind::WouldBlock.into())
            })
        });
        assert!(res.is_pending(), "{res:?} after {} calls", calls.get());
        assert!(calls.get() <= 32, "{} IO calls in one poll", calls.get());
        assert_eq!(
            woken.load(Ordering::SeqCst),
            1,
            "a yield must wake the task at once"
        );
    });
}

/// The mapping: an error with `EPOLLOUT` reads as write-closed (right for
/// a pipe without readers, as in mio and tokio); for a connected UDP socket
/// the error is taken by one send, and later sends go through.
#[test]
fn udp_icmp_error_is_reported_once_then_sends_succeed() {
    with_watchdog(30, || {
        let mut r = Reactor::new().unwrap();
        let closed = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(closed).unwrap();
        let sock = Async::with_handle(sock, &r.handle()).unwrap();
        turn_until(&mut r, || sock.source().readiness().is_writable());
        sock.get_ref().send(b"x").unwrap();
        // Port unreachable: EPOLLERR | EPOLLOUT.
        turn_until(&mut r, || sock.source().readiness().is_error());
        let ready = sock.source().readiness();
        assert!(
            ready.contains(Ready::WRITABLE | Ready::WRITE_CLOSED | Ready::ERROR),
            "{ready:?}"
        );
        let err = sock.get_ref().send(b"y").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        futures::executor::block_on(sock.write_with(|s| s.send(b"z"))).unwrap();
    });
}

/// A unique abstract-namespace address.
fn abstract_addr(tag: &str) -> SocketAddr {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "sockwq-sticky-{}-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    SocketAddr::from_abstract_name(name.as_bytes()).unwrap()
}

#[test]
fn write_closed_from_an_error_clears_when_a_send_would_block() {
    with_watchdog(30, || {
        let mut r = Reactor::new().unwrap();
        let (addr_a, addr_b, addr_c) = (abstract_addr("a"), abstract_addr("b"), abstract_addr("c"));
        let a = UnixDatagram::bind_addr(&addr_a).unwrap();
        let b = UnixDatagram::bind_addr(&addr_b).unwrap();
        let _c = UnixDatagram::bind_addr(&addr_c).unwrap();
        b.set_nonblocking(true).unwrap();
        a.connect_addr(&addr_b).unwrap();
        b.connect_addr(&addr_a).unwrap();
        let a = Async::with_handle(a, &r.handle()).unwrap();
        turn_until(&mut r, || a.source().readiness().is_writable());

        // B leaves A with a datagram unread: A gets ECONNRESET, reported as
        // EPOLLERR | EPOLLOUT.
        a.get_ref().send(b"lost").unwrap();
        b.connect_addr(&addr_c).unwrap();
        turn_until(&mut r, || a.source().readiness().is_error());
        assert!(
            a.source().readiness().is_write_closed(),
            "{:?}",
            a.source().readiness()
        );
        b.connect_addr(&addr_a).unwrap();
        let err = a.get_ref().send(b"x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");

        // Sends succeed again, until B's queue holds A's send buffer.
        let calls = Cell::new(0);
        let mut cx = Context::from_waker(noop_waker_ref());
        let mut sent = 0;
        loop {
            let mut send = pin!(a.write_with(|s| bounded(&calls, || s.send(&[0u8; 1024]))));
            match send.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(_)) => {
                    sent += 1;
                    calls.set(0);
                    assert!(sent < 10_000, "the send buffer never filled");
                }
                Poll::Pending => break,
                Poll::Ready(Err(e)) => panic!("after {sent} sends, {} calls: {e}", calls.get()),
            }
        }
        assert!(calls.get() <= 2, "{} send calls in one poll", calls.get());
        // Not writable, and readiness says so: a waiter waits.
        let mut writable = pin!(a.writable());
        assert!(
            writable.as_mut().poll(&mut cx).is_pending(),
            "writable() is ready on a full socket: {:?}",
            a.source().readiness()
        );
        // B drains: A turns writable again, with a real event.
        let mut buf = [0u8; 2048];
        while b.recv(&mut buf).is_ok() {}
        turn_until(&mut r, || a.source().readiness().is_writable());
        assert!(writable.as_mut().poll(&mut cx).is_ready());
    });
}
