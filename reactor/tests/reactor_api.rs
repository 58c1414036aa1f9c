//! The reactor's public behaviour over real fds: registration errors,
//! dispatch and readiness, per-direction ticks, many waiters, shutdown,
//! stats.

use sockwq_test_support as support;

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use futures::task::noop_waker;
use sockwq_reactor::{Async, Handle, Interest, Reactor, Ready};

use support::pair;

const SEC: Option<Duration> = Some(Duration::from_secs(1));

/// Turns until `cond` holds (bounded: 100 turns of up to 1 s).
fn turn_until(r: &mut Reactor, mut cond: impl FnMut(&Reactor) -> bool) {
    for _ in 0..100 {
        if cond(r) {
            return;
        }
        r.turn(Some(Duration::from_millis(100))).unwrap();
    }
    panic!("condition not reached after 100 turns");
}

#[test]
fn registering_a_bad_fd_is_ebadf() {
    let r = Reactor::new().unwrap();
    // SAFETY: fd 1_000_000 is not open in this process; epoll_ctl only looks it up.
    let bad = unsafe { BorrowedFd::borrow_raw(1_000_000) };
    // SAFETY: `bad` is a number no file has; registering it fails.
    let err = unsafe { r.handle().register(&bad) }.unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
}

#[test]
fn registering_twice_is_already_exists() {
    let r = Reactor::new().unwrap();
    let (a, _b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let _reg = unsafe { r.handle().register(&a) }.unwrap();
    // SAFETY: registration fails; nothing outlives `a`.
    let err = unsafe { r.handle().register(&a) }.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    // The failed attempt left nothing behind: after the first is dropped,
    // the fd can be registered again.
    drop(_reg);
    // SAFETY: `a` outlives the registration (declared before it).
    let _again = unsafe { r.handle().register(&a) }.unwrap();
}

#[test]
fn registering_a_regular_file_is_an_error_not_a_panic() {
    let r = Reactor::new().unwrap();
    let f = std::fs::File::open("/proc/self/exe").unwrap();
    // SAFETY: registration fails; nothing outlives `f`.
    let err = unsafe { r.handle().register(&f) }.unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPERM));
}

#[test]
fn turn_dispatches_and_counts() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    // Registration reports the initial writability edge.
    let n = r.turn(SEC).unwrap();
    assert_eq!(n, 1);
    assert!(reg.readiness().is_writable());
    assert!(!reg.readiness().is_readable());
    b.write_all(b"x").unwrap();
    turn_until(&mut r, |_| reg.readiness().is_readable());
    let s = r.stats();
    assert!(s.events >= 2 && s.turns >= 2, "{s:?}");
    // Nobody waited: both events were dispatched without a wake.
    assert_eq!(s.wakeups, 0, "{s:?}");
    assert!(s.wakeups_skipped >= 2, "{s:?}");
    assert_eq!(s.registrations, 1);
}

#[test]
fn wake_from_another_thread_ends_the_turn_and_is_deduplicated() {
    let mut r = Reactor::new().unwrap();
    let h = r.handle();
    for _ in 0..3 {
        h.wake();
    }
    // Returns without an event (the wake is not counted as one).
    assert_eq!(r.turn(None).unwrap(), 0);
    assert_eq!(
        r.stats().eventfd_writes,
        1,
        "three wakes before a turn cost one write"
    );
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        h.wake();
    });
    assert_eq!(r.turn(None).unwrap(), 0);
    t.join().unwrap();
    assert_eq!(r.stats().eventfd_writes, 2);
}

#[test]
fn poll_ready_arms_and_the_event_wakes() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    r.turn(SEC).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let waker = waker_fn(move || {
        let _ = tx.send(());
    });
    let mut cx = Context::from_waker(&waker);
    assert!(reg.poll_ready(&mut cx, Interest::READABLE).is_pending());
    b.write_all(b"x").unwrap();
    turn_until(&mut r, |_| reg.readiness().is_readable());
    rx.recv_timeout(Duration::from_secs(5))
        .expect("reader was not woken");
    assert!(r.stats().wakeups >= 1);
    match reg.poll_ready(&mut cx, Interest::READABLE) {
        Poll::Ready(Ok(ev)) => assert!(ev.ready().is_readable()),
        other => panic!("expected ready, got {other:?}"),
    }
}

#[test]
fn stale_clear_does_not_erase_a_new_edge_per_direction() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    b.write_all(b"1").unwrap();
    turn_until(&mut r, |_| reg.readiness().is_readable());
    let seen = match reg.poll_ready(&mut cx, Interest::READABLE) {
        Poll::Ready(Ok(ev)) => ev,
        other => panic!("{other:?}"),
    };
    // A new read edge arrives between the observation and the clear.
    let before = r.stats().events;
    b.write_all(b"2").unwrap();
    turn_until(&mut r, |r| r_events(r) > before);
    reg.clear_readiness(seen);
    assert!(
        reg.readiness().is_readable(),
        "a stale clear erased a newer read edge"
    );

    // A write-side edge must not defeat a read clear (tokio #8054). Drain
    // the socket, observe, then make the peer free write space.
    let mut buf = [0u8; 16];
    let _ = (&a).read(&mut buf).unwrap();
    let seen = match reg.poll_ready(&mut cx, Interest::READABLE) {
        Poll::Ready(Ok(ev)) => ev,
        other => panic!("{other:?}"),
    };
    // Fill our send buffer, then let the peer drain it: a write edge.
    let mut filled = 0usize;
    while let Ok(n) = (&a).write(&[0u8; 65536]) {
        filled += n;
    }
    assert!(filled > 0);
    let before = r.stats().events;
    let mut sink = vec![0u8; 1 << 20];
    let mut drained = 0usize;
    while drained < filled {
        match b.read(&mut sink) {
            Ok(n) => drained += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    turn_until(&mut r, |r| r_events(r) > before);
    assert!(reg.readiness().is_writable());
    reg.clear_readiness(seen);
    assert!(
        !reg.readiness().is_readable(),
        "a write edge defeated the read clear"
    );
    assert!(
        reg.readiness().is_writable(),
        "clearing read readiness touched the write side"
    );
}

fn r_events(r: &Reactor) -> u64 {
    r.stats().events
}

#[test]
fn many_readiness_futures_all_wake_and_leave() {
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    r.turn(SEC).unwrap();
    let (tx, rx) = mpsc::channel::<usize>();
    let mut futs: Vec<_> = (0..8).map(|_| Box::pin(reg.readable())).collect();
    let wakers: Vec<_> = (0..8)
        .map(|i| {
            let tx = tx.clone();
            waker_fn(move || {
                let _ = tx.send(i);
            })
        })
        .collect();
    for (f, w) in futs.iter_mut().zip(&wakers) {
        assert!(f.as_mut().poll(&mut Context::from_waker(w)).is_pending());
    }
    assert_eq!(reg.waiters(), 8);
    let rcu_after_join = r.stats().rcu_updates;
    assert_eq!(rcu_after_join, 8, "each join is one RCU update");
    b.write_all(b"x").unwrap();
    turn_until(&mut r, |_| reg.readiness().is_readable());
    let mut woken: Vec<usize> = (0..8)
        .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
        .collect();
    woken.sort();
    assert_eq!(woken, (0..8).collect::<Vec<_>>());
    for (f, w) in futs.iter_mut().zip(&wakers) {
        match f.as_mut().poll(&mut Context::from_waker(w)) {
            Poll::Ready(Ok(ev)) => assert!(ev.ready().is_readable()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(reg.waiters(), 0, "completed futures leave the wait queue");
    assert_eq!(r.stats().rcu_updates, 16);
    // A future that finds readiness at once never joins (no RCU update).
    let before = r.stats().rcu_updates;
    futures::executor::block_on(reg.readable()).unwrap();
    assert_eq!(r.stats().rcu_updates, before);
}

#[test]
fn a_dropped_readiness_future_leaves_the_wait_queue() {
    let r = Reactor::new().unwrap();
    let (a, _b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    let waker = noop_waker();
    {
        let mut f = Box::pin(reg.ready(Interest::PRIORITY));
        assert!(f.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        assert_eq!(reg.waiters(), 1);
    }
    assert_eq!(reg.waiters(), 0);
}

#[test]
fn io_after_the_reactor_is_dropped_is_an_error() {
    let r = Reactor::new().unwrap();
    let handle = r.handle();
    let (a, _b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { handle.register(&a) }.unwrap();
    let (a2, _b2) = pair();
    let io = Async::with_handle(a2, &handle).unwrap();

    // A task blocked on the source when the reactor goes away is woken with
    // an error, not left hanging.
    let (tx, rx) = mpsc::channel();
    let (started_tx, started_rx) = mpsc::channel();
    let blocked = thread::spawn(move || {
        futures::executor::block_on(async {
            let mut f = Box::pin(io.readable());
            let r = futures::future::poll_fn(|cx| {
                let p = f.as_mut().poll(cx);
                let _ = started_tx.send(());
                p
            })
            .await;
            if let Err(e) = &r {
                let _ = tx.send(e.to_string());
            }
            r.map(drop)
        })
    });
    started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    drop(r);
    let msg = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("blocked task not woken by shutdown");
    assert!(msg.contains("shut down"), "{msg}");
    assert!(blocked.join().unwrap().is_err());

    assert!(handle.is_shutdown());
    assert!(reg.is_shutdown());
    let waker = noop_waker();
    match reg.poll_ready(&mut Context::from_waker(&waker), Interest::READABLE) {
        Poll::Ready(Err(_)) => {}
        other => panic!("expected an error, got {other:?}"),
    }
    assert!(futures::executor::block_on(reg.writable()).is_err());
    assert!(reg.try_io(Interest::READABLE, || Ok(())).is_err());
    // New registrations are refused with an error.
    let (c, _d) = pair();
    // SAFETY: registration fails; nothing outlives `c`.
    assert!(unsafe { handle.register(&c) }.is_err());
}

#[test]
fn async_pipe_round_trip_on_the_global_reactor() {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both fds were just created and are owned by nobody else.
    let (rd, wr) = unsafe {
        use std::os::fd::FromRawFd;
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    futures::executor::block_on(async {
        let mut rd = Async::new(rd).unwrap();
        let mut wr = Async::new(wr).unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let expected = data.clone();
        let writer = async move {
            wr.write_all(&data).await.unwrap();
            drop(wr);
        };
        let reader = async {
            let mut got = Vec::new();
            rd.read_to_end(&mut got).await.unwrap();
            got
        };
        let ((), got) = futures::join!(writer, reader);
        assert_eq!(got, expected);
    });
    assert!(Handle::try_current().is_ok());
}

#[test]
fn into_inner_deregisters_and_the_fd_stays_open() {
    let r = Reactor::new().unwrap();
    let (a, _b) = pair();
    let raw = a.as_raw_fd();
    let io = Async::with_handle(a, &r.handle()).unwrap();
    let a = io.into_inner().unwrap();
    assert_eq!(a.as_raw_fd(), raw);
    // Deregistered: registering again works.
    // SAFETY: `a` outlives the registration (declared before it).
    let _reg = unsafe { r.handle().register(&a) }.unwrap();
}

#[test]
fn readiness_debug_and_interest_ops() {
    assert_eq!(
        format!("{:?}", Ready::READABLE | Ready::ERROR),
        "READABLE | ERROR"
    );
    let r = Reactor::new().unwrap();
    let dbg = format!("{r:?} {:?}", r.handle());
    assert!(dbg.contains("Reactor") && dbg.contains("Handle"));
}

/// A waker that runs `f` on every wake.
fn waker_fn(f: impl Fn() + Send + Sync + 'static) -> std::task::Waker {
    struct F<T>(T);
    impl<T: Fn() + Send + Sync + 'static> std::task::Wake for F<T> {
        fn wake(self: std::sync::Arc<Self>) {
            (self.0)()
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            (self.0)()
        }
    }
    std::task::Waker::from(std::sync::Arc::new(F(f)))
}

use std::future::Future;

#[test]
fn many_releases_wake_the_reactor_so_they_do_not_pile_up() {
    let mut r = Reactor::new().unwrap();
    let h = r.handle();
    let keep: Vec<_> = (0..300).map(|_| pair()).collect();
    for (a, _) in &keep {
        // SAFETY: the registration is dropped before `a`.
        drop(unsafe { h.register(a) }.unwrap());
    }
    // 300 releases passed the threshold (256): the releasing thread woke the
    // reactor, so this turn returns at once, and the next frees them all.
    assert_eq!(r.stats().eventfd_writes, 1);
    assert_eq!(r.turn(Some(Duration::from_secs(5))).unwrap(), 0);
    r.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(r.stats().deferred_releases, 300);
}

#[test]
fn dropping_the_reactor_frees_sources_still_in_their_grace_period() {
    let r = Reactor::new().unwrap();
    let (a, _b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    let weak = {
        // Observe the source's lifetime through the waker it holds.
        let token = std::sync::Arc::new(());
        let w = std::sync::Arc::downgrade(&token);
        // Like a runtime task: the waker holds the reactor's handle — a
        // cycle through the released source unless the drop breaks it.
        let h = r.handle();
        let waker = waker_fn(move || {
            let _ = (&token, &h);
        });
        assert!(
            reg.poll_ready(&mut Context::from_waker(&waker), Interest::READABLE)
                .is_pending()
        );
        w
    };
    drop(reg); // deregistered: waits in the release list for a turn
    assert!(
        weak.upgrade().is_some(),
        "released source is kept until its grace period ends"
    );
    drop(r); // no turn will come: the drop frees it
    assert!(weak.upgrade().is_none(), "reactor drop leaked a released source");
}

#[test]
fn assumed_readiness_is_tried_once_and_never_hides_a_real_edge() {
    use std::cell::Cell;
    let mut r = Reactor::new().unwrap();
    let (a, mut b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe {
        r.handle()
            .register_assume_ready(&a, Ready::READABLE | Ready::WRITABLE)
    }
    .unwrap();
    assert!(reg.readiness().is_readable() && reg.readiness().is_writable());
    // A wrong guess: nothing to read. The read is tried once, its
    // WouldBlock clears the assumption, and the next try does not call it.
    let calls = Cell::new(0);
    let read = || {
        calls.set(calls.get() + 1);
        (&a).read(&mut [0u8; 8])
    };
    assert_eq!(
        reg.try_io(Interest::READABLE, read).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    assert_eq!(
        reg.try_io(Interest::READABLE, read).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    assert_eq!(calls.get(), 1);
    assert!(
        reg.readiness().is_writable(),
        "the write side keeps its assumption"
    );

    // A snapshot of assumed readiness (tick 0) taken before the real edge
    // arrives must not erase that edge when cleared afterwards.
    let (c, mut d) = pair();
    // SAFETY: `c` outlives the registration (declared before it).
    let reg2 = unsafe { r.handle().register_assume_ready(&c, Ready::READABLE) }.unwrap();
    let waker = noop_waker();
    let assumed = match reg2.poll_ready(&mut Context::from_waker(&waker), Interest::READABLE) {
        Poll::Ready(Ok(ev)) => ev,
        other => panic!("{other:?}"),
    };
    d.write_all(b"x").unwrap();
    b.write_all(b"y").unwrap();
    let before = r.stats().events;
    turn_until(&mut r, |r| r.stats().events >= before + 2);
    reg2.clear_readiness(assumed);
    assert!(
        reg2.readiness().is_readable(),
        "a clear of the assumed readiness erased a real edge"
    );
    assert!(reg.readiness().is_readable());
}

#[test]
fn reactor_drop_drops_the_wakers_kept_in_slots() {
    let r = Reactor::new().unwrap();
    let (a, _b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { r.handle().register(&a) }.unwrap();
    // Like a runtime task: the waker holds the reactor's handle.
    let token = std::sync::Arc::new(());
    let weak = std::sync::Arc::downgrade(&token);
    let h = r.handle();
    let waker = waker_fn(move || {
        let _ = (&token, &h);
    });
    assert!(
        reg.poll_ready(&mut Context::from_waker(&waker), Interest::READABLE)
            .is_pending()
    );
    drop(waker);
    assert!(weak.upgrade().is_some(), "the armed slot holds the waker");
    drop(r);
    // The registration lives on, and no longer holds the task.
    assert!(reg.is_shutdown());
    assert!(
        weak.upgrade().is_none(),
        "a source kept its task's waker after the reactor shut down"
    );
}

#[test]
fn deregistering_after_shutdown_frees_at_once() {
    let r = Reactor::new().unwrap();
    let h = r.handle();
    let (a, _b) = pair();
    // SAFETY: `a` outlives the registration (declared before it).
    let reg = unsafe { h.register(&a) }.unwrap();
    drop(r);
    drop(reg);
    assert_eq!(
        h.grace_pending(),
        0,
        "a source was queued for a turn that will never come"
    );
}
