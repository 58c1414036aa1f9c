//! Helpers shared by sockwq's integration tests (a dev-dependency of every
//! crate in the workspace): a watchdog that turns a hang into a failure, an
//! fd counter, a non-blocking socket pair, a reactor turned by its own
//! thread, bounded retry loops, a tiny PRNG and a checksum, fresh Unix socket
//! names, the fd limit (and a guard that exhausts it), a counting global
//! allocator (`alloc`), and (with the `net` feature) a connected loopback
//! TCP pair.

pub mod alloc;

use std::future::Future;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
#[derive(Debug)]
pub struct Driver {
    /// The reactor's handle, to register fds with it.
    pub handle: Handle,
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<Reactor>,
}

impl Driver {
    /// Starts a reactor on its own thread, turning with timeouts of `turn`.
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

/// `futures::executor::block_on(fut)` under [`with_watchdog`].
pub fn block_on<T, F>(secs: u64, fut: F) -> T
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    with_watchdog(secs, move || futures::executor::block_on(fut))
}

/// `tokio::time::timeout` that panics with a clear message.
pub async fn timeout<F: Future>(secs: u64, fut: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(v) => v,
        Err(_) => panic!("test hung: no progress in {secs}s"),
    }
}

/// Fails unless `r` is a `WouldBlock` error (reported at the caller's line).
#[track_caller]
pub fn assert_would_block<T: std::fmt::Debug>(r: io::Result<T>) {
    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::WouldBlock);
}

/// Waits for readiness with `ready`, then calls `attempt`, until `attempt`
/// does not fail with `WouldBlock` (a readiness may be spurious); returns
/// its value. Bounded: fails after 100 readiness waits, or on another
/// error.
pub async fn retry_would_block<T, R, A, Fut>(mut ready: R, mut attempt: A) -> T
where
    R: FnMut() -> Fut,
    Fut: Future<Output = io::Result<()>>,
    A: FnMut() -> io::Result<T>,
{
    for _ in 0..100 {
        ready().await.unwrap();
        match attempt() {
            Ok(v) => return v,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("still WouldBlock after 100 readiness waits");
}

/// xorshift64*: fast, deterministic pseudo-random numbers.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value, zero included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
    /// Fills `buf` with pseudo-random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&last[..n]);
    }
}

/// FNV-1a over a byte stream: the same value however the stream is chunked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checksum {
    /// The FNV-1a hash so far.
    pub hash: u64,
    /// Bytes hashed so far.
    pub len: u64,
}

impl Default for Checksum {
    fn default() -> Checksum {
        Checksum {
            hash: 0xcbf2_9ce4_8422_2325,
            len: 0,
        }
    }
}

impl Checksum {
    /// Hashes `bytes` into the checksum.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut h = self.hash;
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.hash = h;
        self.len += bytes.len() as u64;
    }
}

/// A fresh abstract Unix socket name (leading NUL), unique in this process
/// and across processes.
pub fn abstract_name(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "\0sockwq-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh filesystem path for a Unix socket in the temp dir (removed if
/// present).
pub fn temp_path(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let p = std::env::temp_dir().join(format!(
        "sockwq-test-{tag}-{}-{}.sock",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&p);
    p
}

/// A connected loopback TCP pair `(client, server)`, its addresses checked.
#[cfg(feature = "net")]
pub async fn tcp_pair() -> (sockwq_net::TcpStream, sockwq_net::TcpStream) {
    use sockwq_net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = futures::future::join(TcpStream::connect(addr), listener.accept()).await;
    let (server, peer) = accepted.unwrap();
    let client = client.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(client.peer_addr().unwrap(), addr);
    (client, server)
}

/// The process's `RLIMIT_NOFILE`.
pub fn nofile_limit() -> libc::rlimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is valid storage for the limit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim
}

/// Sets the process's `RLIMIT_NOFILE` (not above its hard limit).
pub fn set_nofile_limit(lim: libc::rlimit) {
    // SAFETY: a valid pointer to a limit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

/// The soft `RLIMIT_NOFILE` lowered to the lowest free fd, so that no new
/// fd can be made (checked: a new one fails with `EMFILE`) until this
/// guard is dropped, which restores the limit, also when the test panics.
/// Process-wide: for a test binary of its own.
#[derive(Debug)]
pub struct FdsExhausted {
    saved: libc::rlimit,
}

/// Lowers the soft `RLIMIT_NOFILE` until the returned guard drops (see
/// [`FdsExhausted`]).
pub fn exhaust_fds() -> FdsExhausted {
    let saved = nofile_limit();
    // The file closes at the end of the statement: its fd is the lowest free.
    let lowest_free = std::fs::File::open("/dev/null").unwrap().as_raw_fd();
    set_nofile_limit(libc::rlimit {
        rlim_cur: lowest_free as libc::rlim_t,
        rlim_max: saved.rlim_max,
    });
    let guard = FdsExhausted { saved };
    let e = std::fs::File::open("/dev/null")
        .map(drop)
        .expect_err("the lowered limit let a new fd through");
    assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
    guard
}

impl Drop for FdsExhausted {
    fn drop(&mut self) {
        // SAFETY: the limit read before lowering it, within the hard limit.
        let failed = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &self.saved) } != 0;
        if failed && !thread::panicking() {
            panic!("cannot restore RLIMIT_NOFILE: {}", io::Error::last_os_error());
        }
    }
}
