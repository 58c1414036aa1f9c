//! A tokio program never starts sockwq's global reactor thread: its sockets
//! join the runtime's own reactor. (The only test of its binary: it looks
//! at the process's threads, and the global reactor, once started, stays.)

use std::io;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use sockwq_test_support::with_watchdog;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Whether a thread named like the global reactor's runs in this process.
fn global_reactor_thread_running() -> bool {
    std::fs::read_dir("/proc/self/task").unwrap().any(|t| {
        let comm = std::fs::read_to_string(t.unwrap().path().join("comm")).unwrap_or_default();
        comm.trim() == "sockwq-reactor"
    })
}

async fn some_io() -> io::Result<()> {
    let l = sockwq::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut c = sockwq::net::TcpStream::connect(l.local_addr()?).await?;
    let (mut s, _) = l.accept().await?;
    c.write_all(b"hi").await?;
    let mut buf = [0u8; 2];
    s.read_exact(&mut buf).await?;
    let u = sockwq::net::UdpSocket::bind("127.0.0.1:0").await?;
    u.send_to(b"x", u.local_addr()?).await?;
    u.recv_from(&mut buf).await?;
    let (a, _b) = UnixStream::pair()?;
    let _a = sockwq::reactor::Async::new(a)?;
    Ok(())
}

fn eventually(f: impl Fn() -> bool) -> bool {
    for _ in 0..200 {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn tokio_programs_never_start_the_global_reactor_thread() {
    with_watchdog(60, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(some_io())
            .unwrap();
        let mt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        mt.block_on(async { tokio::spawn(some_io()).await.unwrap() })
            .unwrap();
        // Under `Runtime::enter` without block_on, too.
        {
            let _g = mt.enter();
            let (a, _b) = UnixStream::pair().unwrap();
            let _a = sockwq::reactor::Async::new(a).unwrap();
        }
        drop(mt);
        // A thread names itself once it runs: give a spawned one time to.
        std::thread::sleep(Duration::from_millis(200));
        assert!(!global_reactor_thread_running());

        // The check can fail: outside tokio, a socket starts that thread.
        futures::executor::block_on(async {
            let (a, _b) = UnixStream::pair().unwrap();
            let _a = sockwq::reactor::Async::new(a).unwrap();
        });
        assert!(eventually(global_reactor_thread_running));
    });
}
