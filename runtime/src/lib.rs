//! sockwq's own runtime: a thread-per-core executor whose park is the
//! reactor, and timers.
//!
//! * [`block_on`]: runs a future on the current thread, turning a reactor
//!   of its own while idle.
//! * [`Runtime`] / [`Builder`]: worker threads, each with its own
//!   [`Reactor`](sockwq_reactor::Reactor), run queue and timers. A worker sleeps in
//!   its reactor's `epoll_wait` and nowhere else; another thread wakes it
//!   by pushing onto its lock-free injection queue and writing its eventfd
//!   only if it is parked (see `core.rs` for why no wake is lost).
//! * [`spawn`], [`spawn_local`], [`JoinHandle`], [`JoinError`], and the
//!   rest of [`task`] (`JoinSet`, `AbortHandle`, `yield_now`, task ids).
//! * [`spawn_blocking`]: blocking work on a bounded pool of threads (a
//!   runtime's own, or a process-wide one).
//! * [`runtime`]: [`runtime::Handle`] (spawn, block on, enter from any
//!   thread) and [`RuntimeStats`](runtime::RuntimeStats).
//! * [`time`]: `sleep`, `timeout`, `interval` and the rest of tokio's
//!   `time` API; its timers work under any executor.
//! * [`signal`]: `ctrl_c` and `unix::signal`, on one process-wide signalfd
//!   with a lock-free fan-out to every listener.
//!
//! Tasks never migrate between workers, and a socket registers with the
//! reactor of the worker it is created on, so in steady state a socket's
//! events are dispatched, and its task woken and polled, all on one thread
//! with nothing shared to bounce. A socket created in
//! [`Runtime::block_on`] registers with a worker's reactor too, so it
//! belongs to the runtime and outlives the call (see [`runtime`]).
//!
//! A worker turns its reactor without blocking after every 61 task polls
//! (the cooperative budget, [`Builder::event_interval`]), so a task that is
//! always ready cannot starve IO. A task that panics yields a
//! [`JoinError`] and the worker goes on.
//!
//! ```
//! use std::os::unix::net::UnixStream;
//! use futures_util::io::{AsyncReadExt, AsyncWriteExt};
//! use sockwq_reactor::Async;
//! use sockwq_runtime::{Runtime, spawn};
//!
//! let rt = Runtime::builder().worker_threads(2).build()?;
//! rt.block_on(async {
//!     let (a, b) = UnixStream::pair()?;
//!     let echo = spawn(async move {
//!         // Created on a worker: registers with that worker's reactor.
//!         let mut b = Async::new(b)?;
//!         let mut buf = [0u8; 4];
//!         b.read_exact(&mut buf).await?;
//!         b.write_all(&buf).await?;
//!         Ok::<_, std::io::Error>(())
//!     });
//!     let mut a = Async::new(a)?;
//!     a.write_all(b"ping").await?;
//!     let mut buf = [0u8; 4];
//!     a.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"ping");
//!     echo.await??;
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

#![doc(test(attr(deny(warnings))))]

mod blocking;
mod builder;
mod context;
mod core;
mod handle;
mod injector;
pub mod runtime;
pub mod signal;
mod stats;
pub mod task;
pub mod time;

use std::future::Future;

pub use blocking::spawn_blocking;
pub use builder::Builder;
pub use runtime::Runtime;
pub use task::{JoinError, JoinHandle};

use context::Spawner;

/// Runs `future` on the current thread until it completes.
///
/// The thread gets a core for the duration: a reactor of its own (turned
/// while the future waits, so sockets created inside register with it), a
/// run queue for [`spawn`] and [`spawn_local`], and timers. Tasks still
/// running when `future` completes are cancelled (their futures dropped).
///
/// # Panics
///
/// If called from within a runtime — a sockwq task or another `block_on`,
/// or (with the `tokio` feature) a tokio runtime's context: the thread is
/// already driving tasks, and blocking it would stall them all until
/// `future` completes. `.await` the future instead; blocking code that
/// must wait for a future can run in
/// [`spawn_blocking`] and call `block_on` there.
/// Also if the reactor (an epoll fd and an eventfd) cannot be created.
///
/// ```
/// let v = sockwq_runtime::block_on(async { 6 * 7 });
/// assert_eq!(v, 42);
/// ```
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime::block_on_with(future, None)
}

/// Spawns a task on the current runtime and returns its [`JoinHandle`].
///
/// On a worker the task stays on that worker; inside
/// [`Runtime::block_on`] it goes to the runtime's workers (round-robin);
/// inside [`block_on`] it runs on that thread.
///
/// # Panics
///
/// When called outside a runtime (like `tokio::spawn`): there is no
/// executor to run the task. Use [`Runtime::spawn`] from plain threads.
///
/// ```
/// use sockwq_runtime::{block_on, spawn};
/// block_on(async {
///     let h = spawn(async { 1 });
///     assert_eq!(h.await.unwrap(), 1);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match context::spawner() {
        Some(Spawner::Core(remote)) => task::spawn_on(&remote, future),
        Some(Spawner::Workers(w)) => w.spawn(future),
        None => panic!(
            "sockwq::spawn called outside a sockwq runtime: call it from a task, \
             inside block_on, or use Runtime::spawn"
        ),
    }
}

/// Spawns a `!Send` task on the current thread's core (a worker, or the
/// thread inside [`block_on`] / [`Runtime::block_on`]). It never leaves
/// this thread.
///
/// # Panics
///
/// When the current thread runs no sockwq core.
///
/// ```
/// use std::rc::Rc;
/// use sockwq_runtime::{block_on, spawn_local};
/// block_on(async {
///     let shared = Rc::new(5);
///     let s = shared.clone();
///     let h = spawn_local(async move { *s + 1 });
///     assert_eq!(h.await.unwrap(), 6);
/// });
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match context::with_core(|core| core.remote.clone()) {
        Some(remote) => task::spawn_local_on(&remote, future),
        None => panic!(
            "sockwq::spawn_local called outside a sockwq runtime: call it from a task \
             or inside block_on"
        ),
    }
}
