//! fasync notices over real sockets, one `sock_wake_async` rule at a time.
//! The reactor is turned by hand, so which event produced which notice is
//! deterministic. The whole table, side by side with the kernel's own
//! signals, is `fasync_oracle.rs`.

use sockwq_test_support as support;

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::noop_waker;
use sockwq_reactor::fasync::{self, Attach, Code, Deferred, Notice, Signal, Target};
use sockwq_reactor::{Interest, Reactor, Registration};
use support::pair;

/// Turns until at least `events` more events were dispatched (bounded).
fn turn_events(r: &mut Reactor, events: u64) {
    let target = r.stats().events + events;
    for _ in 0..100 {
        if r.stats().events >= target {
            return;
        }
        r.turn(Some(Duration::from_millis(100))).unwrap();
    }
    panic!("expected {events} more events");
}

/// Turns until a turn of `quiet` dispatches nothing (bounded): every
/// wakeup the kernel has made by now is dispatched.
fn settle(r: &mut Reactor) {
    for _ in 0..50 {
        if r.turn(Some(Duration::from_millis(30))).unwrap() == 0 {
            return;
        }
    }
    panic!("the reactor never went quiet");
}

fn drain(rx: &fasync::Receiver) -> Vec<Notice> {
    std::iter::from_fn(|| rx.try_recv()).collect()
}

fn codes(rx: &fasync::Receiver) -> Vec<Code> {
    drain(rx).into_iter().map(|n| n.code()).collect()
}

/// A connected loopback pair: (accepted side, non-blocking; peer).
fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    s.set_nonblocking(true).unwrap();
    peer.set_nodelay(true).unwrap();
    (s, peer)
}

/// Sends one byte of out-of-band data.
fn send_oob(fd: RawFd) {
    // SAFETY: one byte from a live buffer on a connected socket.
    let n = unsafe { libc::send(fd, b"!".as_ptr().cast(), 1, libc::MSG_OOB | libc::MSG_NOSIGNAL) };
    assert_eq!(n, 1, "{}", io::Error::last_os_error());
}

/// Polls `fut` once with a no-op waker (a task that then waits in it).
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    let waker = noop_waker();
    fut.poll(&mut Context::from_waker(&waker))
}

/// Registers, turns away the registration's own report, then attaches.
fn registered(
    r: &mut Reactor,
    fd: &impl std::os::fd::AsFd,
    owner: &fasync::Owner,
) -> (Registration, fasync::Subscription) {
    // SAFETY: every caller keeps `fd` open until it drops the returned
    // registration (the socket is declared before it).
    let reg = unsafe { r.handle().register(fd) }.unwrap();
    settle(r);
    let sub = owner.attach(&reg).unwrap();
    (reg, sub)
}

#[test]
fn a_notice_carries_fd_socket_id_band_and_signal() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    let (owner, rx) = fasync::channel(16);
    let (_reg, sub) = registered(&mut r, &a, &owner);
    b.write_all(b"1").unwrap();
    turn_events(&mut r, 1);
    let n = drain(&rx);
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].code(), Code::In);
    assert_eq!(n[0].fd(), Some(a.as_raw_fd()));
    assert_eq!(n[0].socket(), Some(sub.socket()));
    assert_eq!(sub.fd(), a.as_raw_fd());
    assert_eq!(n[0].signal(), Signal::Io);
    assert_eq!(n[0].band(), (libc::POLLIN | libc::POLLRDNORM) as i64);
    assert_eq!(n[0].code().si_code(), 1);
    assert_eq!(Code::Out.band(), 0x304);
    assert_eq!(Code::Err.band(), 0x008);
    assert_eq!(Code::Pri.band(), 0x082);
    assert_eq!(Code::Hup.band(), 0x018);
}

#[test]
fn a_socket_id_is_shared_by_channels_and_never_reused() {
    let mut r = Reactor::new().unwrap();
    let (o1, _rx1) = fasync::channel(4);
    let (o2, _rx2) = fasync::channel(4);
    let (a, _b) = pair();
    let (reg, s1) = registered(&mut r, &a, &o1);
    let s2 = o2.attach(&reg).unwrap();
    assert_eq!(s1.socket(), s2.socket(), "one socket, one id, whichever channel");
    let id = s1.socket();
    drop((s1, s2, reg, a, _b));
    // The fd number may come back at once (other tests of this binary open
    // fds concurrently, so it is not asserted); the id never does.
    let (c, _d) = pair();
    let (_reg, s3) = registered(&mut r, &c, &o1);
    assert_ne!(s3.socket(), id, "the id is never reused");
}

#[test]
fn a_task_waiting_for_data_suppresses_poll_in_on_a_stream() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    let (owner, rx) = fasync::channel(16);
    let (reg, _sub) = registered(&mut r, &a, &owner);

    // A task waits in readable(): it is on the socket's wait queue, and
    // SOCK_WAKE_WAITD sends nothing; the task is woken instead.
    let mut wait = pin!(reg.readable());
    assert!(poll_once(wait.as_mut()).is_pending());
    b.write_all(b"1").unwrap();
    turn_events(&mut r, 1);
    assert_eq!(codes(&rx), vec![], "POLL_IN sent although a task waited for data");
    assert!(r.stats().wakeups >= 1);
    assert!(
        poll_once(wait.as_mut()).is_ready(),
        "the waiting task gets the data"
    );

    // Nobody waits any more: POLL_IN.
    b.write_all(b"2").unwrap();
    turn_events(&mut r, 1);
    assert_eq!(codes(&rx), vec![Code::In]);
}

#[test]
fn a_cancelled_read_leaves_no_waiting_reader() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    let (owner, rx) = fasync::channel(16);
    let (reg, _sub) = registered(&mut r, &a, &owner);
    let mut buf = [0u8; 8];

    // A read through the poll path, parked on WouldBlock and then given up
    // (the future around it dropped by a timeout): its slot stays armed,
    // but no task waits in it any more.
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(
        reg.poll_io(&mut cx, Interest::READABLE, || (&a).read(&mut buf))
            .is_pending()
    );
    b.write_all(b"1").unwrap();
    turn_events(&mut r, 1);
    assert_eq!(
        codes(&rx),
        vec![Code::In],
        "a given-up poll_read suppressed POLL_IN"
    );
    while reg.try_io(Interest::READABLE, || (&a).read(&mut buf)).is_ok() {}

    // A readable() future that waited and was dropped left the wait queue.
    {
        let mut wait = pin!(reg.readable());
        assert!(poll_once(wait.as_mut()).is_pending());
    }
    b.write_all(b"2").unwrap();
    turn_events(&mut r, 1);
    assert_eq!(
        codes(&rx),
        vec![Code::In],
        "a dropped readable() still counted as a waiting reader"
    );
}

#[test]
fn udp_poll_in_even_while_a_task_waits_to_receive() {
    let mut r = Reactor::new().unwrap();
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_nonblocking(true).unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (owner, rx) = fasync::channel(16);
    let (reg, _sub) = registered(&mut r, &u, &owner);
    let mut wait = pin!(reg.readable());
    assert!(poll_once(wait.as_mut()).is_pending());
    peer.send_to(b"d", u.local_addr().unwrap()).unwrap();
    turn_events(&mut r, 1);
    // A datagram receive never sets SOCKWQ_ASYNC_WAITDATA.
    assert_eq!(codes(&rx), vec![Code::In]);
}

#[test]
fn a_listener_sends_poll_in_even_while_a_task_waits_in_accept() {
    let mut r = Reactor::new().unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let (owner, rx) = fasync::channel(16);
    let (reg, _sub) = registered(&mut r, &l, &owner);
    let mut wait = pin!(reg.readable());
    assert!(poll_once(wait.as_mut()).is_pending());
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(
        reg.poll_io(&mut cx, Interest::READABLE, || l.accept())
            .is_pending()
    );
    let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    turn_events(&mut r, 1);
    assert_eq!(
        codes(&rx),
        vec![Code::In],
        "tcp_child_process's sk_data_ready is not WAITD-gated"
    );
}

#[test]
fn a_pending_connection_on_a_listener_is_poll_in() {
    let mut r = Reactor::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let (owner, rx) = fasync::channel(16);
    let (_reg, _sub) = registered(&mut r, &listener, &owner);
    let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    turn_events(&mut r, 1);
    assert_eq!(codes(&rx), vec![Code::In]);
}

#[test]
fn attaching_after_accept_does_not_replay_queued_data() {
    let mut r = Reactor::new().unwrap();
    let (s, mut peer) = tcp_pair();
    peer.write_all(b"pre").unwrap();
    std::thread::sleep(Duration::from_millis(20)); // the segment is queued on s
    // Registered (the registration's own epoll report is still ahead), then
    // attached before any turn: that report must not become a notice.
    // SAFETY: the socket is declared before the registration and outlives it.
    let reg = unsafe { r.handle().register(&s) }.unwrap();
    let (owner, rx) = fasync::channel(16);
    let _sub = owner.attach(&reg).unwrap();
    settle(&mut r);
    assert!(r.stats().events >= 1, "the registration's report was dispatched");
    assert_eq!(
        codes(&rx),
        vec![],
        "readiness from before the attach was replayed"
    );
    // A new segment is news.
    peer.write_all(b"new").unwrap();
    turn_events(&mut r, 1);
    assert_eq!(codes(&rx), vec![Code::In]);
}

#[test]
fn poll_out_only_after_a_write_had_to_wait() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    let (owner, rx) = fasync::channel(16);
    let (reg, _sub) = registered(&mut r, &a, &owner);

    // Fill the send buffer through the reactor until WouldBlock: NOSPACE.
    let chunk = [7u8; 65536];
    let mut sent = 0usize;
    loop {
        match reg.try_io(Interest::WRITABLE, || (&a).write(&chunk)) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(sent > 0);
    settle(&mut r);
    assert_eq!(codes(&rx), vec![], "nobody drained: no POLL_OUT");
    // The peer drains: write space, a writable edge, one POLL_OUT.
    let mut sink = vec![0u8; 1 << 20];
    let mut got = 0usize;
    while got < sent {
        got += b.read(&mut sink).unwrap();
    }
    settle(&mut r);
    assert_eq!(codes(&rx), vec![Code::Out]);

    // More write space without a WouldBlock in between: no POLL_OUT.
    (&a).write_all(b"small").unwrap();
    let mut five = [0u8; 5];
    b.read_exact(&mut five).unwrap();
    b.write_all(b"x").unwrap(); // some edge to dispatch
    turn_events(&mut r, 1);
    assert_eq!(codes(&rx), vec![Code::In], "POLL_OUT without NOSPACE");
}

#[test]
fn a_write_that_waited_before_the_attach_arms_no_poll_out() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    // SAFETY: the socket is declared before the registration and outlives it.
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    settle(&mut r);
    let chunk = [7u8; 65536];
    let mut sent = 0usize;
    while let Ok(n) = reg.try_io(Interest::WRITABLE, || (&a).write(&chunk)) {
        sent += n;
    }
    // sk_set_bit(SOCKWQ_ASYNC_NOSPACE) does nothing on a socket that is not
    // FASYNC yet.
    let (owner, rx) = fasync::channel(16);
    let _sub = owner.attach(&reg).unwrap();
    let mut sink = vec![0u8; 1 << 20];
    let mut got = 0usize;
    while got < sent {
        got += b.read(&mut sink).unwrap();
    }
    settle(&mut r);
    assert_eq!(codes(&rx), vec![]);
}

#[test]
fn unix_peer_close_is_poll_hup_only() {
    let mut r = Reactor::new().unwrap();
    let (a, b) = pair();
    let (owner, rx) = fasync::channel(16);
    let (_reg, _sub) = registered(&mut r, &a, &owner);
    drop(b);
    turn_events(&mut r, 1);
    settle(&mut r);
    assert_eq!(codes(&rx), vec![Code::Hup]);
    assert_eq!(
        Code::Hup.si_code(),
        6,
        "POLL_HUP is si_code 6 on every Linux architecture"
    );
}

#[test]
fn unix_peer_shut_wr_is_poll_in_then_close_is_poll_hup() {
    let mut r = Reactor::new().unwrap();
    let (a, b) = pair();
    let (owner, rx) = fasync::channel(16);
    let (_reg, _sub) = registered(&mut r, &a, &owner);
    b.shutdown(Shutdown::Write).unwrap();
    settle(&mut r);
    assert_eq!(codes(&rx), vec![Code::In]);
    drop(b);
    settle(&mut r);
    assert_eq!(codes(&rx), vec![Code::Hup]);
    // Our own SHUT_RD afterwards: nothing.
    a.shutdown(Shutdown::Read).unwrap();
    settle(&mut r);
    assert_eq!(codes(&rx), vec![]);
}

#[test]
fn tcp_peer_fin_is_poll_in_and_our_close_after_it_sends_nothing() {
    let mut r = Reactor::new().unwrap();
    let (s, peer) = tcp_pair();
    let (owner, rx) = fasync::channel(16);
    let (_reg, _sub) = registered(&mut r, &s, &owner);
    peer.shutdown(Shutdown::Write).unwrap();
    settle(&mut r);
    assert_eq!(codes(&rx), vec![Code::In], "tcp_fin, our side open: POLL_IN");
    // Our write after the peer's FIN, then our FIN (LAST_ACK -> CLOSE).
    (&s).write_all(b"late").unwrap();
    settle(&mut r);
    s.shutdown(Shutdown::Write).unwrap();
    settle(&mut r);
    assert_eq!(codes(&rx), vec![], "our own close steps are not signalled");
}

#[test]
fn tcp_peer_fin_after_our_shut_wr_is_hup_then_in() {
    let mut r = Reactor::new().unwrap();
    let (s, peer) = tcp_pair();
    let (owner, rx) = fasync::channel(16);
    let (_reg, _sub) = registered(&mut r, &s, &owner);
    s.shutdown(Shutdown::Write).unwrap();
    settle(&mut r);
    assert_eq!(codes(&rx), vec![], "our FIN, ACKed: nothing");
    drop(peer);
    settle(&mut r);
    assert_eq!(codes(&rx), vec![Code::Hup, Code::In]);
}

#[test]
fn a_reset_is_poll_err_only() {
    for after_fin in [false, true] {
        let mut r = Reactor::new().unwrap();
        let (s, peer) = tcp_pair();
        let (owner, rx) = fasync::channel(16);
        let (_reg, _sub) = registered(&mut r, &s, &owner);
        if after_fin {
            peer.shutdown(Shutdown::Write).unwrap();
            settle(&mut r);
            assert_eq!(codes(&rx), vec![Code::In]);
        }
        socket2::SockRef::from(&peer)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(peer); // RST
        settle(&mut r);
        assert_eq!(codes(&rx), vec![Code::Err], "after_fin={after_fin}");
        let err = s.take_error().unwrap().unwrap();
        let want = if after_fin { libc::EPIPE } else { libc::ECONNRESET };
        assert_eq!(err.raw_os_error(), Some(want));
    }
}

#[test]
fn tcp_out_of_band_byte_is_pri_then_in() {
    let mut r = Reactor::new().unwrap();
    let (s, peer) = tcp_pair();
    let (owner, rx) = fasync::channel(16);
    let (_reg, _sub) = registered(&mut r, &s, &owner);
    send_oob(peer.as_raw_fd());
    settle(&mut r);
    let n = drain(&rx);
    let got: Vec<_> = n.iter().map(|n| (n.code(), n.signal())).collect();
    assert_eq!(
        got,
        vec![(Code::Pri, Signal::Urg), (Code::In, Signal::Io)],
        "{n:?}"
    );
    assert_eq!(n[0].band(), (libc::POLLPRI | libc::POLLRDBAND) as i64);

    // epoll reports EPOLLPRI until the urgent byte is read: data meanwhile
    // is POLL_IN only (one SIGURG per urgent byte).
    (&peer).write_all(b"data").unwrap();
    settle(&mut r);
    assert_eq!(codes(&rx), vec![Code::In]);
    let mut b = [0u8; 1];
    // SAFETY: reads one byte into a live buffer.
    let got = unsafe { libc::recv(s.as_raw_fd(), b.as_mut_ptr().cast(), 1, libc::MSG_OOB) };
    assert_eq!(got, 1);
    (&peer).write_all(b"more").unwrap();
    settle(&mut r);
    assert_eq!(codes(&rx), vec![Code::In]);
    send_oob(peer.as_raw_fd());
    settle(&mut r);
    let got: Vec<_> = drain(&rx).iter().map(|n| (n.code(), n.signal())).collect();
    assert_eq!(
        got,
        vec![(Code::Pri, Signal::Urg), (Code::In, Signal::Io)],
        "the next urgent byte"
    );
}

#[test]
fn unix_out_of_band_byte_is_pri_then_in() {
    let mut r = Reactor::new().unwrap();
    let (a, b) = pair();
    let (owner, rx) = fasync::channel(16);
    let (_reg, _sub) = registered(&mut r, &a, &owner);
    send_oob(b.as_raw_fd());
    settle(&mut r);
    let got: Vec<_> = drain(&rx).iter().map(|n| (n.code(), n.signal())).collect();
    assert_eq!(got, vec![(Code::Pri, Signal::Urg), (Code::In, Signal::Io)]);
}

/// A socket that is not registered yet, the way sockwq-net's `TcpSocket`
/// holds one before `connect`.
struct Unregistered {
    sock: socket2::Socket,
    fasync: Deferred,
}

impl Attach for Unregistered {
    fn fasync_target(&self) -> Target<'_> {
        Target::Deferred(&self.fasync, self.sock.as_raw_fd())
    }
}

fn unregistered() -> Unregistered {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_nonblocking(true).unwrap();
    Unregistered {
        sock,
        fasync: Deferred::new(),
    }
}

fn closed_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Attaches before connect, connects, registers, binds; optionally turns
/// once between registration and bind (the outcome dispatched before the
/// channel is on the list).
fn connect_attached(to: SocketAddr, turn_before_bind: bool) -> (Reactor, Vec<Code>, bool) {
    let mut r = Reactor::new().unwrap();
    let s = unregistered();
    let (owner, rx) = fasync::channel(16);
    let sub = owner.attach(&s).unwrap();
    assert!(!sub.is_attached());
    let _ = s.sock.connect(&to.into()); // EINPROGRESS
    // SAFETY: the socket is declared before the registration and outlives it.
    let reg = unsafe { r.handle().register(&s.sock) }.unwrap();
    if turn_before_bind {
        turn_events(&mut r, 1);
    }
    s.fasync.bind(&reg, true);
    assert!(sub.is_attached());
    settle(&mut r);
    let refused = s.sock.take_error().unwrap().is_some();
    (r, codes(&rx), refused)
}

#[test]
fn a_completed_nonblocking_connect_is_poll_out() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    for turn_before_bind in [false, true] {
        let (_r, c, refused) = connect_attached(l.local_addr().unwrap(), turn_before_bind);
        assert!(!refused);
        assert_eq!(c, vec![Code::Out], "turn_before_bind={turn_before_bind}");
        let _ = l.accept().unwrap();
    }
}

#[test]
fn a_refused_connect_is_poll_err_only() {
    for turn_before_bind in [false, true] {
        let (_r, c, refused) = connect_attached(closed_port(), turn_before_bind);
        assert!(refused);
        assert_eq!(c, vec![Code::Err], "turn_before_bind={turn_before_bind}");
    }
}

#[test]
fn a_socket_attached_while_its_connect_is_in_flight_gets_its_poll_out() {
    // A listener whose accept queue is full drops SYNs: a second connect
    // stays in SYN_SENT until there is room and its SYN is retransmitted
    // (about 1 s). Attached then, the socket is found connecting.
    let l = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    l.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap();
    let first = TcpStream::connect(addr.as_socket().unwrap()).unwrap();
    let mut r = Reactor::new().unwrap();
    let s = unregistered();
    let _ = s.sock.connect(&addr);
    std::thread::sleep(Duration::from_millis(20));
    // SAFETY: the socket is declared before the registration and outlives it.
    let reg = unsafe { r.handle().register(&s.sock) }.unwrap();
    settle(&mut r);
    let (owner, rx) = fasync::channel(16);
    let _sub = owner.attach(&reg).unwrap();
    assert_eq!(
        s.sock.peer_addr().map(drop).unwrap_err().raw_os_error(),
        Some(libc::ENOTCONN),
        "in flight"
    );
    let (accepted, _) = l.accept().unwrap();
    drop((first, accepted));
    for _ in 0..40 {
        if s.sock.peer_addr().is_ok() {
            break;
        }
        r.turn(Some(Duration::from_millis(100))).unwrap();
    }
    settle(&mut r);
    assert!(s.sock.peer_addr().is_ok(), "the connect completed");
    assert_eq!(codes(&rx), vec![Code::Out]);
}

#[test]
fn a_deferred_subscription_dropped_before_bind_is_never_attached() {
    let r = Reactor::new().unwrap();
    let s = unregistered();
    let (owner, rx) = fasync::channel(16);
    let sub = owner.attach(&s).unwrap();
    let id = sub.socket();
    let keep = owner.attach(&s).unwrap();
    assert_eq!(keep.socket(), id, "one socket, one id");
    drop(sub);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let _ = s.sock.connect(&l.local_addr().unwrap().into());
    // SAFETY: the socket is declared before the registration and outlives it.
    let reg = unsafe { r.handle().register(&s.sock) }.unwrap();
    s.fasync.bind(&reg, true);
    assert_eq!(reg.fasync_subscribers(), 1);
    assert!(s.fasync.is_empty());
    drop((keep, owner));
    drop(reg);
    assert_eq!(rx.try_recv(), None);
}

#[test]
fn several_channels_and_detach_on_drop() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    let (o1, rx1) = fasync::channel(16);
    let (o2, rx2) = fasync::channel(16);
    let (reg, s1) = registered(&mut r, &a, &o1);
    let s2 = o2.attach(&reg).unwrap();
    assert_eq!(reg.fasync_subscribers(), 2);
    b.write_all(b"1").unwrap();
    turn_events(&mut r, 1);
    assert_eq!(codes(&rx1), vec![Code::In]);
    assert_eq!(codes(&rx2), vec![Code::In]);
    drop(s1);
    assert_eq!(reg.fasync_subscribers(), 1);
    b.write_all(b"2").unwrap();
    turn_events(&mut r, 1);
    assert_eq!(codes(&rx1), vec![], "a detached channel still got a notice");
    assert_eq!(codes(&rx2), vec![Code::In]);
    // The last detach drops the FASYNC bit: events skip the ArcSwap load.
    drop(s2);
    b.write_all(b"3").unwrap();
    let skipped = r.stats().wakeups_skipped;
    turn_events(&mut r, 1);
    assert_eq!(r.stats().wakeups_skipped, skipped + 1);
}

#[test]
fn a_full_channel_coalesces_into_one_overflow_notice() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    let (owner, rx) = fasync::channel(2);
    let (_reg, _sub) = registered(&mut r, &a, &owner);
    for i in 0..5u8 {
        b.write_all(&[i]).unwrap();
        turn_events(&mut r, 1); // never blocks, though nobody receives
    }
    let n = drain(&rx);
    assert_eq!(
        n.iter().map(|n| n.code()).collect::<Vec<_>>(),
        vec![Code::In, Code::In, Code::Overflow]
    );
    assert_eq!((n[2].fd(), n[2].socket(), n[2].band()), (None, None, 0));
    assert_eq!(rx.try_recv(), None, "one overflow notice, not one per drop");
}

#[test]
fn recv_timeout_waits_for_a_notice_or_the_deadline() {
    let (a, mut b) = pair();
    let driver = support::Driver::start(Duration::from_millis(50));
    // SAFETY: the socket is declared before the registration and outlives it.
    let reg = unsafe { driver.handle.register(&a) }.unwrap();
    let (owner, rx) = fasync::channel(4);
    let sub = owner.attach(&reg).unwrap();
    let t0 = std::time::Instant::now();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(50)),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout)
    );
    assert!(t0.elapsed() >= Duration::from_millis(50));
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        b.write_all(b"x").unwrap();
        b
    });
    let n = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((n.code(), n.socket()), (Code::In, Some(sub.socket())));
    drop((sub, owner));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
    );
    drop(writer.join().unwrap());
    drop(reg);
    drop(driver.stop());
}

#[test]
fn the_receiver_ends_when_every_sender_is_gone() {
    futures::executor::block_on(async {
        use futures::StreamExt;
        let mut r = Reactor::new().unwrap();
        let (a, mut b) = pair();
        let (owner, mut rx) = fasync::channel(4);
        let (_reg, sub) = registered(&mut r, &a, &owner);
        drop(owner);
        b.write_all(b"x").unwrap();
        turn_events(&mut r, 1);
        // The subscription still sends.
        assert_eq!(rx.next().await.map(|n| n.code()), Some(Code::In));
        drop(sub);
        assert_eq!(rx.next().await, None);
    });
}

/// The channel ends when every `Owner` and `Subscription` is gone, also
/// when a subscription was made on a socket that is not registered yet:
/// its socket type's `Deferred` list still holds it until `bind`.
#[test]
fn the_receiver_ends_when_a_subscription_waiting_for_its_socket_is_dropped() {
    let s = unregistered();
    let (owner, rx) = fasync::channel(4);
    let sub = owner.attach(&s).unwrap();
    assert!(!sub.is_attached());
    drop((sub, owner));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(2)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected),
        "every Owner and Subscription is gone, yet the channel goes on"
    );
    // Binding the socket later attaches nothing.
    let r = Reactor::new().unwrap();
    // SAFETY: `s` outlives the registration (dropped at the end of the test, after it).
    let reg = unsafe { r.handle().register(&s.sock) }.unwrap();
    s.fasync.bind(&reg, false);
    assert_eq!(reg.fasync_subscribers(), 0);
}

/// A waker that counts itself: its `Arc` count says who still holds it.
struct Counted;

impl std::task::Wake for Counted {
    fn wake(self: std::sync::Arc<Self>) {}
}

/// A dropped receiver lets go of the waker its last poll registered: the
/// channel lives on (its owner and subscriptions), and the waker's task
/// (with whatever it holds) must not live, or be freed by a later
/// notice's wake inside dispatch.
#[test]
fn a_dropped_receiver_releases_its_waker() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    let (owner, rx) = fasync::channel(4);
    let (_reg, _sub) = registered(&mut r, &a, &owner);
    let counted = std::sync::Arc::new(Counted);
    let waker = std::task::Waker::from(counted.clone());
    assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
    drop(waker);
    assert_eq!(
        std::sync::Arc::strong_count(&counted),
        2,
        "the channel holds the waker"
    );
    drop(rx);
    assert_eq!(
        std::sync::Arc::strong_count(&counted),
        1,
        "the dropped receiver's waker is still held by the channel"
    );
    // A notice after that wakes nobody.
    b.write_all(b"x").unwrap();
    turn_events(&mut r, 1);
}

#[test]
fn attaching_after_shutdown_is_an_error() {
    let r = Reactor::new().unwrap();
    let (a, _b) = pair();
    // SAFETY: the socket is declared before the registration and outlives it.
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    drop(r);
    let (owner, _rx) = fasync::channel(4);
    assert!(owner.attach(&reg).is_err());
}

#[test]
fn dispatch_without_a_subscriber_never_reads_the_wait_queue() {
    // The FASYNC bit is the only thing dispatch looks at: with no
    // subscriber (and nobody waiting) every event is a skipped wakeup.
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    // SAFETY: the socket is declared before the registration and outlives it.
    let _reg = unsafe { r.handle().register(&a) }.unwrap();
    settle(&mut r);
    let before = r.stats();
    for _ in 0..3 {
        b.write_all(b"x").unwrap();
        turn_events(&mut r, 1);
    }
    let after = r.stats();
    assert_eq!(after.wakeups_skipped - before.wakeups_skipped, 3);
    assert_eq!(after.wakeups, before.wakeups);
}
