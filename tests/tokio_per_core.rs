//! `sockwq::tokio::per_core`: one `LocalRuntime` (and sockwq reactor) per
//! thread, SO_REUSEPORT listeners on one port, pinning, panics propagated.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sockwq::tokio::{PerCore, Worker};
use sockwq_test_support::with_watchdog;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLIENTS: usize = 40;

/// Answers each connection with this worker's number until `CLIENTS`
/// connections were served by all workers together; returns how many it
/// served, and its listener's port.
async fn serve(
    worker: Worker,
    served: &AtomicUsize,
    port_tx: std::sync::mpsc::Sender<SocketAddr>,
) -> (usize, u16) {
    let listener = worker.reuseport_listener("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    port_tx.send(addr).unwrap();
    // Each worker has a reactor of its own.
    let mine = sockwq::tokio::handle().unwrap();
    let mut n = 0;
    while served.load(Ordering::SeqCst) < CLIENTS {
        let accepted = tokio::time::timeout(Duration::from_millis(20), listener.accept()).await;
        let Ok(Ok((mut s, _))) = accepted else { continue };
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(format!("{}\n", worker.index()).as_bytes())
            .await
            .unwrap();
        n += 1;
        served.fetch_add(1, Ordering::SeqCst);
    }
    assert_eq!(sockwq::tokio::handle().unwrap(), mine);
    (n, addr.port())
}

fn run(per_core: PerCore, workers: usize) {
    with_watchdog(60, move || {
        let served = AtomicUsize::new(0);
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let clients = std::thread::spawn(move || {
            let addrs: Vec<SocketAddr> = (0..workers).map(|_| port_rx.recv().unwrap()).collect();
            assert!(
                addrs.iter().all(|a| *a == addrs[0]),
                "one port for all: {addrs:?}"
            );
            for _ in 0..CLIENTS {
                let mut c = TcpStream::connect(addrs[0]).unwrap();
                c.write_all(b"ping").unwrap();
                let mut answer = String::new();
                c.read_to_string(&mut answer).unwrap();
                let w: usize = answer.trim().parse().unwrap();
                assert!(w < workers);
            }
        });
        let outputs = per_core
            .run(|worker| {
                let port_tx = port_tx.clone();
                let served = &served;
                async move {
                    if let Some(cpu) = worker.cpu() {
                        assert_eq!(current_cpus(), vec![cpu], "pinned");
                    }
                    serve(worker, served, port_tx).await
                }
            })
            .unwrap();
        clients.join().unwrap();
        assert_eq!(outputs.len(), workers);
        assert_eq!(outputs.iter().map(|o| o.0).sum::<usize>(), CLIENTS);
        assert!(outputs.iter().all(|o| o.1 == outputs[0].1));
    });
}

fn current_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data that sched_getaffinity fills in.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
        set
    };
    // SAFETY: every index is below CPU_SETSIZE.
    (0..libc::CPU_SETSIZE as usize)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect()
}

#[test]
fn workers_share_a_reuseport_port() {
    run(PerCore::new(3), 3);
}

#[test]
fn pinned_workers() {
    run(PerCore::new(2).pin(true), 2);
}

#[test]
fn a_panic_stops_the_others_and_is_propagated() {
    with_watchdog(60, || {
        let r = std::panic::catch_unwind(|| {
            sockwq::tokio::per_core(3, |worker| async move {
                if worker.index() == 1 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    panic!("worker 1 gives up");
                }
                // The others would serve for ever.
                std::future::pending::<()>().await
            })
        });
        let panic = r.unwrap_err();
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"worker 1 gives up"));
    });
}

#[test]
fn outputs_in_worker_order_and_zero_threads_is_an_error() {
    let out = sockwq::tokio::per_core(4, |w| async move { w.index() * 10 }).unwrap();
    assert_eq!(out, vec![0, 10, 20, 30]);
    let e = sockwq::tokio::per_core(0, |_| async {}).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}
