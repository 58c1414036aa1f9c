//! Helpers shared by the reactor's integration tests (each test file
//! includes this with `mod support;`): a watchdog that turns a hang into a
//! failure, an fd counter, a non-blocking socket pair, and a reactor turned
//! by its own thread. A `tests/<dir>/mod.rs` is not a test binary of its own.
#![allow(dead_code)] // each test binary uses a subset

use std::os::unix::net::UnixStream;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use sockwq_reactor::{Handle, Reactor};

/// Runs `f` on its own thread and fails the test if it takes longer than
/// `secs` instead of hanging the suite. A panic in `f` is propagated.
pub fn with_watchdog<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let t = thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(v)) => {
            t.join().unwrap();
            v
        }
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("watchdog: the test did not finish within {secs} s (lost wake-up?)"),
    }
}

/// Open fds of this process. A test that counts them must be the only test
/// of its binary: tests of one binary run concurrently.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A connected pair of non-blocking Unix stream sockets.
pub fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// A reactor turned by its own thread (turns of up to `turn` each) until
/// [`Driver::stop`], which hands the reactor back.
pub struct Driver {
    pub handle: Handle,
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<Reactor>,
}

impl Driver {
    pub fn start(turn: Duration) -> Driver {
        let mut reactor = Reactor::new().unwrap();
        let handle = reactor.handle();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = thread::spawn(move || {
            while !s.load(Ordering::Acquire) {
                reactor.turn(Some(turn)).unwrap();
            }
            reactor
        });
        Driver { handle, stop, thread }
    }

    /// Ends the turning thread (waking it from its turn) and returns the
    /// reactor.
    pub fn stop(self) -> Reactor {
        self.stop.store(true, Ordering::Release);
        self.handle.wake();
        self.thread.join().expect("the reactor's thread panicked")
    }
}
