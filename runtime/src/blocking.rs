//! [`spawn_blocking`]: a bounded pool of threads for blocking work.
//!
//! Threads are started on demand (when a task is queued and no thread is
//! idle), up to a bound; an idle thread exits after the keep-alive. A
//! [`Runtime`](crate::Runtime) has a pool of its own (configured by
//! [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads)
//! and [`Builder::thread_keep_alive`](crate::Builder::thread_keep_alive),
//! shut down with the runtime); everywhere else — a free
//! [`block_on`](crate::block_on), another executor, a plain thread — tasks
//! go to one process-wide pool with tokio's defaults (512 threads, 10 s).
//! A free `block_on` is often short-lived (one per test, per request): a
//! pool per call would start threads per call and make its return wait for
//! them, while the process-wide pool reuses its threads across calls and,
//! like sockwq's sockets and timers, works under any executor.
//!
//! The pool is not on any IO path: its queue is a `Mutex<VecDeque>` with a
//! `Condvar` for idle threads, as tokio's is.
//!
//! A task is an `async-task` task like any other (so it has a
//! [`JoinHandle`], and a panic becomes a [`JoinError`](crate::JoinError)),
//! whose future runs the closure in one poll on a pool thread.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use crate::core::Runnable;
use crate::task::{self, JoinHandle};

/// tokio's default bound on blocking threads.
pub(crate) const DEFAULT_MAX_THREADS: usize = 512;
/// tokio's default keep-alive of an idle blocking thread.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Runs `f` on a thread where blocking is fine, and returns a handle to
/// its result.
///
/// Use it for work that would block a worker: a blocking syscall or
/// library call (file IO, DNS through `getaddrinfo`, a synchronous
/// database driver), or CPU-heavy computation longer than a few hundred
/// microseconds. Every task of a worker, and every socket registered with
/// its reactor, waits while that worker runs a task, so a task must not
/// block; `.await` the returned [`JoinHandle`] instead.
///
/// There is no `block_in_place`. tokio's hands the worker's scheduler to
/// another thread so that the current one may block; a sockwq worker
/// cannot hand off what it owns — its reactor (the sockets created on it
/// are registered there) and its `!Send` local tasks — so blocking in
/// place would stall them all. Move the blocking work here instead.
///
/// On a [`Runtime`](crate::Runtime)'s worker (or inside its `block_on`, or
/// in one of its blocking tasks) the task goes to that runtime's pool;
/// anywhere else, to the process-wide pool. Threads are started on demand
/// up to the bound (512 by default) and exit after being idle for the
/// keep-alive (10 s); tasks beyond the bound wait in a queue. A panic in
/// `f` is returned as a [`JoinError`](crate::JoinError).
/// [`JoinHandle::abort`] cancels the task only if it has not started.
///
/// ```
/// use sockwq_runtime::{block_on, spawn_blocking};
/// let len = block_on(async {
///     let contents = spawn_blocking(|| std::fs::read_to_string("Cargo.toml")).await?;
///     Ok::<_, Box<dyn std::error::Error + Send + Sync>>(contents?.len())
/// })?;
/// assert!(len > 0);
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    current().spawn(f)
}

/// The pool of this thread's runtime, or the process-wide one.
fn current() -> Arc<Pool> {
    if let Some(p) = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten() {
        return p;
    }
    global()
}

/// The process-wide pool, started on first use.
pub(crate) fn global() -> Arc<Pool> {
    GLOBAL
        .get_or_init(|| {
            Pool::new(Config {
                max_threads: DEFAULT_MAX_THREADS,
                keep_alive: DEFAULT_KEEP_ALIVE,
                thread_name: "sockwq-blocking".to_owned(),
                stack_size: None,
            })
        })
        .clone()
}

static GLOBAL: OnceLock<Arc<Pool>> = OnceLock::new();

thread_local! {
    static CURRENT: RefCell<Option<Arc<Pool>>> = const { RefCell::new(None) };
    /// On a pool thread running a task: the pool that counts it busy.
    static RUNNING: RefCell<Option<Arc<Pool>>> = const { RefCell::new(None) };
}

/// Counts this thread out of its pool's busy threads, once per task: as
/// soon as the closure returns (or unwinds), before its output is handed
/// to the `JoinHandle`. A task spawned by whoever awaits that handle then
/// finds this thread free and does not start another one.
fn release_running() {
    if let Some(pool) = RUNNING.try_with(|r| r.borrow_mut().take()).ok().flatten() {
        pool.lock().busy -= 1;
    }
}

/// Makes `pool` this thread's pool for [`spawn_blocking`] until dropped.
pub(crate) struct Entered {
    prev: Option<Arc<Pool>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

pub(crate) fn enter(pool: &Arc<Pool>) -> Entered {
    let prev = CURRENT.with(|c| c.borrow_mut().replace(pool.clone()));
    Entered { prev }
}

/// How a pool runs.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
}

/// A pool of blocking threads.
pub(crate) struct Pool {
    state: Mutex<State>,
    /// Idle threads wait here for work.
    work: Condvar,
    /// [`Pool::shutdown`] waits here for the threads to exit.
    exited: Condvar,
    config: Config,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Runnable>,
    /// Threads alive (started and not yet exited).
    threads: usize,
    /// Threads running a task. The others (`threads - busy - idle`) are
    /// starting, between two tasks, or woken: each looks at the queue
    /// before it waits again.
    busy: usize,
    /// Threads waiting for work and not yet handed a wake-up.
    idle: usize,
    /// Wake-ups handed to idle threads and not yet taken.
    notified: usize,
    shutdown: bool,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Pool")
            .field("threads", &st.threads)
            .field("busy", &st.busy)
            .field("idle", &st.idle)
            .field("queued", &st.queue.len())
            .field("config", &self.config)
            .finish()
    }
}

/// The future of a blocking task: runs the closure in its one poll.
struct BlockingTask<F>(Option<F>);

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        struct Release;
        impl Drop for Release {
            fn drop(&mut self) {
                release_running();
            }
        }
        let f = self.0.take().expect("a blocking task is polled once");
        let _release = Release;
        Poll::Ready(f())
    }
}

// The closure is never pinned: it is moved out and called.
impl<F> Unpin for BlockingTask<F> {}

impl Pool {
    pub(crate) fn new(config: Config) -> Arc<Pool> {
        Arc::new(Pool {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            exited: Condvar::new(),
            config,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic (none can happen while
        // it is held: no user code runs under the lock).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn spawn<F, R>(self: &Arc<Pool>, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        // Weak: a queued task must not keep a shut-down pool alive.
        let pool = Arc::downgrade(self);
        task::spawn_scheduled(BlockingTask(Some(f)), move |r| schedule(&pool, r))
    }

    /// Queues `r`, waking an idle thread or starting one.
    fn push(self: &Arc<Pool>, r: Runnable) {
        let mut st = self.lock();
        if st.shutdown {
            drop(st);
            // Cancels the task (outside the lock: dropping its closure runs
            // user code); its handle yields a cancelled JoinError.
            drop(r);
            return;
        }
        st.queue.push_back(r);
        let free = st.threads - st.busy - st.idle;
        if st.queue.len() <= free {
            // A thread that is starting or between tasks takes it.
            return;
        }
        if st.idle > 0 {
            st.idle -= 1;
            st.notified += 1;
            self.work.notify_one();
            return;
        }
        if st.threads >= self.config.max_threads {
            // Runs when a thread is done with its task.
            return;
        }
        st.threads += 1;
        drop(st);
        if let Err(e) = self.start_thread() {
            let mut st = self.lock();
            st.threads -= 1;
            // With no thread left, the queue would wait for ever: cancel it.
            let stranded = if st.threads == 0 {
                std::mem::take(&mut st.queue)
            } else {
                VecDeque::new()
            };
            drop(st);
            tracing::error!(error = %e, cancelled = stranded.len(), "sockwq: cannot start a blocking thread");
            drop(stranded);
        }
    }

    fn start_thread(self: &Arc<Pool>) -> io::Result<()> {
        let mut b = thread::Builder::new().name(self.config.thread_name.clone());
        if let Some(s) = self.config.stack_size {
            b = b.stack_size(s);
        }
        let pool = self.clone();
        b.spawn(move || pool.run())?;
        Ok(())
    }

    /// A pool thread: runs queued tasks; waits up to the keep-alive for
    /// more; exits when idle that long, or at shutdown.
    fn run(self: Arc<Pool>) {
        let _entered = enter(&self);
        crate::signal::block_listened_in_this_thread();
        let mut st = self.lock();
        'work: loop {
            while let Some(r) = st.queue.pop_front() {
                st.busy += 1;
                drop(st);
                let _ = RUNNING.try_with(|c| *c.borrow_mut() = Some(self.clone()));
                // The task catches a panic of its closure (a JoinError); this
                // guards the thread against anything else.
                if catch_unwind(AssertUnwindSafe(|| r.run())).is_err() {
                    tracing::error!("sockwq: a blocking task panicked outside its closure");
                }
                // Not released yet if the task was cancelled before its start.
                release_running();
                st = self.lock();
            }
            if st.shutdown {
                break;
            }
            st.idle += 1;
            let deadline = Instant::now() + self.config.keep_alive;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                st = self
                    .work
                    .wait_timeout(st, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                if st.notified > 0 {
                    // `push` counted this thread out of `idle` already.
                    st.notified -= 1;
                    continue 'work;
                }
                if st.shutdown || Instant::now() >= deadline {
                    st.idle -= 1;
                    break 'work;
                }
                // A spurious wake-up: wait on.
            }
        }
        st.threads -= 1;
        drop(st);
        self.exited.notify_all();
    }

    /// Stops the pool: tasks that have not started are cancelled, new ones
    /// are refused (cancelled), and idle threads exit. Waits until every
    /// running task has returned, or until `timeout` has passed; true if
    /// all threads have exited. Called from one of the pool's own threads,
    /// it does not wait (it would wait for itself).
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) -> bool {
        let queued = {
            let mut st = self.lock();
            st.shutdown = true;
            std::mem::take(&mut st.queue)
        };
        self.work.notify_all();
        drop(queued);
        let own = CURRENT
            .try_with(|c| c.borrow().as_ref().is_some_and(|p| std::ptr::eq(&**p, self)))
            .unwrap_or(false);
        if own {
            return false;
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut st = self.lock();
        while st.threads > 0 {
            st = match deadline {
                None => self.exited.wait(st).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    self.exited
                        .wait_timeout(st, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
        st.threads == 0
    }
}

/// The schedule function of a blocking task.
fn schedule(pool: &Weak<Pool>, r: Runnable) {
    match pool.upgrade() {
        Some(p) => p.push(r),
        // The pool is gone: cancel.
        None => drop(r),
    }
}
