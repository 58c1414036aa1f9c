//! Runtime: wakes between workers. Every wake here is needed for progress,
//! so a lost one hangs the test, and the watchdog turns that into a failure.

use sockwq_test_support as support;

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;
use sockwq_runtime::{Runtime, spawn};

use support::with_watchdog;

/// Wakes that a sleeping task needed and got, over all tests of this file.
static DELIVERED: AtomicU64 = AtomicU64::new(0);

/// A round counter a task can wait on.
#[derive(Default)]
struct Signal {
    value: AtomicU64,
    waker: AtomicWaker,
}

impl Signal {
    fn set(&self, v: u64) {
        self.value.store(v, Ordering::SeqCst);
        self.waker.wake();
    }
    /// Waits until the counter reaches `v`; counts in `DELIVERED` the waits
    /// that went to sleep and were woken (each one a wake that had to
    /// arrive).
    async fn wait_for(&self, v: u64) {
        let mut slept = false;
        poll_fn(|cx| {
            if self.value.load(Ordering::SeqCst) >= v {
                if slept {
                    DELIVERED.fetch_add(1, Ordering::Relaxed);
                }
                return Poll::Ready(());
            }
            self.waker.register(cx.waker());
            if self.value.load(Ordering::SeqCst) >= v {
                Poll::Ready(())
            } else {
                slept = true;
                Poll::Pending
            }
        })
        .await
    }
}

/// Worker `w` runs a producer that, each round, wakes `tasks` consumer
/// tasks living on the other worker and waits until all of them acked (an
/// ack is itself a cross-worker wake). Both workers do this at once, in
/// both directions. Returns the number of cross-worker wakes made.
fn ping_pong(tasks: usize, rounds: u64) -> u64 {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    // group[w]: the consumers living on worker w, woken by worker 1 - w.
    let groups: Arc<Vec<Vec<Signal>>> = Arc::new(
        (0..2)
            .map(|_| (0..tasks).map(|_| Signal::default()).collect())
            .collect(),
    );
    let acks: Arc<Vec<(AtomicUsize, Signal)>> =
        Arc::new((0..2).map(|_| (AtomicUsize::new(0), Signal::default())).collect());
    let wakes = Arc::new(AtomicU64::new(0));
    let (g, a, wk) = (groups.clone(), acks.clone(), wakes.clone());
    let out = rt.run_per_core(move |w| {
        let (groups, acks, wakes) = (g.clone(), a.clone(), wk.clone());
        async move {
            let me = std::thread::current().id();
            // Consumers of group w, on this worker.
            let mut consumers = Vec::new();
            for i in 0..tasks {
                let (groups, acks) = (groups.clone(), acks.clone());
                consumers.push(spawn(async move {
                    for r in 1..=rounds {
                        groups[w][i].wait_for(r).await;
                        // Ack to the producer on the other worker.
                        let (count, sig) = &acks[1 - w];
                        if count.fetch_add(1, Ordering::SeqCst) + 1 == tasks {
                            count.store(0, Ordering::SeqCst);
                            sig.set(r);
                        }
                    }
                    std::thread::current().id()
                }));
            }
            // Producer: wakes the consumers of the other group, on the other worker.
            let producer = spawn(async move {
                for r in 1..=rounds {
                    for s in &groups[1 - w] {
                        s.set(r);
                    }
                    wakes.fetch_add(tasks as u64 + 1, Ordering::Relaxed);
                    acks[w].1.wait_for(r).await;
                }
            });
            producer.await.unwrap();
            for c in consumers {
                assert_eq!(c.await.unwrap(), me, "a task moved to another worker");
            }
        }
    });
    assert_eq!(out.len(), 2);
    wakes.load(Ordering::Relaxed)
}

#[test]
fn one_million_cross_worker_wakes_none_lost() {
    let wakes = with_watchdog(120, || {
        let t = Instant::now();
        let before = DELIVERED.load(Ordering::Relaxed);
        let wakes = ping_pong(500, 1000);
        let delivered = DELIVERED.load(Ordering::Relaxed) - before;
        eprintln!(
            "{wakes} cross-worker wakes ({delivered} found a sleeping task) in {:?}",
            t.elapsed()
        );
        wakes
    });
    assert!(wakes >= 1_000_000, "{wakes}");
}

#[test]
fn ping_pong_of_single_tasks_parks_every_time() {
    // One consumer per side: each wake finds the other worker parked (or
    // about to park), the case the Dekker handshake is about.
    let wakes = with_watchdog(60, || ping_pong(1, 20_000));
    assert!(wakes >= 40_000);
}

#[test]
#[ignore = "heavy: 10M wakes; run with --ignored (release recommended)"]
fn ten_million_cross_worker_wakes() {
    let wakes = with_watchdog(600, || ping_pong(1000, 5000));
    assert!(wakes >= 10_000_000);
}

#[test]
fn wakes_from_foreign_threads() {
    with_watchdog(60, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let sig = Arc::new(Signal::default());
        let (ack_tx, ack_rx) = mpsc::channel();
        let s = sig.clone();
        let h = rt.spawn(async move {
            for r in 1..=20_000 {
                s.wait_for(r).await;
                ack_tx.send(r).unwrap();
            }
        });
        for r in 1..=20_000u64 {
            sig.set(r);
            assert_eq!(ack_rx.recv_timeout(Duration::from_secs(10)).unwrap(), r);
        }
        rt.block_on(h).unwrap();
    });
}
