//! The process-wide signal state: one signalfd for every signal any
//! listener asked for, and per signal a generation counter and the list of
//! its listeners.
//!
//! # Delivery without a lock
//!
//! Whoever reads a `signalfd_siginfo` — the task of any listener, on any
//! thread, whose registration of the signalfd became readable — delivers
//! it: it bumps the signal's generation, then wakes every listener of
//! that signal. The list is an `ArcSwap<Vec<_>>` (loaded, never locked)
//! and each listener's waker an `AtomicWaker`; only joining or leaving the
//! list stores into the `ArcSwap`. A listener has received a signal when
//! the generation differs from the one it last saw, so signals that
//! arrive between two `recv`s coalesce into one, as with tokio.
//!
//! No wake is lost: the listener registers its waker and then re-reads the
//! generation; the deliverer bumps the generation and then loads the list
//! and wakes. Each side puts a `fence(SeqCst)` between the two steps
//! (Dekker's pattern, as in `core.rs`): if the listener's fence comes
//! first in the fences' total order, the deliverer's list load sees the
//! listener (which joined before its fence) and its `wake` sees the
//! registered waker; if the deliverer's comes first, the listener's
//! re-read sees the new generation.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, OnceLock};

use arc_swap::ArcSwap;
use libc::c_int;
use sockwq_reactor::AtomicWaker;

use super::mask;

/// One listener's waker, as the list of its signal holds it.
#[derive(Default)]
pub(super) struct ListenerWaker {
    pub(super) waker: AtomicWaker,
}

impl fmt::Debug for ListenerWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerWaker").finish_non_exhaustive()
    }
}

/// The state of one signal number.
pub(super) struct Slot {
    /// Deliveries so far (coalesced by the kernel while pending).
    generation: AtomicU64,
    listeners: ArcSwap<Vec<Arc<ListenerWaker>>>,
}

impl Slot {
    /// The number of deliveries so far.
    pub(super) fn generation(&self) -> u64 {
        // Acquire: pairs with the deliverer's Release bump, so a listener
        // that sees the bump sees what the deliverer did before it.
        self.generation.load(Ordering::Acquire)
    }

    /// Adds a listener to the list deliveries wake.
    pub(super) fn join(&self, l: &Arc<ListenerWaker>) {
        self.listeners.rcu(|cur| {
            let mut next = Vec::with_capacity(cur.len() + 1);
            next.extend(cur.iter().cloned());
            next.push(l.clone());
            next
        });
    }

    /// Removes a listener.
    pub(super) fn leave(&self, l: &Arc<ListenerWaker>) {
        self.listeners.rcu(|cur| {
            cur.iter()
                .filter(|x| !Arc::ptr_eq(x, l))
                .cloned()
                .collect::<Vec<_>>()
        });
    }
}

/// The process's signalfd and the per-signal slots.
pub(super) struct Registry {
    /// Non-blocking, close-on-exec; its mask is every listened signal.
    fd: OwnedFd,
    /// Indexed by signal number (0 unused).
    slots: Box<[Slot]>,
    /// The signalfd's mask. Taken when a signal is listened to for the
    /// first time; never on delivery.
    mask: Mutex<u64>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("signalfd", &self.fd.as_raw_fd())
            .finish_non_exhaustive()
    }
}

static REGISTRY: OnceLock<Registry> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// How many `signalfd_siginfo` one `read` takes at most.
const BATCH: usize = 8;

impl Registry {
    /// The process's registry, created (with an empty signalfd) on first
    /// use. A failed creation is reported and retried on the next call.
    pub(super) fn get() -> io::Result<&'static Registry> {
        if let Some(r) = REGISTRY.get() {
            return Ok(r);
        }
        let _g = INIT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = REGISTRY.get() {
            return Ok(r);
        }
        let empty = mask::sigset([]);
        // SAFETY: `empty` is an initialised sigset; -1 asks for a new fd.
        let raw = unsafe { libc::signalfd(-1, &empty, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` was just returned by the kernel and is owned by no one else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let slots = (0..=64)
            .map(|_| Slot {
                generation: AtomicU64::new(0),
                listeners: ArcSwap::from_pointee(Vec::new()),
            })
            .collect();
        let _ = REGISTRY.set(Registry {
            fd,
            slots,
            mask: Mutex::new(0),
        });
        Ok(REGISTRY.get().expect("just set"))
    }

    pub(super) fn slot(&self, signo: c_int) -> &Slot {
        &self.slots[signo as usize]
    }

    /// Makes the signalfd read `signo` and installs its forwarding handler
    /// (once per signal).
    pub(super) fn enable(&self, signo: c_int) -> io::Result<()> {
        let mut bits = self.mask.lock().unwrap_or_else(|p| p.into_inner());
        let b = 1u64 << (signo - 1);
        if *bits & b != 0 {
            return Ok(());
        }
        let next = *bits | b;
        let set = mask::sigset(mask::signos(next));
        // Widen the signalfd's mask before the handler can make the signal
        // pending, so that no pending signal goes unread.
        // SAFETY: `set` is initialised; the fd is our signalfd, whose mask
        // this call replaces.
        if unsafe { libc::signalfd(self.fd.as_raw_fd(), &set, 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
        mask::listen(signo)?;
        *bits = next;
        Ok(())
    }

    /// A new fd for the signalfd (same open file), for one listener to
    /// register with its reactor.
    pub(super) fn dup(&self) -> io::Result<OwnedFd> {
        self.fd.try_clone()
    }

    /// Reads pending signals (one `read`, up to [`BATCH`]) and delivers
    /// them. `Ok(true)` if the read returned less than a full batch (the
    /// signalfd is drained), `WouldBlock` if nothing was pending.
    pub(super) fn read_and_deliver(&self) -> io::Result<bool> {
        // SAFETY: signalfd_siginfo is plain data; all-zero is a valid value.
        let mut buf: [libc::signalfd_siginfo; BATCH] = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of_val(&buf);
        // SAFETY: `buf` is writable for `size` bytes; the kernel writes whole
        // signalfd_siginfo records only.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), size) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let records = n as usize / std::mem::size_of::<libc::signalfd_siginfo>();
        let mut seen = 0u64;
        for info in &buf[..records] {
            let signo = info.ssi_signo as c_int;
            if (1..=64).contains(&signo) {
                seen |= 1u64 << (signo - 1);
            }
        }
        self.deliver(seen);
        Ok(records < BATCH)
    }

    /// Bumps the generation of every signal in `seen` (bit `signo - 1`)
    /// and wakes their listeners. No lock, no allocation.
    fn deliver(&self, seen: u64) {
        if seen == 0 {
            return;
        }
        for s in mask::signos(seen) {
            // Release: see `Slot::generation`.
            self.slots[s as usize].generation.fetch_add(1, Ordering::Release);
        }
        // Dekker, deliverer side: bump ; fence ; load the list (module docs).
        fence(Ordering::SeqCst);
        for s in mask::signos(seen) {
            for l in self.slots[s as usize].listeners.load().iter() {
                l.waker.wake();
            }
        }
    }
}
