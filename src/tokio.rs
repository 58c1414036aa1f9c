//! sockwq inside tokio.
//!
//! Nothing to set up: inside any tokio runtime with IO enabled
//! (current_thread, multi_thread, `LocalRuntime`), `sockwq::net` sockets
//! and [`Async`](crate::reactor::Async) join a sockwq reactor that belongs
//! to that runtime and is driven from tokio's own IO driver (see
//! [`sockwq_reactor::tokio`]). When the runtime shuts down, IO on its
//! sockets fails with the error `tokio::runtime::is_rt_shutdown_err`
//! recognizes. sockwq IO spends the tokio task's coop budget.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! rt.block_on(async {
//!     let listener = sockwq::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let mut client = sockwq::net::TcpStream::connect(listener.local_addr()?).await?;
//!     let (mut server, _) = listener.accept().await?;
//!     client.write_all(b"hi").await?;
//!     let mut buf = [0u8; 2];
//!     server.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"hi");
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok(()) }
//! ```
//!
//! For thread-per-core on tokio, [`per_core`] runs one `LocalRuntime` per
//! thread, each with a sockwq reactor of its own and, if asked, its own
//! `SO_REUSEPORT` listener on a shared port ([`Worker::reuseport_listener`]).

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

pub use sockwq_reactor::tokio::{handle, handle_for, runtimes};

use crate::net::{TcpListener, TcpSocket};

/// Runs `f` on `n` threads, each a tokio `LocalRuntime` (so `f`'s future
/// need not be `Send`, and `tokio::task::spawn_local` works) with a sockwq
/// reactor of its own; returns the futures' outputs in worker order.
///
/// Shorthand for [`PerCore::new(n).run(f)`](PerCore::run).
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let ports = sockwq::tokio::per_core(2, |worker| async move {
///     let listener = worker.reuseport_listener("127.0.0.1:0".parse().unwrap())?;
///     listener.local_addr()
/// })?;
/// // Both workers listen on the same port.
/// assert_eq!(ports[0].as_ref().unwrap(), ports[1].as_ref().unwrap());
/// # Ok(()) }
/// ```
pub fn per_core<F, Fut>(n: usize, f: F) -> io::Result<Vec<Fut::Output>>
where
    F: Fn(Worker) -> Fut + Sync,
    Fut: Future,
    Fut::Output: Send,
{
    PerCore::new(n).run(f)
}

/// Thread-per-core on tokio: `n` threads, each running a tokio
/// `LocalRuntime` with its own sockwq reactor; optionally each pinned to a
/// CPU.
#[derive(Debug, Clone)]
pub struct PerCore {
    threads: usize,
    pin: bool,
    name: String,
}

impl PerCore {
    /// `threads` workers, not pinned.
    pub fn new(threads: usize) -> PerCore {
        PerCore {
            threads,
            pin: false,
            name: "sockwq-tokio-worker".into(),
        }
    }

    /// Pins worker `i` to the `i`-th CPU this process may run on (modulo
    /// their number).
    pub fn pin(mut self, pin: bool) -> PerCore {
        self.pin = pin;
        self
    }

    /// The workers' thread name (default `sockwq-tokio-worker`).
    pub fn thread_name(mut self, name: impl Into<String>) -> PerCore {
        self.name = name.into();
        self
    }

    /// Starts the workers, runs `f(worker)` to completion on each, and
    /// returns the outputs in worker order.
    ///
    /// If a worker panics, the others are stopped (their futures dropped)
    /// and the panic is resumed here once every thread has been joined.
    /// Errors: `threads == 0`, a thread or runtime that cannot be started,
    /// or pinning that fails; the workers already running are stopped.
    pub fn run<F, Fut>(self, f: F) -> io::Result<Vec<Fut::Output>>
    where
        F: Fn(Worker) -> Fut + Sync,
        Fut: Future,
        Fut::Output: Send,
    {
        if self.threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "sockwq::tokio::per_core: zero threads",
            ));
        }
        let cpus = if self.pin { allowed_cpus()? } else { Vec::new() };
        let (stop, _) = ::tokio::sync::watch::channel(false);
        let ports = Arc::new(Mutex::new(HashMap::new()));
        let f = &f;
        let results: Vec<Joined<Fut::Output>> = std::thread::scope(|scope| {
            let mut threads = Vec::with_capacity(self.threads);
            for index in 0..self.threads {
                let worker = Worker {
                    index,
                    count: self.threads,
                    cpu: (!cpus.is_empty()).then(|| cpus[index % cpus.len()]),
                    ports: ports.clone(),
                };
                let stop_others = stop.clone();
                let mut stopped = stop.subscribe();
                let spawned = std::thread::Builder::new()
                    .name(format!("{}-{index}", self.name))
                    .spawn_scoped(scope, move || {
                        let run = catch_unwind(AssertUnwindSafe(|| run_worker(worker, f, &mut stopped)));
                        // A failed or panicked worker stops the others.
                        if !matches!(run, Ok(Ok(_))) {
                            stop_others.send_replace(true);
                        }
                        run
                    });
                match spawned {
                    Ok(t) => threads.push(Ok(t)),
                    Err(e) => {
                        stop.send_replace(true);
                        threads.push(Err(e));
                        break;
                    }
                }
            }
            threads
                .into_iter()
                .map(|t| match t {
                    Ok(t) => t.join().unwrap_or_else(Err),
                    Err(e) => Ok(Err(e)),
                })
                .collect()
        });
        let mut outputs = Vec::with_capacity(results.len());
        let mut first_error = None;
        for r in results {
            match r {
                Err(panic) => resume_unwind(panic),
                Ok(Ok(Some(v))) => outputs.push(v),
                // Stopped because another worker failed: that one reports.
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(outputs),
        }
    }
}

/// A worker thread's end: its output (`None` if it was stopped), its
/// error, or its panic.
type Joined<T> = Result<io::Result<Option<T>>, Box<dyn Any + Send>>;

/// One worker's life: pin, build its runtime, run `f` until done or told
/// to stop (`None`).
fn run_worker<F, Fut>(
    worker: Worker,
    f: &F,
    stopped: &mut ::tokio::sync::watch::Receiver<bool>,
) -> io::Result<Option<Fut::Output>>
where
    F: Fn(Worker) -> Fut,
    Fut: Future,
{
    if let Some(cpu) = worker.cpu {
        pin_to(cpu)?;
    }
    let rt = ::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build_local(Default::default())?;
    rt.block_on(async move {
        let mut work = pin!(f(worker));
        let mut stop = pin!(stopped.wait_for(|s| *s));
        Ok(poll_fn(|cx| {
            // Told to stop (or, impossibly, the sender is gone): drop the work.
            if stop.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            work.as_mut().poll(cx).map(Some)
        })
        .await)
    })
}

/// What a [`per_core`] worker knows about itself.
#[derive(Clone)]
pub struct Worker {
    index: usize,
    count: usize,
    cpu: Option<usize>,
    /// Requested address → the address the first worker bound, so that a
    /// port-0 request gives every worker the same port.
    ports: Arc<Mutex<HashMap<SocketAddr, SocketAddr>>>,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("index", &self.index)
            .field("count", &self.count)
            .field("cpu", &self.cpu)
            .finish()
    }
}

impl Worker {
    /// This worker's number, `0..count()`.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many workers there are.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The CPU this worker is pinned to, if pinning was asked for.
    pub fn cpu(&self) -> Option<usize> {
        self.cpu
    }

    /// A listener of this worker's own on `addr`, bound with
    /// `SO_REUSEADDR` and `SO_REUSEPORT`: every worker that asks for the
    /// same `addr` listens on the same port, and the kernel spreads new
    /// connections over them. With port 0, the first worker to ask picks a
    /// free port and the others get that one. Call it from the worker's
    /// future, so that the listener joins the worker's reactor.
    pub fn reuseport_listener(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        let bind = |at: SocketAddr| -> io::Result<TcpListener> {
            let socket = if at.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            socket.set_reuseaddr(true)?;
            socket.set_reuseport(true)?;
            socket.bind(at)?;
            socket.listen(1024)
        };
        // Held while binding: the first worker's choice of port is recorded
        // before anyone else binds.
        let mut ports = self.ports.lock().unwrap_or_else(|p| p.into_inner());
        match ports.get(&addr) {
            Some(&bound) => bind(bound),
            None => {
                let listener = bind(addr)?;
                ports.insert(addr, listener.local_addr()?);
                Ok(listener)
            }
        }
    }
}

/// The CPUs this process may run on.
fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most
    // `size_of::<cpu_set_t>()` bytes into it.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Err(io::Error::last_os_error());
        }
        set
    };
    let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, the set's size in bits.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect();
    if cpus.is_empty() {
        return Err(io::Error::other(
            "sockwq::tokio::per_core: no CPU in the affinity mask",
        ));
    }
    Ok(cpus)
}

/// Pins the calling thread to `cpu`.
fn pin_to(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write inside it
    // (`cpu` came from the allowed set, so it is below CPU_SETSIZE), and
    // sched_setaffinity reads `size_of::<cpu_set_t>()` bytes of it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
