//! Signals, sent to this process with `kill` (and `pthread_kill`). Signals
//! are process-wide, so they have this binary to themselves, and each test
//! uses a signal no other test here sends.

use sockwq_test_support as support;

use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures_util::StreamExt;
use sockwq_runtime::signal::unix::{Signal, SignalKind, signal};
use sockwq_runtime::{Runtime, block_on, signal::ctrl_c};

use support::with_watchdog;

fn kill_self(signo: libc::c_int) {
    // SAFETY: kill with our own pid and a valid signal number.
    assert_eq!(unsafe { libc::kill(libc::getpid(), signo) }, 0);
}

/// Polls `fut` once; true if it completed.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> bool {
    poll_fn(|cx| Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx).is_ready())).await
}

/// Whether `signo` is blocked in the calling thread.
fn blocked_here(signo: libc::c_int) -> bool {
    // SAFETY: a zeroed sigset is valid storage for the current mask; a null
    // new set only queries it.
    unsafe {
        let mut cur: libc::sigset_t = std::mem::zeroed();
        assert_eq!(
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut cur),
            0
        );
        libc::sigismember(&cur, signo) == 1
    }
}

#[test]
fn ctrl_c_completes_on_sigint() {
    with_watchdog(10, || {
        block_on(async {
            let mut c = pin!(ctrl_c());
            // ctrl_c listens from its first poll.
            assert!(!poll_once(&mut c).await, "ctrl_c completed before any SIGINT");
            kill_self(libc::SIGINT);
            c.await.unwrap();
        });
    });
}

#[test]
fn each_delivery_is_received_once() {
    with_watchdog(10, || {
        block_on(async {
            let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
            for _ in 0..5 {
                assert!(
                    !poll_once(&mut pin!(usr1.recv())).await,
                    "a delivery that was not sent"
                );
                kill_self(libc::SIGUSR1);
                assert_eq!(usr1.recv().await, Some(()));
            }
            // Nothing more was sent: nothing more is received.
            sockwq_runtime::time::sleep(Duration::from_millis(50)).await;
            assert!(!poll_once(&mut pin!(usr1.recv())).await);
        });
    });
}

/// One `kill` reaches listeners on two runtime workers, in a free
/// `block_on`, under `futures::executor::block_on` and under tokio.
#[test]
fn one_delivery_fans_out_to_listeners_on_every_executor() {
    with_watchdog(20, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let (ready_tx, ready_rx) = mpsc::channel::<&'static str>();
        let (done_tx, done_rx) = mpsc::channel::<&'static str>();
        let listen = |name: &'static str| {
            let (ready, done) = (ready_tx.clone(), done_tx.clone());
            async move {
                let mut s = signal(SignalKind::user_defined2()).unwrap();
                ready.send(name).unwrap();
                assert_eq!(s.recv().await, Some(()));
                done.send(name).unwrap();
            }
        };
        let workers: Vec<_> = (0..2).map(|_| rt.spawn(listen("worker"))).collect();
        let l = listen("block_on");
        let t1 = thread::spawn(move || block_on(l));
        let l = listen("futures");
        let t2 = thread::spawn(move || futures::executor::block_on(l));
        let l = listen("tokio");
        let t3 = thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .unwrap()
                .block_on(l)
        });
        for _ in 0..5 {
            ready_rx.recv().unwrap();
        }
        kill_self(libc::SIGUSR2);
        let mut got: Vec<_> = (0..5).map(|_| done_rx.recv().unwrap()).collect();
        got.sort();
        assert_eq!(got, ["block_on", "futures", "tokio", "worker", "worker"]);
        for w in workers {
            rt.block_on(w).unwrap();
        }
        for t in [t1, t2, t3] {
            t.join().unwrap();
        }
    });
}

#[test]
fn signal_is_a_stream() {
    with_watchdog(10, || {
        block_on(async {
            let mut winch = signal(SignalKind::window_change()).unwrap();
            kill_self(libc::SIGWINCH);
            assert_eq!(winch.next().await, Some(()));
        });
    });
}

/// A thread that does not block the signal gets it from the kernel; the
/// handler makes it block the signal and forwards it to the listener.
/// Without that, `SIGHUP`'s default action would end this process.
#[test]
fn a_delivery_to_an_unblocked_thread_is_forwarded() {
    with_watchdog(10, || {
        let mut hup = signal(SignalKind::hangup()).unwrap();
        assert!(
            blocked_here(libc::SIGHUP),
            "signal() blocks in the calling thread"
        );
        let (id_tx, id_rx) = mpsc::channel();
        let (ask_tx, ask_rx) = mpsc::channel::<()>();
        let (answer_tx, answer_rx) = mpsc::channel();
        let stray = thread::spawn(move || {
            let set = {
                // SAFETY: as in blocked_here; sigaddset with a valid signal.
                unsafe {
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, libc::SIGHUP);
                    set
                }
            };
            // SAFETY: `set` is initialised; no old set asked for.
            unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
            assert!(!blocked_here(libc::SIGHUP));
            // SAFETY: pthread_self has no preconditions.
            id_tx.send(unsafe { libc::pthread_self() }).unwrap();
            ask_rx.recv().unwrap();
            answer_tx.send(blocked_here(libc::SIGHUP)).unwrap();
        });
        let id = id_rx.recv().unwrap();
        // SAFETY: `id` is a live thread (it waits on `ask_rx`).
        assert_eq!(unsafe { libc::pthread_kill(id, libc::SIGHUP) }, 0);
        block_on(async { assert_eq!(hup.recv().await, Some(())) });
        ask_tx.send(()).unwrap();
        assert!(answer_rx.recv().unwrap(), "the stray thread now blocks SIGHUP");
        stray.join().unwrap();
    });
}

#[test]
fn refuses_what_a_signalfd_cannot_take() {
    for signo in [
        0,
        -1,
        65,
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        32,
        33,
    ] {
        let err = signal(SignalKind::from_raw(signo)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {signo}: {err}");
        assert!(err.to_string().contains(&format!("signal {signo}")), "{err}");
    }
}

/// A listener first polled in a `block_on` (registered with its reactor)
/// keeps working after that reactor is gone, under another executor.
#[test]
fn a_listener_outlives_the_reactor_it_first_waited_in() {
    with_watchdog(10, || {
        let mut alrm: Signal = block_on(async {
            let mut s = signal(SignalKind::alarm()).unwrap();
            assert!(!poll_once(&mut pin!(s.recv())).await);
            s
        });
        kill_self(libc::SIGALRM);
        futures::executor::block_on(async { assert_eq!(alrm.recv().await, Some(())) });
    });
}

/// Runtime workers and blocking-pool threads started after a signal is
/// listened to (on another thread) block it from their start.
#[test]
fn runtime_threads_block_listened_signals() {
    with_watchdog(10, || {
        // Listen on a thread of its own, so that this thread (which spawns
        // the workers) does not block SIGURG itself.
        let s = thread::spawn(|| signal(SignalKind::from_raw(libc::SIGURG)).unwrap())
            .join()
            .unwrap();
        assert!(!blocked_here(libc::SIGURG));
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let in_worker = rt.block_on(rt.spawn(async { blocked_here(libc::SIGURG) }));
        assert!(in_worker.unwrap(), "a worker blocks listened signals");
        // A blocking-pool thread started from this (unblocking) thread.
        let in_pool = rt.block_on(rt.spawn_blocking(|| blocked_here(libc::SIGURG)));
        assert!(in_pool.unwrap(), "a blocking-pool thread blocks listened signals");
        drop(s);
    });
}

/// Round after round, one `kill` reaches every listener once — on two
/// workers, under `futures`' executor and in a free `block_on` — while
/// another thread keeps joining and leaving the listener list (each join
/// also reads the signalfd) and a thread that lets the signal through
/// makes the kernel run the forwarding handler. Each round waits for
/// every listener, so a lost wake-up is a missing acknowledgement.
#[test]
fn every_round_reaches_every_listener_under_churn() {
    rounds_reach_every_listener(500);
}

#[test]
#[ignore = "heavy: 50k rounds; run with --ignored"]
fn every_round_reaches_every_listener_under_churn_heavy() {
    rounds_reach_every_listener(50_000);
}

fn rounds_reach_every_listener(rounds: usize) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let signo = libc::SIGRTMIN() + 2;
    with_watchdog(300, move || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let (ack_tx, ack_rx) = mpsc::channel::<()>();
        let listen = move || {
            let (ready, ack) = (ready_tx.clone(), ack_tx.clone());
            async move {
                let mut s = signal(SignalKind::from_raw(signo)).unwrap();
                ready.send(()).unwrap();
                for _ in 0..rounds {
                    assert_eq!(s.recv().await, Some(()));
                    ack.send(()).unwrap();
                }
            }
        };
        let workers: Vec<_> = (0..2).map(|_| rt.spawn(listen())).collect();
        let l = listen();
        let t1 = thread::spawn(move || futures::executor::block_on(l));
        let l = listen();
        let t2 = thread::spawn(move || block_on(l));
        let listeners = 4;
        for _ in 0..listeners {
            ready_rx.recv().unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let churn = {
            let stop = stop.clone();
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    drop(signal(SignalKind::from_raw(signo)).unwrap());
                }
            })
        };
        let stray = {
            let stop = stop.clone();
            thread::spawn(move || {
                // SAFETY: an initialised sigset with a valid signal; no old
                // set asked for.
                unsafe {
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, signo);
                    libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                }
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(1));
                }
            })
        };
        for round in 0..rounds {
            kill_self(signo);
            for i in 0..listeners {
                if let Err(e) = ack_rx.recv_timeout(Duration::from_secs(10)) {
                    panic!("round {round}: listener {i} of {listeners} never woke: {e}");
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        churn.join().unwrap();
        stray.join().unwrap();
        for w in workers {
            rt.block_on(w).unwrap();
        }
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

/// As tokio's: a listener can move between threads and be shared.
#[test]
fn signal_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Signal>();
    assert_send_sync::<SignalKind>();
}
