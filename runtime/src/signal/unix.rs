//! Unix signals: [`signal`] returns a [`Signal`] listener for a
//! [`SignalKind`], as `tokio::signal::unix` does.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::task::{Context, Poll};
use std::time::Duration;

use libc::c_int;
use sockwq_reactor::{Async, GlobalTimers, Interest};

use super::mask;
use super::registry::{ListenerWaker, Registry};
use crate::context;
use crate::time::{self, Instant, Sleep};

/// A kind of signal: a signal number, with constructors named as tokio's.
///
/// ```
/// use sockwq_runtime::signal::unix::SignalKind;
/// assert_eq!(SignalKind::interrupt().as_raw_value(), libc::SIGINT);
/// assert_eq!(SignalKind::from_raw(libc::SIGTERM), SignalKind::terminate());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(c_int);

impl SignalKind {
    /// The signal numbered `signum`. Any number is accepted here;
    /// [`signal`] refuses those it cannot listen to.
    ///
    /// ```
    /// use sockwq_runtime::signal::unix::SignalKind;
    /// let rt_signal = SignalKind::from_raw(libc::SIGRTMIN() + 1);
    /// # let _ = rt_signal;
    /// ```
    pub const fn from_raw(signum: c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    ///
    /// ```
    /// use sockwq_runtime::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::hangup().as_raw_value(), libc::SIGHUP);
    /// ```
    pub const fn as_raw_value(&self) -> c_int {
        self.0
    }

    /// `SIGALRM`: a real-time timer expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGCHLD`: a child process changed state.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGHUP`: the terminal hung up; daemons take it as "reload".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGINT`: the user pressed Ctrl-C.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGIO`: IO is possible on a descriptor set up for it.
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }

    /// `SIGPIPE`: a write to a pipe or socket with no reader.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGQUIT`: the user asked for a core dump (Ctrl-\\).
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGTERM`: a polite request to terminate (`kill`, service managers).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGUSR1`: user-defined.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`: user-defined.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGWINCH`: the terminal window changed size.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

impl From<c_int> for SignalKind {
    fn from(signum: c_int) -> SignalKind {
        SignalKind(signum)
    }
}

impl From<SignalKind> for c_int {
    fn from(kind: SignalKind) -> c_int {
        kind.0
    }
}

/// A listener for one kind of signal: [`recv`](Signal::recv) returns once
/// for one or more deliveries since the previous call (signals coalesce
/// while pending, as in the kernel and in tokio). Also a `Stream` of `()`.
///
/// Made by [`signal`]; every listener of a signal receives every delivery.
/// Dropping it stops listening, but the signal keeps sockwq's disposition
/// (it no longer runs its default action), as with tokio.
///
/// ```
/// use sockwq_runtime::signal::unix::{SignalKind, signal};
/// sockwq_runtime::block_on(async {
///     let mut usr1 = signal(SignalKind::user_defined1())?;
///     // SAFETY: kill with our own pid and a valid signal number.
///     unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
///     assert_eq!(usr1.recv().await, Some(()));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Signal {
    kind: SignalKind,
    registry: &'static Registry,
    listener: Arc<ListenerWaker>,
    /// The generation this listener last returned.
    seen: u64,
    /// This listener's fd for the signalfd, registered with the reactor
    /// current when it first had to wait.
    watch: Option<Async<OwnedFd>>,
    /// While that fd cannot be made (no fd left: `EMFILE`, `ENFILE`): what
    /// polls the listener again.
    retry: Option<Retry>,
}

/// How long a listener that could not register waits before it tries
/// again (a delivery read by another listener wakes it sooner).
const REGISTER_RETRY: Duration = Duration::from_millis(50);

/// What polls a listener that could not register again, after
/// [`REGISTER_RETRY`].
enum Retry {
    /// A timer of this thread's core, or of the global reactor.
    Timer(Sleep),
    /// Neither can run (off any core, the global reactor cannot start
    /// without fds either): a thread that sleeps, then wakes the listener;
    /// `true` once it has.
    Thread(Arc<AtomicBool>),
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.kind)
            .field("seen", &self.seen)
            .field("registered", &self.watch.is_some())
            .field("retrying", &self.retry.is_some())
            .finish()
    }
}

/// Listens for `kind`: returns a [`Signal`] that receives every delivery
/// of it from now on.
///
/// The first listener of a signal adds it to the process's one signalfd
/// and takes over its disposition (its default action — for `SIGINT`,
/// ending the process — no longer runs, even once every listener is
/// gone). The signal is blocked in the calling thread, and in every
/// runtime thread started afterwards; a thread that still lets it through
/// blocks it on its first delivery and passes it on, so the listener gets
/// it whichever thread the kernel picks (details in the [module
/// docs](super)).
///
/// Works anywhere: the listener registers with the current reactor (a
/// sockwq runtime's, or else the global one) when it first waits, so any
/// executor can poll it.
///
/// # Errors
///
/// `InvalidInput` for a number that is not a signal, for `SIGKILL` and
/// `SIGSTOP` (they cannot be caught), for `SIGSEGV`, `SIGBUS`, `SIGILL` and
/// `SIGFPE` (faults, delivered to the faulting thread, not through a
/// signalfd), and for the signals the C library reserves for itself (32,
/// 33); or the OS error if the signalfd cannot be created.
///
/// ```
/// use sockwq_runtime::signal::unix::{SignalKind, signal};
/// let err = signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let signo = kind.0;
    check(signo)?;
    let registry = Registry::get()?;
    registry.enable(signo)?;
    mask::block_in_this_thread(signo)?;
    let listener = Arc::new(ListenerWaker::default());
    registry.slot(signo).join(&listener);
    // Deliver what is already pending (to the listeners it was meant for),
    // so that this one starts after it.
    loop {
        match registry.read_and_deliver() {
            Ok(true) => break,
            Ok(false) => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => {
                registry.slot(signo).leave(&listener);
                return Err(e);
            }
        }
    }
    Ok(Signal {
        kind,
        registry,
        seen: registry.slot(signo).generation(),
        listener,
        watch: None,
        retry: None,
    })
}

/// Refuses what cannot be listened to through a signalfd.
fn check(signo: c_int) -> io::Result<()> {
    let refuse = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("sockwq: cannot listen for signal {signo}: {why}"),
        ))
    };
    if signo < 1 || signo > libc::SIGRTMAX().min(64) {
        return refuse("not a signal number");
    }
    match signo {
        libc::SIGKILL | libc::SIGSTOP => refuse("it cannot be caught or blocked"),
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE => {
            refuse("a fault is delivered to the faulting thread, not through a signalfd")
        }
        s if s > 31 && s < libc::SIGRTMIN() => refuse("the C library reserves it for itself"),
        _ => Ok(()),
    }
}

impl Signal {
    /// The kind this listener receives.
    ///
    /// ```
    /// use sockwq_runtime::signal::unix::{SignalKind, signal};
    /// let s = signal(SignalKind::window_change())?;
    /// assert_eq!(s.kind(), SignalKind::window_change());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    /// Waits for the next delivery: `Some(())` once for one or more
    /// signals since the last call, `None` if no more can be received (the
    /// reactor it was registered with shut down and no reactor can take
    /// it over). Cancel-safe.
    ///
    /// ```no_run
    /// use sockwq_runtime::signal::unix::{SignalKind, signal};
    /// # sockwq_runtime::block_on(async {
    /// let mut hup = signal(SignalKind::hangup())?;
    /// while hup.recv().await.is_some() {
    ///     println!("reloading the configuration");
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery (see [`recv`](Signal::recv)): on
    /// `Pending`, the task is woken by the next one.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use sockwq_runtime::signal::unix::{SignalKind, signal};
    /// let mut s = signal(SignalKind::user_defined2())?;
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(s.poll_recv(&mut cx), Poll::Pending);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if self.take_new() {
            return Poll::Ready(Some(()));
        }
        self.listener.waker.register(cx.waker());
        // Dekker, listener side: register ; fence ; re-read the generation
        // (see registry.rs).
        fence(Ordering::SeqCst);
        if self.take_new() {
            return Poll::Ready(Some(()));
        }
        // Nobody may be reading the signalfd: read it here, delivering to
        // every listener, until it is empty and this task's registration is
        // armed for the next signal.
        let registry = self.registry;
        let mut re_registered = false;
        loop {
            let (polled, gone) = match self.watch() {
                Ok(watch) => {
                    let polled = watch.source().poll_io_drain(cx, Interest::READABLE, || {
                        registry.read_and_deliver().map(|drained| ((), drained))
                    });
                    (polled, watch.source().is_shutdown())
                }
                Err(e) => {
                    // Transient (out of fds, most likely): the stream has not
                    // ended, and a `None` here would read as "no more
                    // signals" (or, to `recv().await; shutdown()`, as the
                    // signal itself). Wait and try again; a delivery another
                    // listener reads wakes this one through its waker.
                    if self.retry.is_none() {
                        tracing::warn!(error = %e, "sockwq: a signal listener cannot register yet; retrying");
                    }
                    // Reading the signalfd needs no new fd: deliver what is
                    // pending now, and at every retry, so that a signal
                    // (`SIGTERM` to a process stuck at its fd limit) is not
                    // held until an fd frees up.
                    while let Ok(false) = registry.read_and_deliver() {}
                    if self.take_new() {
                        return Poll::Ready(Some(()));
                    }
                    self.retry_later(cx);
                    return Poll::Pending;
                }
            };
            self.retry = None;
            match polled {
                Poll::Ready(Ok(())) => {
                    if self.take_new() {
                        return Poll::Ready(Some(()));
                    }
                }
                Poll::Ready(Err(e)) => {
                    // Its reactor is gone (the runtime it first waited in was
                    // dropped): move to the current one, once.
                    self.watch = None;
                    if !gone || re_registered {
                        tracing::debug!(error = %e, "sockwq: a signal listener stops");
                        return Poll::Ready(None);
                    }
                    re_registered = true;
                }
                Poll::Pending => {
                    return if self.take_new() {
                        Poll::Ready(Some(()))
                    } else {
                        Poll::Pending
                    };
                }
            }
        }
    }

    /// Arranges a poll after [`REGISTER_RETRY`] (this poll was the retry
    /// if the previous wait is over): on this core's timers or the global
    /// reactor's; if neither can run a timer (the global reactor cannot
    /// start without fds either), from a thread that sleeps. Never a wake
    /// at once, which would make the task spin while fds are short.
    fn retry_later(&mut self, cx: &mut Context<'_>) {
        // Checked at every retry: the listener may have moved to another
        // thread (off a core, a `Sleep` needs the global reactor).
        let timers = context::has_core() || GlobalTimers::get().is_ok();
        if timers {
            if !matches!(self.retry, Some(Retry::Timer(_))) {
                self.retry = Some(Retry::Timer(time::sleep(REGISTER_RETRY)));
            }
            let Some(Retry::Timer(sleep)) = &mut self.retry else {
                unreachable!("just set")
            };
            if Pin::new(&mut *sleep).poll(cx).is_ready() {
                sleep.reset(Instant::now() + REGISTER_RETRY);
                if Pin::new(&mut *sleep).poll(cx).is_ready() {
                    // Only if the clock jumped 50 ms between two reads.
                    cx.waker().wake_by_ref();
                }
            }
            return;
        }
        if let Some(Retry::Thread(woke)) = &self.retry {
            // Acquire: pairs with the thread's Release store (a plain
            // flag; the wake itself goes through the listener's waker).
            if !woke.load(Ordering::Acquire) {
                return;
            }
        }
        let woke = Arc::new(AtomicBool::new(false));
        let (w, listener) = (woke.clone(), self.listener.clone());
        let spawned = std::thread::Builder::new()
            .name("sockwq-signal-retry".into())
            .spawn(move || {
                std::thread::sleep(REGISTER_RETRY);
                // Release: see the load above.
                w.store(true, Ordering::Release);
                // `poll_recv` registered the task's waker here first.
                listener.waker.wake();
            });
        match spawned {
            Ok(_) => self.retry = Some(Retry::Thread(woke)),
            Err(e) => {
                // No thread either: wait here rather than spin.
                tracing::debug!(error = %e, "sockwq: a signal listener's retry thread cannot start");
                std::thread::sleep(REGISTER_RETRY);
                self.retry = Some(Retry::Thread(Arc::new(AtomicBool::new(true))));
                cx.waker().wake_by_ref();
            }
        }
    }

    /// Whether a delivery happened since the last one returned; marks it
    /// returned.
    fn take_new(&mut self) -> bool {
        let g = self.registry.slot(self.kind.0).generation();
        if g == self.seen {
            return false;
        }
        self.seen = g;
        true
    }

    fn watch(&mut self) -> io::Result<&Async<OwnedFd>> {
        if self.watch.is_none() {
            self.watch = Some(Async::new(self.registry.dup()?)?);
        }
        Ok(self.watch.as_ref().expect("just set"))
    }
}

impl futures_core::Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.registry.slot(self.kind.0).leave(&self.listener);
    }
}
