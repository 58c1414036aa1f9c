//! Signals: [`ctrl_c`] and [`unix::signal`], shaped as `tokio::signal`.
//!
//! ```
//! use sockwq_runtime::signal::unix::{SignalKind, signal};
//!
//! sockwq_runtime::block_on(async {
//!     let mut term = signal(SignalKind::terminate())?;
//!     // What `kill <pid>` or a service manager would do:
//!     // SAFETY: kill with our own pid and a valid signal number.
//!     unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
//!     term.recv().await;
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How a signal gets to its listeners
//!
//! The process has one `signalfd`, whose mask grows with every signal a
//! listener asks for. Each listener registers its own fd for it (a `dup`
//! of the same open file) with the reactor current where it first waits —
//! a runtime worker's, a `block_on`'s, or the global reactor for any other
//! executor — so a signal wakes the listeners' tasks through their own
//! reactors. The task that reads a `signalfd_siginfo` delivers it to every
//! listener of that signal: a generation counter bump and an
//! `AtomicWaker` wake per listener over a list loaded from an `ArcSwap`,
//! no lock and no allocation.
//!
//! # The signal mask
//!
//! A signalfd sees a signal only while it is pending, which it stays only
//! if *every* thread blocks it; otherwise the kernel delivers it to a
//! thread that does not, running the signal's disposition. sockwq handles
//! that without help from the user:
//!
//! * [`unix::signal`] (and so [`ctrl_c`]) blocks the signal in the calling
//!   thread; runtime workers and blocking-pool threads block every
//!   listened signal when they start (and threads inherit the mask of the
//!   thread that spawns them, so listening early in `main` covers threads
//!   spawned later).
//! * For threads sockwq does not own (the user's, libtest's, another
//!   runtime's), the first listener installs a handler. It runs only in a
//!   thread that lets the signal through; it makes that thread block the
//!   signal from then on and sends the signal to the process again, so it
//!   ends up pending and read. Each stray delivery costs one hop, once per
//!   thread.
//!
//! Consequences worth knowing:
//!
//! * Once listened to, a signal no longer runs its default action (Ctrl-C
//!   no longer ends the process), even after every listener is dropped —
//!   tokio behaves the same way. Exit explicitly when you handle it.
//! * sockwq owns the signal's disposition: do not install another handler
//!   for it (`signal-hook`, `ctrlc`, tokio's signal driver) in the same
//!   process.
//! * Send signals to the process (`kill(pid, sig)`; a terminal, `kill(1)`
//!   and service managers do). A signal sent to one *thread* (`raise`,
//!   `pthread_kill`) that blocks it is readable only from that thread.
//! * Children started with `std::process::Command` get an empty signal
//!   mask and default dispositions (std resets both), so blocking here
//!   does not leak into them.
//!
//! # Graceful shutdown
//!
//! Stop accepting on Ctrl-C, let the open connections finish, exit (the
//! full program is `examples/graceful_shutdown.rs`):
//!
//! ```no_run
//! use std::pin::pin;
//! use futures_util::future::{Either, select};
//! # async fn accept() -> std::io::Result<()> { Ok(()) }
//!
//! # sockwq_runtime::block_on(async {
//! let mut shutdown = pin!(sockwq_runtime::signal::ctrl_c());
//! let mut connections = Vec::new();
//! loop {
//!     match select(pin!(accept()), shutdown.as_mut()).await {
//!         Either::Left((conn, _)) => connections.push(sockwq_runtime::spawn(async move { conn })),
//!         Either::Right(_) => break, // Ctrl-C: stop accepting
//!     }
//! }
//! for c in connections {
//!     let _ = c.await; // let each connection finish
//! }
//! # });
//! ```

mod mask;
mod registry;
pub mod unix;

use std::io;

pub(crate) use mask::block_listened_in_this_thread;

/// Completes when the process receives `SIGINT` (Ctrl-C in a terminal).
///
/// Listens from its first poll on: a `SIGINT` that arrives earlier is not
/// seen by it. The first call takes over `SIGINT`: from then on Ctrl-C no
/// longer ends the process (see the [module docs](self)).
///
/// # Errors
///
/// If the signalfd cannot be created, or if no reactor can be reached to
/// wait on it.
///
/// ```no_run
/// sockwq_runtime::block_on(async {
///     sockwq_runtime::signal::ctrl_c().await?;
///     println!("Ctrl-C received, shutting down");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupt = unix::signal(unix::SignalKind::interrupt())?;
    match interrupt.recv().await {
        Some(()) => Ok(()),
        None => Err(io::Error::other(
            "sockwq: ctrl_c: no reactor is left to wait for SIGINT on",
        )),
    }
}
