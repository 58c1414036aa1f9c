//! `runtime::Handle` (spawn, block_on, enter, current) from other threads,
//! and `Runtime::stats()` over real tasks and sockets.

use sockwq_test_support as support;

use std::future::poll_fn;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::io::AsyncReadExt;
use sockwq_reactor::Async;
use sockwq_runtime::runtime::{Handle, RuntimeStats};
use sockwq_runtime::{Runtime, block_on, spawn};

use support::with_watchdog;

fn rt(n: usize) -> Runtime {
    Runtime::builder().worker_threads(n).build().unwrap()
}

/// Polls `rt.stats()` until `ok` holds (a worker publishes at each turn,
/// and may not have turned since the work ended), for up to 10 s.
fn stats_until(handle: &Handle, ok: impl Fn(&RuntimeStats) -> bool) -> RuntimeStats {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = handle.stats();
        if ok(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "stats never got there: {s:#?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn handle_spawns_and_blocks_on_from_other_threads() {
    with_watchdog(30, || {
        let rt = rt(2);
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let handle = rt.handle().clone();
                std::thread::spawn(move || {
                    let hs: Vec<_> = (0..100u64)
                        .map(|i| handle.spawn(async move { t * 1000 + i }))
                        .collect();
                    handle.block_on(async move {
                        let mut sum = 0;
                        for h in hs {
                            sum += h.await.unwrap();
                        }
                        // Inside the handle's block_on, spawn goes to the runtime.
                        sum + spawn(async { 1 }).await.unwrap()
                    })
                })
            })
            .collect();
        let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let expect: u64 = (0..4u64).map(|t| t * 1000 * 100 + 4950 + 1).sum();
        assert_eq!(total, expect);
    });
}

#[test]
fn current_and_try_current() {
    with_watchdog(30, || {
        let e = Handle::try_current().unwrap_err();
        assert!(e.is_missing_context());
        assert!(e.to_string().contains("no sockwq runtime"), "{e}");

        let rt = rt(2);
        // In a worker's task: the runtime's handle.
        let h = rt.block_on(rt.spawn(async {
            let h = Handle::current();
            // Spawning through it from the worker works.
            let v = h.spawn(async { 3 }).await.unwrap();
            (h, v)
        }));
        let (h, v) = h.unwrap();
        assert_eq!(v, 3);
        assert_eq!(h.stats().workers().len(), 2);

        // In the free block_on: a handle of that one core, usable from
        // another thread while the block_on runs.
        block_on(async {
            let h = Handle::current();
            assert_eq!(h.stats().workers().len(), 1);
            let t = std::thread::spawn(move || {
                h.spawn(async { std::thread::current().name().map(str::to_owned) })
            });
            let jh = t.join().unwrap();
            assert_eq!(
                jh.await.unwrap(),
                std::thread::current().name().map(str::to_owned)
            );
        });
        assert!(Handle::try_current().is_err());
    });
}

#[test]
fn enter_guards_nest_and_restore() {
    with_watchdog(30, || {
        let rt1 = rt(1);
        let rt2 = rt(1);
        let name = || std::thread::current().name().map(str::to_owned);
        let on = |rt: &Runtime, h: sockwq_runtime::JoinHandle<Option<String>>| rt.block_on(h).unwrap();
        let g1 = rt1.handle().enter();
        let a = sockwq_runtime::spawn(async move { name() });
        {
            let _g2 = rt2.handle().enter();
            let b = sockwq_runtime::spawn(async move { name() });
            assert_eq!(Handle::current().stats().workers().len(), 1);
            let b = on(&rt2, b);
            assert_eq!(b.as_deref(), Some("sockwq-worker-0"));
        }
        // Back to rt1: a block_on in between does not clear the guard.
        let _ = rt2.block_on(async { 1 });
        let c = sockwq_runtime::spawn(async move { name() });
        drop(g1);
        assert!(Handle::try_current().is_err());
        assert_eq!(on(&rt1, a).as_deref(), Some("sockwq-worker-0"));
        assert_eq!(on(&rt1, c).as_deref(), Some("sockwq-worker-0"));
    });
}

#[test]
fn spawn_through_a_handle_after_the_runtime_is_dropped_is_cancelled() {
    with_watchdog(30, || {
        let rt = rt(2);
        let handle = rt.handle().clone();
        drop(rt);
        let h = handle.spawn(async { 1 });
        let err = futures::executor::block_on(h).unwrap_err();
        assert!(err.is_cancelled());
    });
}

#[test]
fn stats_count_tasks_polls_and_reactor_work() {
    with_watchdog(60, || {
        let rt = rt(2);
        let handle = rt.handle().clone();
        let base = handle.stats();
        assert_eq!(base.workers().len(), 2);

        // 100 tasks, each polled at least once.
        rt.block_on(async {
            let hs: Vec<_> = (0..100).map(|_| spawn(async {})).collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        let s = stats_until(&handle, |s| s.tasks_spawned() >= base.tasks_spawned() + 100);
        assert!(s.tasks_polled() >= base.tasks_polled() + 100);
        assert_eq!(
            s.workers().iter().map(|w| w.tasks_spawned).sum::<u64>(),
            s.tasks_spawned()
        );

        // A task on a worker that waits on a socket: alive while it waits,
        // its socket registered and its event dispatched by that reactor.
        let (a, mut b) = UnixStream::pair().unwrap();
        let reader = rt.spawn(async move {
            let mut a = Async::new(a).unwrap();
            let mut buf = [0u8; 4];
            a.read_exact(&mut buf).await.unwrap();
        });
        let s = stats_until(&handle, |s| s.tasks_alive() >= 1);
        let regs: u64 = s.workers().iter().map(|w| w.reactor.registrations).sum();
        assert!(regs >= 1, "{s:#?}");
        let events_before: u64 = s.workers().iter().map(|w| w.reactor.events).sum();
        b.write_all(b"ping").unwrap();
        rt.block_on(reader).unwrap();
        let s = stats_until(&handle, |s| {
            s.tasks_alive() == 0 && s.workers().iter().map(|w| w.reactor.events).sum::<u64>() > events_before
        });
        assert!(s.workers().iter().map(|w| w.reactor.turns).sum::<u64>() > 0);
    });
}

/// A deregistration whose `EPOLL_CTL_DEL` failed is counted in the
/// worker's stats, as in its reactor's.
#[test]
fn stats_count_failed_deregistrations() {
    with_watchdog(30, || {
        let rt = rt(1);
        let handle = rt.handle().clone();
        let (a, _b) = UnixStream::pair().unwrap();
        // Keeps the file, and so its epoll entry, alive once `a` is closed.
        let keep = a.try_clone().unwrap();
        // The worker's reactor (sockets made in block_on belong to it).
        let reactor = rt.block_on(async { sockwq_reactor::Handle::current() });
        // SAFETY: the contract is broken on purpose (`a` is closed before
        // the registration is dropped): the reactor keeps such a source
        // until it drops, and `keep` holds the file, so the fd number is
        // not reused for this reactor meanwhile.
        let reg = unsafe { reactor.register(&a) }.unwrap();
        drop(a);
        drop(reg);
        let deadline = Instant::now() + Duration::from_secs(10);
        let s = loop {
            // The worker publishes its counters at each turn: make it turn.
            reactor.wake();
            let s = handle.stats();
            if s.workers()[0].reactor.failed_deregistrations > 0 {
                break s;
            }
            assert!(Instant::now() < deadline, "never counted: {s:#?}");
            std::thread::sleep(Duration::from_millis(1));
        };
        assert_eq!(s.workers()[0].reactor.failed_deregistrations, 1);
        drop(rt);
        drop(keep);
    });
}

/// A task that is always ready makes its worker stop for IO every
/// `event_interval` polls: counted as budget yields.
#[test]
fn stats_count_budget_yields() {
    with_watchdog(60, || {
        let rt = Runtime::builder()
            .worker_threads(1)
            .event_interval(16)
            .build()
            .unwrap();
        let before = rt.stats().budget_yields();
        rt.block_on(rt.spawn(async {
            let mut n = 0;
            poll_fn(|cx| {
                n += 1;
                if n == 1000 {
                    return Poll::Ready(());
                }
                cx.waker().wake_by_ref();
                Poll::Pending
            })
            .await;
        }))
        .unwrap();
        // 1000 polls at 16 per budget: at least 1000 / 16 - 1 budget turns.
        stats_until(rt.handle(), |s| {
            s.budget_yields() >= before + 1000 / 16 - 1 && s.tasks_polled() >= 1000
        });
    });
}

/// Readers on other threads see consistent, monotone snapshots while the
/// workers run.
#[test]
fn stats_read_concurrently_with_busy_workers() {
    with_watchdog(60, || {
        let rt = rt(2);
        let handle = rt.handle().clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (handle, stop) = (handle.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut last = handle.stats();
                    let mut reads = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let s = handle.stats();
                        for (a, b) in last.workers().iter().zip(s.workers()) {
                            assert!(b.tasks_polled >= a.tasks_polled);
                            assert!(b.tasks_spawned >= a.tasks_spawned);
                            assert!(b.reactor.turns >= a.reactor.turns);
                            assert!(b.tasks_spawned >= b.tasks_alive);
                        }
                        last = s;
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        rt.block_on(async {
            for _ in 0..50 {
                let hs: Vec<_> = (0..200).map(|_| spawn(async {})).collect();
                for h in hs {
                    h.await.unwrap();
                }
            }
        });
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
    });
}

#[test]
fn handle_and_stats_are_send_and_sync() {
    fn send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
    send_sync::<Handle>();
    send_sync::<RuntimeStats>();
    send_sync::<sockwq_runtime::runtime::WorkerStats>();
    send_sync::<sockwq_runtime::runtime::TryCurrentError>();
}
