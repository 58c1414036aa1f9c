//! The runtime, as `tokio::runtime`: [`Runtime`], [`Builder`], [`Handle`]
//! (and its [`EnterGuard`], [`TryCurrentError`]), [`RuntimeStats`] and
//! [`WorkerStats`].
//!
//! A [`Runtime`] is thread-per-core workers. Each worker owns a core: its
//! own reactor, run queue and timers; its park is its reactor's
//! `epoll_wait`. Tasks never migrate: a task runs on the worker it was
//! spawned onto, and a socket registers with the worker it is created on.
//!
//! # Sockets made in `block_on` belong to the runtime
//!
//! [`Runtime::block_on`] parks its thread in a reactor of its own, but the
//! sockets created there (or with a [`Handle`] entered) register with one
//! of the workers' reactors (round-robin, one worker per `block_on` call
//! or `enter`). That worker turns it for as long as the runtime lives, so
//! the socket outlives the `block_on`:
//!
//! ```
//! use sockwq_runtime::Runtime;
//! use sockwq_reactor::Async;
//! use futures_util::io::AsyncReadExt;
//! use std::io::Write;
//!
//! let rt = Runtime::builder().worker_threads(2).build()?;
//! let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
//! let mut a = rt.block_on(async { Async::new(a) })?; // joins a worker's reactor
//! let reader = rt.spawn(async move {
//!     let mut buf = [0u8; 2];
//!     a.read_exact(&mut buf).await.map(|()| buf)
//! });
//! b.write_all(b"hi")?;
//! assert_eq!(&rt.block_on(reader).unwrap()?, b"hi");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The price: while the `block_on` future itself waits on such a socket,
//! each event is dispatched on the worker and wakes the `block_on` thread
//! across cores (an eventfd write), as in tokio's multi-thread runtime.
//! Sockets created inside tasks stay on their worker, with nothing
//! crossing cores. When the runtime is dropped, its workers' reactors
//! shut down, and every socket registered with them fails at once with
//! "sockwq reactor has shut down" (pending operations are woken).
//!
//! # Cross-core wakes allocate nothing
//!
//! A task woken from another thread (a worker, a `block_on`, a plain
//! thread) is pushed onto its core's injection queue: a bounded lock-free
//! ring of 1024 slots allocated with the core, with an unbounded overflow
//! queue used only while the ring is full. An unbounded `ConcurrentQueue`
//! alone allocates a 31-slot block every 31 pushes (and the consumer frees
//! it): `runtime/tests/alloc.rs` counts 645 allocations and 645 frees per
//! 20,000 cross-core wakes with it, and none with the ring. The ring costs
//! 16 KiB per core and nothing in speed (1M cross-worker wakes,
//! `runtime/tests/wake.rs`, release, loaded 2-core machine: 111–192 ms
//! with the ring, 150–218 ms without). It fills only when more than 1024
//! of one core's tasks are woken from elsewhere between two of its turns.
//!
//! # Statistics
//!
//! [`Runtime::stats`] / [`Handle::stats`] give each worker's reactor
//! counters and task counts. The counters stay off the hot path: a core
//! counts in plain per-thread cells and publishes them once per reactor
//! turn into a seqlock of its own, which readers on other threads copy.

use std::fmt;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::blocking::{self, Pool};
pub use crate::builder::Builder;
use crate::context::{self, Spawner};
use crate::core::{Core, Remote};
pub use crate::handle::{EnterGuard, Handle, TryCurrentError};
pub use crate::stats::{RuntimeStats, WorkerStats};
use crate::task::{self, JoinHandle};
use sockwq_reactor::Reactor;

/// Epoll events per turn of a free `block_on`'s reactor.
const DEFAULT_MAX_EVENTS: usize = 1024;

/// The cores of a runtime, as seen by spawners and handles: a
/// [`Runtime`]'s workers, or the single core of a free
/// [`block_on`](crate::block_on).
pub(crate) struct Workers {
    remotes: Vec<Arc<Remote>>,
    /// The workers' reactors, in worker order: sockets created in a
    /// `block_on` or with a handle entered join one of them. Held here (a
    /// `Remote` holds its reactor only while its core lives), so a runtime
    /// `Handle` keeps them open.
    reactors: Vec<sockwq_reactor::Handle>,
    /// Round-robin cursor of `spawn`.
    next: AtomicUsize,
    /// Round-robin cursor of `sockets_reactor`.
    next_reactor: AtomicUsize,
    /// Configuration of the cores `block_on` makes.
    event_interval: u32,
    max_events: usize,
    /// The runtime's blocking pool (`None` for a free `block_on`, which
    /// uses the process-wide one).
    pub(crate) blocking: Option<Arc<Pool>>,
}

impl Workers {
    pub(crate) fn new(
        remotes: Vec<Arc<Remote>>,
        reactors: Vec<sockwq_reactor::Handle>,
        event_interval: u32,
        max_events: usize,
        blocking: Option<Arc<Pool>>,
    ) -> Workers {
        debug_assert_eq!(remotes.len(), reactors.len());
        Workers {
            remotes,
            reactors,
            next: AtomicUsize::new(0),
            next_reactor: AtomicUsize::new(0),
            event_interval,
            max_events,
            blocking,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.remotes.len()
    }

    /// Spawns onto the next worker, round-robin.
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.remotes.len();
        task::spawn_on(&self.remotes[i], future)
    }

    /// The reactor that sockets created in a `block_on` (or with a handle
    /// entered) join: a worker's, round-robin, so the socket lives as
    /// long as the runtime and a thread that does not go away turns it.
    pub(crate) fn sockets_reactor(&self) -> &sockwq_reactor::Handle {
        let i = self.next_reactor.fetch_add(1, Ordering::Relaxed) % self.reactors.len();
        &self.reactors[i]
    }

    pub(crate) fn stats(&self) -> RuntimeStats {
        RuntimeStats::new(self.remotes.iter().map(|r| r.stats()).collect())
    }
}

/// A thread-per-core runtime.
///
/// Every worker thread has its own epoll reactor, run queue and timers,
/// and sleeps in its reactor's `epoll_wait` (no condvar, no extra thread).
/// [`spawn`](crate::spawn) inside a worker keeps the task on that worker;
/// [`Runtime::spawn`] (or `spawn` inside [`Runtime::block_on`]) picks
/// workers round-robin. [`run_per_core`](Runtime::run_per_core) runs one
/// future per worker: the `SO_REUSEPORT` server shape.
///
/// Dropping the runtime cancels every task (their futures are dropped on
/// their worker, so their sockets close) and joins the workers, then
/// waits for the blocking tasks already running
/// ([`spawn_blocking`](crate::spawn_blocking)) to return, as tokio does;
/// blocking tasks not yet started are cancelled.
/// [`shutdown_timeout`](Runtime::shutdown_timeout) bounds that wait.
///
/// ```
/// use sockwq_runtime::{Runtime, spawn};
/// let rt = Runtime::builder().worker_threads(2).build()?;
/// let sum = rt.block_on(async {
///     let hs: Vec<_> = (0..10u64).map(|i| spawn(async move { i * i })).collect();
///     let mut sum = 0;
///     for h in hs {
///         sum += h.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 285);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Vec<thread::JoinHandle<()>>,
    /// Disconnected once every worker thread has finished its shutdown.
    /// (In a Mutex only so that `Runtime` is `Sync`; used at shutdown.)
    exited: Mutex<mpsc::Receiver<()>>,
}

// Only the worker threads' std `JoinHandle`s keep `Runtime` from being
// unwind-safe automatically; they are joined by shutdown alone, which
// consumes the runtime, so a panic caught around `&Runtime` (`block_on`,
// `spawn`, ...) leaves nothing half-done. tokio's `Runtime` is unwind-safe
// on the same terms.
impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("worker_threads", &self.handle.workers.len())
            .finish()
    }
}

impl Runtime {
    /// A runtime with one worker per CPU ([`Builder::new`]).
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::new()?;
    /// assert_eq!(rt.block_on(async { 5 }), 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure one.
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::builder().worker_threads(1).build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn start(b: &Builder) -> io::Result<Runtime> {
        let n = b
            .worker_threads
            .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
        let mut reactors = Vec::with_capacity(n);
        let mut remotes = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            let reactor = Reactor::with_capacity(b.max_events)?;
            remotes.push(Remote::new(reactor.handle()));
            handles.push(reactor.handle());
            reactors.push(reactor);
        }
        let blocking = Pool::new(blocking::Config {
            max_threads: b.max_blocking_threads,
            keep_alive: b.thread_keep_alive,
            thread_name: format!("{}-blocking", b.thread_name),
            stack_size: b.stack_size,
        });
        let handle = Handle {
            workers: Arc::new(Workers::new(
                remotes,
                handles,
                b.event_interval,
                b.max_events,
                Some(blocking),
            )),
        };
        let (exit_tx, exited) = mpsc::channel::<()>();
        let mut rt = Runtime {
            handle: handle.clone(),
            threads: Vec::with_capacity(n),
            exited: Mutex::new(exited),
        };
        for (i, reactor) in reactors.into_iter().enumerate() {
            let remote = handle.workers.remotes[i].clone();
            let handle = handle.clone();
            let tx = exit_tx.clone();
            let interval = b.event_interval;
            let mut tb = thread::Builder::new().name(format!("{}-{i}", b.thread_name));
            if let Some(s) = b.stack_size {
                tb = tb.stack_size(s);
            }
            match tb.spawn(move || worker_main(reactor, remote, handle, interval, tx)) {
                Ok(t) => rt.threads.push(t),
                Err(e) => {
                    // Stop the workers started so far (their shutdown waits for
                    // every sender, ours included).
                    drop(exit_tx);
                    drop(rt);
                    return Err(e);
                }
            }
        }
        Ok(rt)
    }

    /// The number of workers.
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::builder().worker_threads(2).build()?;
    /// assert_eq!(rt.worker_threads(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn worker_threads(&self) -> usize {
        self.handle.workers.len()
    }

    /// A handle to this runtime, usable from any thread: spawn, block on,
    /// enter, read stats.
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::new()?;
    /// let handle = rt.handle().clone();
    /// let h = std::thread::spawn(move || handle.spawn(async { 1 })).join().unwrap();
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// A snapshot of the workers' counters; see [`Handle::stats`].
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::builder().worker_threads(2).build()?;
    /// let stats = rt.stats();
    /// assert_eq!(stats.workers().len(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stats(&self) -> RuntimeStats {
        self.handle.stats()
    }

    /// Spawns a task onto a worker (round-robin).
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::new()?;
    /// let h = rt.spawn(async { "done" });
    /// assert_eq!(rt.block_on(h).unwrap(), "done");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `f` on the runtime's blocking pool; see
    /// [`spawn_blocking`](crate::spawn_blocking).
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::new()?;
    /// let h = rt.spawn_blocking(|| std::thread::current().name().map(str::to_owned));
    /// let name = rt.block_on(h).unwrap();
    /// assert_eq!(name.as_deref(), Some("sockwq-worker-blocking"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.blocking().spawn(f)
    }

    /// Runs `future` on the current thread until it completes, and returns
    /// its output.
    ///
    /// The calling thread gets a core of its own for the duration (a
    /// reactor to park in, timers, and a run queue for
    /// [`spawn_local`](crate::spawn_local)); [`spawn`](crate::spawn)
    /// inside it sends tasks to the workers. Sockets created in `future`
    /// belong to the runtime, not to this call: they register with a
    /// worker's reactor and work until the runtime is dropped (see the
    /// [module docs](crate::runtime)). Local tasks left when `future`
    /// completes are cancelled.
    ///
    /// # Panics
    ///
    /// As [`block_on`](crate::block_on): if called from within a runtime
    /// (a sockwq task or another `block_on`, or a tokio runtime's context
    /// with the `tokio` feature), or if this thread's reactor cannot be
    /// created.
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::new()?;
    /// let v = rt.block_on(async {
    ///     sockwq_runtime::spawn(async { 3 }).await.unwrap()
    /// });
    /// assert_eq!(v, 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Runs `f(worker_index)` on every worker, each future a local task of
    /// its worker (so it need not be `Send`, and sockets it creates register
    /// with that worker), and waits for all of them: the `SO_REUSEPORT`
    /// server shape, one listener per worker. Returns their outputs in
    /// worker order.
    ///
    /// # Panics
    ///
    /// If one of the futures panicked (the panic is propagated once all are
    /// done), and as [`block_on`](Runtime::block_on).
    ///
    /// ```
    /// let rt = sockwq_runtime::Runtime::builder().worker_threads(2).build()?;
    /// let names = rt.run_per_core(|i| async move {
    ///     let me = std::thread::current().name().map(str::to_owned);
    ///     (i, me)
    /// });
    /// assert_eq!(names[1], (1, Some("sockwq-worker-1".to_owned())));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn run_per_core<F, Fut>(&self, f: F) -> Vec<Fut::Output>
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let f = Arc::new(f);
        let handles: Vec<_> = self
            .handle
            .workers
            .remotes
            .iter()
            .enumerate()
            .map(|(i, remote)| {
                let f = f.clone();
                task::spawn_on(remote, async move {
                    let local = crate::spawn_local(f(i));
                    local.await
                })
            })
            .collect();
        let results = self.block_on(async move {
            let mut out = Vec::with_capacity(handles.len());
            for h in handles {
                out.push(h.await.and_then(|r| r));
            }
            out
        });
        let mut values = Vec::with_capacity(results.len());
        let mut panic = None;
        for r in results {
            match r {
                Ok(v) => values.push(v),
                Err(e) if e.is_panic() => panic = panic.or(Some(e.into_panic())),
                Err(e) => panic!("sockwq: run_per_core: a worker's future was {e}"),
            }
        }
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
        values
    }

    /// Shuts down: cancels every task and every blocking task not yet
    /// started, waits up to `timeout` in all for the workers and the
    /// running blocking tasks to finish, and leaves any thread still busy
    /// after that (a task stuck in a blocking call) to finish on its own.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = sockwq_runtime::Runtime::new()?;
    /// rt.spawn(std::future::pending::<()>());
    /// rt.shutdown_timeout(Duration::from_secs(5));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    fn blocking(&self) -> &Arc<Pool> {
        self.handle
            .workers
            .blocking
            .as_ref()
            .expect("a Runtime always has its blocking pool")
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        let remotes = &self.handle.workers.remotes;
        for r in remotes {
            r.shut_down();
        }
        // Dropped on one of its own workers: joining would wait for itself.
        let on_own_worker =
            context::with_core(|c| remotes.iter().any(|r| r.id == c.remote.id)).unwrap_or(false);
        if on_own_worker {
            self.blocking().shutdown(Some(Duration::ZERO));
            return;
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        // Every worker holds a sender until it has cancelled its tasks and
        // dropped its reactor: the channel disconnects when all are done.
        let exited = self.exited.lock().unwrap_or_else(|e| e.into_inner());
        let all_done = match deadline {
            None => matches!(exited.recv(), Err(mpsc::RecvError)),
            Some(d) => loop {
                match exited.recv_timeout(d.saturating_duration_since(Instant::now())) {
                    Ok(()) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break true,
                    Err(mpsc::RecvTimeoutError::Timeout) => break false,
                }
            },
        };
        drop(exited);
        for t in self.threads.drain(..) {
            if (all_done || t.is_finished()) && t.join().is_err() {
                tracing::error!("sockwq: a worker thread panicked");
            }
            // Else: detached; it exits once its blocking task returns.
        }
        // Then the blocking tasks still running, in what is left of the time.
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if !self.blocking().shutdown(left) {
            tracing::warn!("sockwq: blocking tasks still running after the shutdown timeout");
        }
    }
}

impl Drop for Runtime {
    /// Cancels every task and joins the workers. Tasks waiting on IO or
    /// timers are dropped at once; only a task stuck in a blocking call
    /// can delay this (see [`Runtime::shutdown_timeout`]).
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.shutdown(None);
        }
    }
}

fn worker_main(
    reactor: Reactor,
    remote: Arc<Remote>,
    runtime: Handle,
    event_interval: u32,
    exit_tx: mpsc::Sender<()>,
) {
    crate::signal::block_listened_in_this_thread();
    let _blocking = runtime.workers.blocking.as_ref().map(blocking::enter);
    let core = Rc::new(Core::new(reactor, remote.clone(), event_interval));
    {
        let own = core.reactor_handle();
        let _entered = context::enter(core.clone(), Spawner::Core(remote), runtime, &own);
        core.block_on(std::future::pending::<()>());
        core.shutdown_tasks();
    }
    // The reactor goes with the core: its sources, if any outlived their
    // tasks, see the shutdown error.
    drop(core);
    drop(exit_tx);
}

/// `block_on` on this thread with a fresh core. `workers`: the runtime it
/// is a part of (spawns go there, sockets join its workers' reactors);
/// `None`: a free `block_on`, where this core is the runtime, with the
/// default configuration.
#[track_caller]
pub(crate) fn block_on_with<F: Future>(future: F, workers: Option<Arc<Workers>>) -> F::Output {
    refuse_nested_block_on();
    let (event_interval, max_events) = match &workers {
        Some(w) => (w.event_interval, w.max_events),
        None => (crate::core::DEFAULT_EVENT_INTERVAL, DEFAULT_MAX_EVENTS),
    };
    let reactor = match Reactor::with_capacity(max_events) {
        Ok(r) => r,
        Err(e) => panic!("sockwq: block_on cannot create its reactor: {e}"),
    };
    let remote = Remote::new(reactor.handle());
    let core = Rc::new(Core::new(reactor, remote.clone(), event_interval));
    let _blocking = workers
        .as_ref()
        .and_then(|w| w.blocking.as_ref())
        .map(blocking::enter);
    let (spawner, runtime, sockets) = match workers {
        Some(w) => {
            let sockets = w.sockets_reactor().clone();
            (Spawner::Workers(w.clone()), Handle { workers: w }, sockets)
        }
        None => {
            let w = Workers::new(
                vec![remote.clone()],
                vec![core.reactor_handle()],
                event_interval,
                max_events,
                None,
            );
            let runtime = Handle { workers: Arc::new(w) };
            (Spawner::Core(remote), runtime, core.reactor_handle())
        }
    };
    // Cancels the local tasks (on this thread, with the core entered) even
    // if `future` panics.
    struct Exit {
        core: Rc<Core>,
        _entered: Option<context::Entered>,
    }
    impl Drop for Exit {
        fn drop(&mut self) {
            self.core.shutdown_tasks();
            self._entered.take();
        }
    }
    let exit = Exit {
        core: core.clone(),
        _entered: Some(context::enter(core.clone(), spawner, runtime, &sockets)),
    };
    let out = core.block_on(future).expect("a block_on core is never shut down");
    drop(exit);
    out
}

/// Panics if this thread already drives tasks — a sockwq core, or a tokio
/// runtime — which a `block_on` here would stall until its future is done.
#[track_caller]
fn refuse_nested_block_on() {
    if context::has_core() {
        panic!(
            "sockwq: block_on called inside a sockwq runtime (a task, or another \
             block_on): it would block this worker thread, and every task and socket \
             it drives would stall until the future completes. `.await` the future \
             instead, or call block_on from spawn_blocking."
        );
    }
    // A tokio context (a worker, a block_on, a blocking thread or an `enter`
    // guard) is refused as a whole: tokio offers no public way to tell a
    // blocking thread from a worker, and sockwq futures run on tokio
    // directly, so tokio's own `Handle::block_on` serves the legitimate cases.
    #[cfg(feature = "tokio")]
    if tokio::runtime::Handle::try_current().is_ok() {
        panic!(
            "sockwq: block_on called inside a tokio runtime: it would block a tokio \
             worker thread, and every task it drives would stall until the future \
             completes. sockwq futures run on tokio: `.await` the future instead \
             (from synchronous code in spawn_blocking, use \
             tokio::runtime::Handle::current().block_on)."
        );
    }
}
