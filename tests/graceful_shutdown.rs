//! The graceful-shutdown example's server, stopped by a real SIGINT sent
//! to this process (its own test binary: signals are process-wide).

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/graceful_shutdown.rs"]
mod example;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sockwq::signal::unix::{SignalKind, signal};
use sockwq_test_support::with_watchdog;

fn echo_once(s: &mut TcpStream, msg: &[u8]) {
    s.write_all(msg).unwrap();
    let mut buf = vec![0u8; msg.len()];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(buf, msg);
}

fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok(s)
}

#[test]
fn ctrl_c_stops_accepting_and_lets_open_connections_finish() {
    with_watchdog(30, || {
        // Listening for SIGINT here too makes sure no SIGINT below can take
        // the default action (end this process), whenever the server's
        // ctrl_c() gets its first poll.
        let _sigint = signal(SignalKind::interrupt()).unwrap();
        let rt = sockwq::Runtime::builder().worker_threads(2).build().unwrap();
        let (addr_tx, addr_rx) = mpsc::channel();
        let server = rt.spawn(async move {
            let listener = sockwq::net::TcpListener::bind("127.0.0.1:0").await?;
            addr_tx.send(listener.local_addr()?).unwrap();
            example::serve(listener, sockwq::signal::ctrl_c()).await
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(5)).unwrap();

        let mut open = connect(addr).unwrap();
        echo_once(&mut open, b"hello");

        // SIGINT until connecting is refused: ctrl_c() listens from its first
        // poll, which the server makes when its accept loop first waits.
        let start = Instant::now();
        loop {
            // SAFETY: kill with our own pid and a valid signal number.
            assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGINT) }, 0);
            thread::sleep(Duration::from_millis(20));
            match connect(addr) {
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => break,
                Err(e) => panic!("connect: {e}"),
                Ok(probe) => drop(probe), // not yet: this one closes at once
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "SIGINT did not stop the accept loop"
            );
        }

        // The open connection is still served, and the server waits for it.
        echo_once(&mut open, b"still here");
        thread::sleep(Duration::from_millis(100));
        assert!(!server.is_finished(), "the server exited with a connection open");
        drop(open);
        let served = rt.block_on(server).unwrap().unwrap();
        assert!(served >= 1, "served {served}");
    });
}
