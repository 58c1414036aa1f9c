//! Runtime: spawning, joining, panics, abort, detach, shutdown.

use sockwq_test_support as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sockwq_runtime::{Runtime, block_on, spawn, spawn_local, time};

use support::with_watchdog;

fn rt(n: usize) -> Runtime {
    Runtime::builder().worker_threads(n).build().unwrap()
}

#[test]
fn spawn_and_join_100k_tasks() {
    with_watchdog(60, || {
        let rt = rt(2);
        let sum = rt.block_on(async {
            let handles: Vec<_> = (0..100_000u64).map(|i| spawn(async move { i })).collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 100_000 * 99_999 / 2);
    });
}

#[test]
fn spawn_on_workers_stays_local_and_joins() {
    with_watchdog(30, || {
        let rt = rt(2);
        let per = rt.run_per_core(|i| async move {
            let me = std::thread::current().id();
            let hs: Vec<_> = (0..1000)
                .map(|_| spawn(async move { std::thread::current().id() }))
                .collect();
            let mut same = 0;
            for h in hs {
                if h.await.unwrap() == me {
                    same += 1;
                }
            }
            (i, same)
        });
        assert_eq!(per, vec![(0, 1000), (1, 1000)]);
    });
}

#[test]
fn free_block_on_runs_spawned_and_local_tasks() {
    with_watchdog(10, || {
        let v = block_on(async {
            let rc = std::rc::Rc::new(3);
            let r2 = rc.clone();
            let a = spawn_local(async move { *r2 * 2 });
            let b = spawn(async { 4 });
            a.await.unwrap() + b.await.unwrap() + *rc
        });
        assert_eq!(v, 13);
    });
}

#[test]
fn panic_in_task_yields_join_error_and_worker_survives() {
    with_watchdog(10, || {
        let rt = rt(1);
        rt.block_on(async {
            let err = spawn(async { panic!("task boom") }).await.unwrap_err();
            assert!(err.is_panic());
            assert!(!err.is_cancelled());
            assert!(err.to_string().contains("task boom"), "{err}");
            assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "task boom");
            // The one worker is still alive and running tasks.
            assert_eq!(spawn(async { 7 }).await.unwrap(), 7);
        });
    });
}

#[test]
fn abort_pending_and_finished_tasks() {
    with_watchdog(10, || {
        let rt = rt(2);
        rt.block_on(async {
            let h = spawn(std::future::pending::<()>());
            time::sleep(Duration::from_millis(5)).await;
            h.abort();
            assert!(h.await.unwrap_err().is_cancelled());

            // Abort before the first poll.
            let h = spawn(async { 1 });
            h.abort();
            let r = h.await;
            assert!(r.is_err() || r.unwrap() == 1);

            // Abort after completion keeps the output.
            let h = spawn(async { 2 });
            while !h.is_finished() {
                time::sleep(Duration::from_millis(1)).await;
            }
            h.abort();
            assert_eq!(h.await.unwrap(), 2);
        });
    });
}

#[test]
fn dropping_join_handle_detaches() {
    with_watchdog(10, || {
        let rt = rt(2);
        let (tx, rx) = mpsc::channel();
        drop(rt.spawn(async move {
            time::sleep(Duration::from_millis(5)).await;
            tx.send(42).unwrap();
        }));
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 42);
    });
}

#[test]
fn spawn_outside_a_runtime_panics_with_a_clear_message() {
    let err = std::panic::catch_unwind(|| drop(spawn(async {}))).unwrap_err();
    let msg = err.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("outside a sockwq runtime"), "{msg}");
    let err = std::panic::catch_unwind(|| drop(spawn_local(async {}))).unwrap_err();
    let msg = err.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("outside a sockwq runtime"), "{msg}");
}

#[test]
fn nested_block_on_panics() {
    with_watchdog(10, || {
        let r = std::panic::catch_unwind(|| block_on(async { block_on(async {}) }));
        assert!(r.is_err());
        let rt = rt(1);
        let r = rt.block_on(async {
            spawn(async { std::panic::catch_unwind(|| block_on(async {})).is_err() }).await
        });
        assert!(r.unwrap());
    });
}

struct SetOnDrop(Arc<AtomicUsize>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_the_runtime_cancels_every_task() {
    with_watchdog(20, || {
        let rt = rt(2);
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for i in 0..100 {
            let guard = SetOnDrop(dropped.clone());
            handles.push(rt.spawn(async move {
                let _g = guard;
                if i % 2 == 0 {
                    std::future::pending::<()>().await;
                } else {
                    time::sleep(Duration::from_secs(3600)).await;
                }
            }));
        }
        // Let them all start.
        rt.block_on(time::sleep(Duration::from_millis(20)));
        let t = Instant::now();
        drop(rt);
        assert!(t.elapsed() < Duration::from_secs(10));
        assert_eq!(dropped.load(Ordering::SeqCst), 100);
        for h in handles {
            assert!(block_on(h).unwrap_err().is_cancelled());
        }
    });
}

#[test]
fn block_on_cancels_its_leftover_local_tasks() {
    with_watchdog(10, || {
        let dropped = Arc::new(AtomicUsize::new(0));
        let d = dropped.clone();
        block_on(async move {
            let g = SetOnDrop(d);
            drop(spawn_local(async move {
                let _g = g;
                std::future::pending::<()>().await
            }));
            time::sleep(Duration::from_millis(1)).await;
        });
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn shutdown_timeout_gives_up_on_a_blocked_worker() {
    with_watchdog(20, || {
        let rt = rt(1);
        let started = Arc::new(AtomicBool::new(false));
        let s = started.clone();
        rt.spawn(async move {
            s.store(true, Ordering::SeqCst);
            // A blocking call inside a task (a bug, but it must not hang shutdown).
            std::thread::sleep(Duration::from_secs(8));
        });
        let t = Instant::now();
        while !started.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let t = Instant::now();
        rt.shutdown_timeout(Duration::from_millis(100));
        assert!(t.elapsed() >= Duration::from_millis(100));
        assert!(t.elapsed() < Duration::from_secs(5));
    });
}

#[test]
fn spawn_from_many_threads() {
    with_watchdog(30, || {
        let rt = Arc::new(rt(2));
        let done = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let rt = rt.clone();
                let done = done.clone();
                std::thread::spawn(move || {
                    let hs: Vec<_> = (0..2000)
                        .map(|_| {
                            let done = done.clone();
                            rt.spawn(async move {
                                done.fetch_add(1, Ordering::SeqCst);
                            })
                        })
                        .collect();
                    for h in hs {
                        block_on(h).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(done.load(Ordering::SeqCst), 8000);
    });
}
