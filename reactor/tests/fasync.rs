//! fasync notices over real sockets, one `sock_wake_async` rule at a time.
//! The reactor is turned by hand, so which event produced which notice is
//! deterministic.

use sockwq_test_support as support;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::task::Context;
use std::time::Duration;

use futures::task::noop_waker;
use sockwq_reactor::fasync::{self, Code, Notice, Signal};
use sockwq_reactor::{Interest, Reactor};
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

fn drain(rx: &fasync::Receiver) -> Vec<Notice> {
    std::iter::from_fn(|| rx.try_recv()).collect()
}

fn codes(rx: &fasync::Receiver) -> Vec<Code> {
    drain(rx).into_iter().map(|n| n.code).collect()
}

#[test]
fn poll_in_only_when_no_task_waits_for_data() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    r.turn(Some(Duration::from_secs(1))).unwrap(); // the initial write edge
    let (owner, rx) = fasync::channel(16);
    let _sub = owner.attach(&reg).unwrap();

    b.write_all(b"1").unwrap();
    turn_events(&mut r, 1);
    let n = drain(&rx);
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].code, Code::In);
    assert_eq!(n[0].fd, Some(a.as_raw_fd()));
    assert_eq!(n[0].signal, Signal::Io);
    assert_eq!(n[0].band, (libc::POLLIN | libc::POLLRDNORM) as i64);
    assert_eq!(n[0].code.si_code(), 1);

    // A task waits for data (its read slot is armed): SOCK_WAKE_WAITD sends
    // nothing, the task is woken instead.
    let mut buf = [0u8; 8];
    let _ = (&a).read(&mut buf).unwrap();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let _ = reg.poll_io(&mut cx, Interest::READABLE, || (&a).read(&mut buf));
    b.write_all(b"2").unwrap();
    turn_events(&mut r, 1);
    assert_eq!(codes(&rx), vec![], "POLL_IN sent although a task waited for data");
    assert!(r.stats().wakeups >= 1);

    // Nobody waits again (the slot was consumed by the wake): POLL_IN.
    b.write_all(b"3").unwrap();
    turn_events(&mut r, 1);
    assert_eq!(codes(&rx), vec![Code::In]);
}

#[test]
fn poll_out_only_after_a_write_had_to_wait() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    r.turn(Some(Duration::from_secs(1))).unwrap();
    let (owner, rx) = fasync::channel(16);
    let _sub = owner.attach(&reg).unwrap();

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
    // The peer drains: write space, a writable edge, one POLL_OUT.
    let mut sink = vec![0u8; 1 << 20];
    let mut got = 0usize;
    while got < sent {
        got += b.read(&mut sink).unwrap();
    }
    turn_events(&mut r, 1);
    let n = drain(&rx);
    assert_eq!(n.iter().filter(|n| n.code == Code::Out).count(), 1, "{n:?}");
    assert!(n.iter().all(|n| n.code != Code::In), "{n:?}");

    // More write space without a WouldBlock in between: no POLL_OUT.
    (&a).write_all(b"small").unwrap();
    let mut five = [0u8; 5];
    b.read_exact(&mut five).unwrap();
    b.write_all(b"x").unwrap(); // some edge to dispatch
    turn_events(&mut r, 1);
    assert!(
        codes(&rx).iter().all(|c| *c != Code::Out),
        "POLL_OUT without NOSPACE"
    );
}

#[test]
fn hang_up_is_reported_once() {
    let mut r = Reactor::new().unwrap();
    let (a, b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    r.turn(Some(Duration::from_secs(1))).unwrap();
    let (owner, rx) = fasync::channel(16);
    let _sub = owner.attach(&reg).unwrap();
    drop(b);
    turn_events(&mut r, 1);
    let c = codes(&rx);
    assert_eq!(c.iter().filter(|c| **c == Code::Hup).count(), 1, "{c:?}");
    assert_eq!(
        fasync::Code::Hup.si_code(),
        6,
        "POLL_HUP is si_code 6 on every Linux architecture"
    );
}

#[test]
fn out_of_band_data_is_sigurg_with_poll_pri() {
    let mut r = Reactor::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    // SAFETY: `server` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&server) }.unwrap();
    r.turn(Some(Duration::from_secs(1))).unwrap();
    let (owner, rx) = fasync::channel(16);
    let _sub = owner.attach(&reg).unwrap();
    // SAFETY: sends one byte from a live buffer on a connected socket.
    let n = unsafe { libc::send(client.as_raw_fd(), b"!".as_ptr().cast(), 1, libc::MSG_OOB) };
    assert_eq!(n, 1);
    turn_events(&mut r, 1);
    let n = drain(&rx);
    let urg: Vec<_> = n.iter().filter(|n| n.signal == Signal::Urg).collect();
    assert_eq!(urg.len(), 1, "{n:?}");
    assert_eq!(urg[0].code, Code::Pri);
    assert_eq!(urg[0].band, (libc::POLLPRI | libc::POLLRDBAND) as i64);
}

#[test]
fn a_pending_connection_on_a_listener_is_poll_in() {
    let mut r = Reactor::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    // SAFETY: `listener` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&listener) }.unwrap();
    let _ = r.turn(Some(Duration::from_millis(10))).unwrap();
    let (owner, rx) = fasync::channel(16);
    let _sub = owner.attach(&reg).unwrap();
    let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    turn_events(&mut r, 1);
    assert_eq!(codes(&rx), vec![Code::In]);
}

#[test]
fn a_refused_connect_is_poll_err() {
    let mut r = Reactor::new().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap(); // closed at once
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.set_nonblocking(true).unwrap();
    let (owner, rx) = fasync::channel(16);
    // SAFETY: `s` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&s) }.unwrap();
    let _sub = owner.attach(&reg).unwrap();
    let _ = s.connect(&port.into()); // EINPROGRESS, then refused
    turn_events(&mut r, 1);
    let c = codes(&rx);
    assert!(c.contains(&Code::Err), "{c:?}");
    assert!(c.contains(&Code::Hup), "{c:?}");
}

#[test]
fn several_channels_and_detach_on_drop() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    r.turn(Some(Duration::from_secs(1))).unwrap();
    let (o1, rx1) = fasync::channel(16);
    let (o2, rx2) = fasync::channel(16);
    let s1 = o1.attach(&reg).unwrap();
    let _s2 = o2.attach(&reg).unwrap();
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
    drop(_s2);
    b.write_all(b"3").unwrap();
    let skipped = r.stats().wakeups_skipped;
    turn_events(&mut r, 1);
    assert_eq!(r.stats().wakeups_skipped, skipped + 1);
}

#[test]
fn a_full_channel_coalesces_into_one_overflow_notice() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    r.turn(Some(Duration::from_secs(1))).unwrap();
    let (owner, rx) = fasync::channel(2);
    let _sub = owner.attach(&reg).unwrap();
    for i in 0..5u8 {
        b.write_all(&[i]).unwrap();
        turn_events(&mut r, 1); // never blocks, though nobody receives
    }
    let n = drain(&rx);
    assert_eq!(
        n.iter().map(|n| n.code).collect::<Vec<_>>(),
        vec![Code::In, Code::In, Code::Overflow]
    );
    assert_eq!(n[2].fd, None);
    assert_eq!(rx.try_recv(), None, "one overflow notice, not one per drop");
}

#[test]
fn the_receiver_ends_when_every_sender_is_gone() {
    futures::executor::block_on(async {
        use futures::StreamExt;
        let mut r = Reactor::new().unwrap();
        let (a, mut b) = pair();
        // SAFETY: `a` outlives the registration (declared before it).
        let reg = unsafe { r.handle().register(&a) }.unwrap();
        let (owner, mut rx) = fasync::channel(4);
        let sub = owner.attach(&reg).unwrap();
        drop(owner);
        b.write_all(b"x").unwrap();
        turn_events(&mut r, 1);
        // The subscription still sends.
        assert_eq!(rx.next().await.map(|n| n.code), Some(Code::In));
        drop(sub);
        assert_eq!(rx.next().await, None);
    });
}

#[test]
fn attaching_after_shutdown_is_an_error() {
    let r = Reactor::new().unwrap();
    let (a, _b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    drop(r);
    let (owner, _rx) = fasync::channel(4);
    assert!(owner.attach(&reg).is_err());
}
