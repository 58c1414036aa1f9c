//! spawn_blocking: where tasks run, that they do not block workers, panics,
//! the bound, the keep-alive, abort, and shutdown.

use sockwq_test_support as support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use sockwq_runtime::{Runtime, block_on, spawn, spawn_blocking};

use support::with_watchdog;

fn thread_name() -> String {
    thread::current().name().unwrap_or("").to_owned()
}

/// Threads of this process whose name (`comm`, 15 bytes at most) is `name`.
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[test]
fn runs_on_the_runtime_pool_or_the_process_pool() {
    with_watchdog(10, || {
        let rt = Runtime::builder()
            .worker_threads(1)
            .thread_name("own")
            .build()
            .unwrap();
        // From a worker, from the runtime's block_on, from Runtime::spawn_blocking,
        // and nested in a blocking task: the runtime's pool.
        let on_worker = rt.block_on(rt.spawn(async { spawn_blocking(thread_name).await.unwrap() }));
        assert_eq!(on_worker.unwrap(), "own-blocking");
        let in_block_on = rt.block_on(async { spawn_blocking(thread_name).await });
        assert_eq!(in_block_on.unwrap(), "own-blocking");
        assert_eq!(
            rt.block_on(rt.spawn_blocking(thread_name)).unwrap(),
            "own-blocking"
        );
        let nested = rt.block_on(rt.spawn_blocking(|| block_on(async { spawn_blocking(thread_name).await })));
        assert_eq!(nested.unwrap().unwrap(), "own-blocking");
        // A free block_on and any other executor: the process-wide pool.
        assert_eq!(block_on(spawn_blocking(thread_name)).unwrap(), "sockwq-blocking");
        let other = futures::executor::block_on(spawn_blocking(thread_name));
        assert_eq!(other.unwrap(), "sockwq-blocking");
    });
}

/// The blocking task waits for a message that a task on the runtime's only
/// worker sends: were the closure run on the worker, neither would finish.
#[test]
fn a_blocking_task_does_not_block_the_worker() {
    with_watchdog(10, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let (tx, rx) = mpsc::channel::<u32>();
        let got = rt.block_on(rt.spawn(async move {
            let waiting = spawn_blocking(move || rx.recv_timeout(Duration::from_secs(5)).unwrap());
            let sender = spawn(async move {
                sockwq_runtime::time::sleep(Duration::from_millis(20)).await;
                tx.send(7).unwrap();
            });
            sender.await.unwrap();
            waiting.await.unwrap()
        }));
        assert_eq!(got.unwrap(), 7);
    });
}

#[test]
fn a_panic_becomes_a_join_error() {
    with_watchdog(10, || {
        let handle = spawn_blocking(|| -> u32 { panic!("blocking boom") });
        let id = handle.id();
        let err = block_on(handle).unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.id(), id);
        assert_eq!(
            err.to_string(),
            format!(r#"task {id} panicked with message "blocking boom""#)
        );
        // The thread survived and runs the next task.
        assert_eq!(block_on(spawn_blocking(|| 5)).unwrap(), 5);
    });
}

/// Threads start on demand up to `max_blocking_threads`; the rest wait.
#[test]
fn the_pool_grows_to_its_bound_and_no_further() {
    with_watchdog(20, || {
        const MAX: usize = 3;
        let rt = Runtime::builder()
            .worker_threads(1)
            .max_blocking_threads(MAX)
            .build()
            .unwrap();
        let gate = Arc::new((Mutex::new((0usize, 0usize)), Condvar::new())); // (running, peak)
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let gate = gate.clone();
                rt.spawn_blocking(move || {
                    let (m, cv) = &*gate;
                    let mut g = m.lock().unwrap();
                    g.0 += 1;
                    g.1 = g.1.max(g.0);
                    cv.notify_all();
                    // Hold the thread until MAX tasks run at once (bounded).
                    let deadline = Instant::now() + Duration::from_secs(5);
                    while g.1 < MAX && Instant::now() < deadline {
                        g = cv.wait_timeout(g, Duration::from_millis(50)).unwrap().0;
                    }
                    g.0 -= 1;
                    thread::current().id()
                })
            })
            .collect();
        let mut ids: Vec<_> = handles.into_iter().map(|h| rt.block_on(h).unwrap()).collect();
        ids.sort_by_key(|id| format!("{id:?}"));
        ids.dedup();
        assert_eq!(gate.0.lock().unwrap().1, MAX, "peak concurrency");
        assert_eq!(ids.len(), MAX, "threads used");
    });
}

/// `spawn_blocking(..).await` in a loop (the shape of file IO through the
/// pool) runs on one thread: the thread that finished the previous task
/// counts as free before the awaiting task can spawn the next.
#[test]
fn sequential_tasks_reuse_one_thread() {
    with_watchdog(20, || {
        let rt = Runtime::builder()
            .worker_threads(1)
            .thread_name("seq")
            .build()
            .unwrap();
        let ids = rt.block_on(async {
            let mut ids = Vec::new();
            for _ in 0..50 {
                ids.push(spawn_blocking(|| thread::current().id()).await.unwrap());
            }
            ids
        });
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        assert_eq!(threads_named("seq-blocking"), 1);
    });
}

/// An idle thread is reused within the keep-alive and exits after it.
/// (The keep-alive is long enough that a stalled test thread cannot
/// outlast it between the first two tasks.)
#[test]
fn idle_threads_exit_after_the_keep_alive() {
    with_watchdog(30, || {
        const KEEP_ALIVE: Duration = Duration::from_secs(2);
        let rt = Runtime::builder()
            .worker_threads(1)
            .thread_name("kalive")
            .thread_keep_alive(KEEP_ALIVE)
            .build()
            .unwrap();
        let id_and_count = || (thread::current().id(), threads_named("kalive-blocking"));
        let (first, count) = rt.block_on(rt.spawn_blocking(id_and_count)).unwrap();
        assert_eq!(count, 1, "one thread started for one task");
        let (second, count) = rt.block_on(rt.spawn_blocking(id_and_count)).unwrap();
        assert_eq!((second, count), (first, 1), "an idle thread is reused");
        let idle_since = Instant::now();
        while threads_named("kalive-blocking") > 0 {
            assert!(
                idle_since.elapsed() < Duration::from_secs(20),
                "the idle thread did not exit"
            );
            thread::sleep(Duration::from_millis(20));
        }
        assert!(
            idle_since.elapsed() >= KEEP_ALIVE - Duration::from_millis(100),
            "exited before its keep-alive"
        );
        // A new task starts a new thread.
        let (third, _) = rt.block_on(rt.spawn_blocking(id_and_count)).unwrap();
        assert_ne!(third, first);
    });
}

#[test]
fn dropping_the_runtime_waits_for_running_blocking_tasks() {
    with_watchdog(10, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = mpsc::channel();
        let d = done.clone();
        let h = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            thread::sleep(Duration::from_millis(200));
            d.store(true, Ordering::SeqCst);
        });
        started_rx.recv().unwrap();
        drop(rt);
        assert!(
            done.load(Ordering::SeqCst),
            "drop returned before the blocking task"
        );
        futures::executor::block_on(h).unwrap();
    });
}

/// `shutdown_timeout` stops waiting for a stuck blocking task, and cancels
/// the ones that have not started.
#[test]
fn shutdown_timeout_bounds_the_wait_and_cancels_queued_tasks() {
    with_watchdog(10, || {
        let rt = Runtime::builder()
            .worker_threads(1)
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel();
        let stuck = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            release_rx.recv_timeout(Duration::from_secs(8)).unwrap();
        });
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let queued = rt.spawn_blocking(move || r.store(true, Ordering::SeqCst));
        started_rx.recv().unwrap();
        let t = Instant::now();
        rt.shutdown_timeout(Duration::from_millis(100));
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "shutdown_timeout waited {:?}",
            t.elapsed()
        );
        let err = futures::executor::block_on(queued).unwrap_err();
        assert!(err.is_cancelled(), "{err}");
        release_tx.send(()).unwrap();
        futures::executor::block_on(stuck).unwrap();
        assert!(!ran.load(Ordering::SeqCst), "a cancelled task ran");
    });
}

/// `abort` cancels a blocking task that has not started; one that runs
/// finishes.
#[test]
fn abort_cancels_only_a_task_not_yet_started() {
    with_watchdog(10, || {
        let rt = Runtime::builder()
            .worker_threads(1)
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel();
        let running = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            release_rx.recv_timeout(Duration::from_secs(8)).unwrap();
            1
        });
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let queued = rt.spawn_blocking(move || c.fetch_add(1, Ordering::SeqCst));
        started_rx.recv().unwrap();
        queued.abort();
        running.abort();
        release_tx.send(()).unwrap();
        assert_eq!(rt.block_on(running).unwrap(), 1);
        assert!(rt.block_on(queued).unwrap_err().is_cancelled());
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    });
}
