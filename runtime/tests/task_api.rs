//! `sockwq_runtime::task`: JoinSet, AbortHandle, task ids, yield_now, over
//! real tasks (and sockets that must close when their task is aborted).

use sockwq_test_support as support;

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::oneshot;
use futures_util::io::AsyncReadExt;
use sockwq_reactor::Async;
use sockwq_runtime::task::{self, JoinSet};
use sockwq_runtime::{Runtime, block_on, spawn_local, time};

use support::with_watchdog;

fn rt(n: usize) -> Runtime {
    Runtime::builder().worker_threads(n).build().unwrap()
}

/// The peer of a socket held by a task reads EOF once the task's future is
/// dropped (the fd closed), within a bound.
fn assert_closed(peer: &mut UnixStream) {
    peer.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(
        peer.read(&mut [0u8; 1]).unwrap(),
        0,
        "the task's socket is still open"
    );
}

/// A task that holds one end of a pair, blocked on a read, and the other
/// end.
fn socket_holder() -> (impl std::future::Future<Output = ()> + Send + 'static, UnixStream) {
    let (a, peer) = UnixStream::pair().unwrap();
    let fut = async move {
        let mut a = Async::new(a).unwrap();
        let mut buf = [0u8; 1];
        let _ = a.read(&mut buf).await;
        unreachable!("nobody writes to this socket");
    };
    (fut, peer)
}

#[test]
fn join_set_returns_tasks_in_the_order_they_finish() {
    with_watchdog(30, || {
        let rt = rt(2);
        rt.block_on(async {
            let mut set = JoinSet::new();
            let mut gates = Vec::new();
            let mut ids = Vec::new();
            for i in 0..5u32 {
                let (tx, rx) = oneshot::channel::<()>();
                gates.push(Some(tx));
                ids.push(
                    set.spawn(async move {
                        rx.await.unwrap();
                        i
                    })
                    .id(),
                );
            }
            assert_eq!(set.len(), 5);
            for i in [3usize, 0, 4, 1, 2] {
                gates[i].take().unwrap().send(()).unwrap();
                let (id, v) = set.join_next_with_id().await.unwrap().unwrap();
                assert_eq!((id, v), (ids[i], i as u32));
            }
            assert!(set.is_empty());
            assert!(set.join_next().await.is_none());
        });
    });
}

/// `try_join_next` finds a finished task among many running ones, without
/// waiting, and `None` when none has finished.
#[test]
fn try_join_next_finds_the_finished_task() {
    with_watchdog(30, || {
        let rt = rt(2);
        rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..100 {
                set.spawn(std::future::pending::<u32>());
            }
            assert!(set.try_join_next().is_none());
            let done = set.spawn(async { 7 });
            while !done.is_finished() {
                time::sleep(Duration::from_millis(1)).await;
            }
            // The output is stored an instant after the future is dropped.
            let mut got = None;
            for _ in 0..1000 {
                got = set.try_join_next();
                if got.is_some() {
                    break;
                }
                task::yield_now().await;
            }
            assert_eq!(got.unwrap().unwrap(), 7);
            assert_eq!(set.len(), 100);
            assert!(set.try_join_next().is_none());
        });
    });
}

#[test]
fn abort_all_and_shutdown_cancel_every_task_and_close_their_sockets() {
    with_watchdog(30, || {
        let rt = rt(2);
        let mut peers = Vec::new();
        let mut set = JoinSet::new();
        let _guard = rt.handle().enter();
        for _ in 0..10 {
            let (fut, peer) = socket_holder();
            set.spawn(fut);
            peers.push(peer);
        }
        set.spawn(async {});
        rt.block_on(async {
            // Let them all start (and register their sockets).
            time::sleep(Duration::from_millis(20)).await;
            set.abort_all();
            let (mut cancelled, mut ok) = (0, 0);
            while let Some(r) = set.join_next().await {
                match r {
                    Ok(()) => ok += 1,
                    Err(e) => {
                        assert!(e.is_cancelled(), "{e}");
                        cancelled += 1;
                    }
                }
            }
            assert_eq!((cancelled, ok), (10, 1));
        });
        for p in &mut peers {
            assert_closed(p);
        }

        let (fut, mut peer) = socket_holder();
        set.spawn(fut);
        rt.block_on(set.shutdown());
        assert!(set.is_empty());
        assert_closed(&mut peer);
    });
}

#[test]
fn dropping_a_join_set_aborts_its_tasks() {
    with_watchdog(30, || {
        let rt = rt(2);
        let mut peers = Vec::new();
        rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..10 {
                let (fut, peer) = socket_holder();
                set.spawn(fut);
                peers.push(peer);
            }
            time::sleep(Duration::from_millis(20)).await;
            drop(set);
        });
        for p in &mut peers {
            assert_closed(p);
        }
    });
}

#[test]
fn detach_all_leaves_tasks_running() {
    with_watchdog(30, || {
        let rt = rt(2);
        rt.block_on(async {
            let mut set = JoinSet::new();
            let (tx, rx) = oneshot::channel::<u32>();
            let (go_tx, go_rx) = oneshot::channel::<()>();
            set.spawn(async move {
                go_rx.await.unwrap();
                tx.send(5).unwrap();
            });
            set.detach_all();
            assert!(set.is_empty());
            drop(set); // aborts nothing: the task is no longer in it
            go_tx.send(()).unwrap();
            assert_eq!(rx.await.unwrap(), 5);
        });
    });
}

/// A waker that counts itself: its `Arc` count says who still holds it.
struct Counted;

impl std::task::Wake for Counted {
    fn wake(self: Arc<Self>) {}
}

/// Once its tasks are detached, or the set dropped, the set's tasks no
/// longer hold the waker of whoever last waited on the set: a detached
/// task may run for ever, and its end must not wake (or keep alive) a
/// task that has stopped caring.
#[test]
fn a_join_set_lets_go_of_its_waiter_when_detached_or_dropped() {
    with_watchdog(30, || {
        let rt = rt(1);
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let counted = Arc::new(Counted);
        let waker = std::task::Waker::from(counted.clone());
        let mut cx = std::task::Context::from_waker(&waker);
        let mut set = JoinSet::new();
        let _guard = rt.handle().enter();
        set.spawn(async move {
            go_rx.await.unwrap();
            done_tx.send(()).unwrap();
        });
        assert!(set.poll_join_next(&mut cx).is_pending());
        drop(waker);
        assert_eq!(Arc::strong_count(&counted), 2, "the set holds the waiter's waker");
        set.detach_all();
        assert_eq!(
            Arc::strong_count(&counted),
            1,
            "a detached task keeps the set's waiter alive"
        );
        drop(set);
        go_tx.send(()).unwrap();
        done_rx.recv_timeout(Duration::from_secs(10)).unwrap();

        // Dropped with a task in it: aborted, and the waker released at once.
        let mut set = JoinSet::new();
        let waker = std::task::Waker::from(counted.clone());
        let mut cx = std::task::Context::from_waker(&waker);
        set.spawn(std::future::pending::<()>());
        assert!(set.poll_join_next(&mut cx).is_pending());
        drop(waker);
        drop(set);
        assert_eq!(
            Arc::strong_count(&counted),
            1,
            "a dropped set's aborted task keeps its waiter alive"
        );
    });
}

#[test]
fn join_set_spawn_local_and_join_all() {
    with_watchdog(30, || {
        block_on(async {
            let shared = Rc::new(Cell::new(0));
            let mut set = JoinSet::new();
            for i in 1..=4 {
                let s = shared.clone();
                set.spawn_local(async move {
                    s.set(s.get() + i);
                    i
                });
            }
            let mut v = set.join_all().await;
            v.sort();
            assert_eq!(v, [1, 2, 3, 4]);
            assert_eq!(shared.get(), 10);
        });
    });
}

#[test]
fn join_all_propagates_a_panic() {
    let r = std::panic::catch_unwind(|| {
        block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async { panic!("task blew up") });
            set.join_all().await;
        })
    });
    let payload = r.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"task blew up"));
}

/// An `AbortHandle` used from another thread cancels a task holding a
/// socket: the socket closes, the handle reports it finished, and the
/// join handle yields a cancelled error carrying the task's id.
#[test]
fn abort_handle_from_another_thread_closes_the_tasks_socket() {
    with_watchdog(30, || {
        let rt = rt(2);
        let (fut, mut peer) = socket_holder();
        let h = rt.spawn(fut);
        let abort = h.abort_handle();
        assert_eq!(abort.id(), h.id());
        assert!(!abort.is_finished());
        let a2 = abort.clone();
        std::thread::spawn(move || a2.abort()).join().unwrap();
        assert_closed(&mut peer);
        let id = h.id();
        let err = rt.block_on(h).unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.id(), id);
        assert!(abort.is_finished());
        assert!(err.to_string().contains(&id.to_string()), "{err}");
    });
}

#[test]
fn task_ids_are_unique_and_visible_in_the_task_and_its_drop() {
    with_watchdog(30, || {
        let rt = rt(2);
        assert!(task::try_id().is_none());
        let seen: Arc<Mutex<Vec<Option<task::Id>>>> = Arc::default();
        struct RecordOnDrop(Arc<Mutex<Vec<Option<task::Id>>>>);
        impl Drop for RecordOnDrop {
            fn drop(&mut self) {
                self.0.lock().unwrap().push(task::try_id());
            }
        }
        let handles: Vec<_> = (0..200)
            .map(|_| {
                let guard = RecordOnDrop(seen.clone());
                rt.spawn(async move {
                    let _guard = guard;
                    task::yield_now().await;
                    task::id()
                })
            })
            .collect();
        let ids: Vec<task::Id> = handles.iter().map(|h| h.id()).collect();
        let got: Vec<task::Id> = rt.block_on(async move {
            assert!(task::try_id().is_none(), "a block_on future is not a task");
            let mut got = Vec::new();
            for h in handles {
                got.push(h.await.unwrap());
            }
            got
        });
        assert_eq!(got, ids);
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        // Every future was dropped with its own id current.
        let mut dropped: Vec<task::Id> = seen.lock().unwrap().iter().map(|i| i.unwrap()).collect();
        dropped.sort();
        assert_eq!(dropped, unique);
    });
}

#[test]
#[should_panic(expected = "task::id() called outside a task")]
fn task_id_outside_a_task_panics() {
    let _ = task::id();
}

/// `yield_now` lets the core look at its sockets before the yielding task
/// runs again: a reader on the same core is woken after one yield, not
/// after the cooperative budget (61 polls) ran out.
#[test]
fn yield_now_lets_io_in_before_the_task_runs_again() {
    with_watchdog(30, || {
        block_on(async {
            let (a, mut peer) = UnixStream::pair().unwrap();
            let yields = Rc::new(Cell::new(0u32));
            let y = yields.clone();
            let reader = spawn_local(async move {
                let mut a = Async::new(a).unwrap();
                let mut buf = [0u8; 1];
                a.read_exact(&mut buf).await.unwrap();
                y.get()
            });
            // Let the reader start and wait.
            task::yield_now().await;
            let y = yields.clone();
            let spinner = spawn_local(async move {
                peer.write_all(b"x").unwrap();
                for _ in 0..1000 {
                    y.set(y.get() + 1);
                    task::yield_now().await;
                }
            });
            let at = reader.await.unwrap();
            assert!(at <= 2, "the reader ran only after {at} yields");
            spinner.await.unwrap();
        });
    });
}

#[test]
fn yield_now_outside_a_runtime_wakes_at_once() {
    with_watchdog(10, || {
        futures::executor::block_on(async {
            for _ in 0..10 {
                task::yield_now().await;
            }
        });
    });
}

/// `spawn` and the rest are reachable from `task`, as in tokio.
#[test]
fn task_module_reexports() {
    let v = block_on(async {
        let h: task::JoinHandle<u8> = task::spawn(async { 1 });
        let l = task::spawn_local(async { 2u8 });
        let e: Result<u8, task::JoinError> = h.await;
        e.unwrap() + l.await.unwrap()
    });
    assert_eq!(v, 3);
}

#[test]
fn handles_are_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<task::AbortHandle>();
    send_sync::<task::Id>();
    send_sync::<task::JoinError>();
    send::<JoinSet<u32>>();
    send::<task::JoinHandle<u32>>();
}
