//! Who may receive a listened signal: the thread masks, and the handler
//! that turns a stray delivery into a pending signal the signalfd reads.
//!
//! A signalfd reads only signals that are *pending*, and a process-directed
//! signal stays pending only if every thread of the process blocks it; the
//! kernel hands it to any thread that does not (running that thread's
//! disposition, the default of which, for `SIGINT` or `SIGTERM`, ends the
//! process). sockwq cannot block a signal in threads it does not own
//! (libtest's main thread, the user's threads, a tokio runtime's), so it
//! makes sure of it in two steps:
//!
//! 1. It blocks a listened signal in the thread that creates the listener,
//!    and in every runtime worker and blocking-pool thread when it starts
//!    (threads also inherit the mask of the thread that spawns them).
//! 2. It installs a handler for the signal. The handler only ever runs in
//!    a thread that does not block the signal. It adds the signal to the
//!    mask that thread gets back when the handler returns (`uc_sigmask` of
//!    the interrupted context), then sends the signal to the process again.
//!    Each such hop blocks one more thread, so the signal ends up pending,
//!    where the signalfd reads it. The handler does two async-signal-safe
//!    calls (`sigaddset`, `kill`) and keeps `errno`.
//!
//! So a listener sees a process-directed signal whichever thread the kernel
//! picks, and the user has nothing to set up. A *thread*-directed signal
//! (`raise`, `pthread_kill`, `tgkill`) sent to a thread that blocks it
//! stays pending on that thread, and only a read from that thread can take
//! it: send signals to the process (`kill`), as terminals, `kill(1)` and
//! service managers do.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use libc::c_int;

/// The signals some listener has asked for: bit `signo - 1`.
static LISTENED: AtomicU64 = AtomicU64::new(0);

fn bit(signo: c_int) -> u64 {
    1u64 << (signo - 1)
}

/// An empty signal set with `signos` added.
pub(super) fn sigset(signos: impl IntoIterator<Item = c_int>) -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it fully, and
    // sigaddset only sets bits of a valid (checked by the caller) signal.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in signos {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// The signals in a `LISTENED`-style bit set.
pub(super) fn signos(bits: u64) -> impl Iterator<Item = c_int> {
    (1..=64).filter(move |&s| bits & bit(s) != 0)
}

/// Blocks `signos` in the calling thread.
fn block(set: &libc::sigset_t) -> io::Result<()> {
    // SAFETY: `set` is a valid, initialised sigset; no old set is asked for.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Blocks `signo` in the calling thread.
pub(super) fn block_in_this_thread(signo: c_int) -> io::Result<()> {
    block(&sigset([signo]))
}

/// Blocks every listened signal in the calling thread: what a runtime
/// worker or blocking-pool thread does when it starts. Best effort: a
/// signal listened to afterwards reaches this thread's mask through the
/// handler.
pub(crate) fn block_listened_in_this_thread() {
    // Relaxed: missing a concurrent `listen` only costs that signal one
    // hop through the handler.
    let bits = LISTENED.load(Ordering::Relaxed);
    if bits != 0 {
        if let Err(e) = block(&sigset(signos(bits))) {
            tracing::warn!(error = %e, "sockwq: cannot block listened signals in a runtime thread");
        }
    }
}

/// Records `signo` as listened and installs the forwarding handler.
/// Called once per signal, under the registry's update lock.
pub(super) fn listen(signo: c_int) -> io::Result<()> {
    // SAFETY: a zeroed sigaction is a valid starting point (no flags, no
    // handler); every field we rely on is set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = forward as *const () as libc::sighandler_t;
    // SA_SIGINFO: the handler gets the interrupted context, whose mask it
    // edits. SA_RESTART: a slow syscall interrupted in the thread resumes
    // instead of failing with EINTR. The signal itself is blocked while the
    // handler runs (no SA_NODEFER), so a hop never comes back to it.
    action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
    // SAFETY: `action.sa_mask` is a valid sigset to initialise.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is fully initialised and `forward` has the
    // SA_SIGINFO signature; the old action is not asked for.
    if unsafe { libc::sigaction(signo, &action, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    LISTENED.fetch_or(bit(signo), Ordering::Relaxed);
    Ok(())
}

/// The handler: runs only in a thread that does not block `signo`. Makes
/// the thread block it from now on and sends it to the process again, so
/// that it becomes pending for the signalfd (see the module docs).
extern "C" fn forward(signo: c_int, _info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: __errno_location returns this thread's errno slot; kill may
    // overwrite errno, which the interrupted code must find unchanged.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: with SA_SIGINFO the third argument is the interrupted
    // context: the `struct ucontext` in the signal frame, writable by the
    // handler, whose `uc_sigmask` is the mask the kernel restores on return.
    // libc's `ucontext_t` has the kernel's layout up to `uc_sigmask`; its
    // sigset_t is longer than the kernel's 64 bits, but sigaddset of a
    // signal <= 64 (checked before the handler is installed) writes within
    // the first 64. Only a raw pointer to that field is made. sigaddset,
    // getpid and kill are async-signal-safe.
    unsafe {
        let uc = context as *mut libc::ucontext_t;
        if !uc.is_null() {
            libc::sigaddset(std::ptr::addr_of_mut!((*uc).uc_sigmask), signo);
        }
        libc::kill(libc::getpid(), signo);
        *libc::__errno_location() = errno;
    }
}
