//! [`AtomicWaker`]: one task's waker, registered by that task and taken by
//! whoever wakes it, lock-free. futures-core's `AtomicWaker` (same
//! protocol, same orderings: three states, the registering task and the
//! waker never both touch the cell), with one change: a panic in the
//! registering task's `Waker::clone` (or in the old waker's drop) hands the
//! registration back instead of leaving it `REGISTERING` forever, in which
//! state every later `register` does nothing and every wake is lost. So
//! the type is unwind-safe, as tokio's own `AtomicWaker` is, and so are
//! the readiness futures' wait-queue entries and fasync channels that use
//! it.

use std::cell::UnsafeCell;
use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
use std::task::Waker;

/// Nobody registers or wakes.
const WAITING: usize = 0;
/// A task is writing its waker into the cell.
const REGISTERING: usize = 0b01;
/// A waker is taking the waker out of the cell.
const WAKING: usize = 0b10;

/// A task's waker that another thread can take and wake: futures-core's
/// `AtomicWaker`, except that a panicking `Waker::clone` during
/// [`register`](AtomicWaker::register) leaves it usable (and so the type is
/// `UnwindSafe + RefUnwindSafe`). The reactor's wait queues, fasync
/// channels and sockwq's runtime use it.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::task::{Wake, Waker};
/// use sockwq_reactor::AtomicWaker;
///
/// struct Flag(AtomicBool);
/// impl Wake for Flag {
///     fn wake(self: Arc<Self>) { self.0.store(true, Ordering::SeqCst) }
/// }
/// let flag = Arc::new(Flag(AtomicBool::new(false)));
/// let aw = AtomicWaker::new();
/// aw.register(&Waker::from(flag.clone()));
/// std::thread::scope(|s| { s.spawn(|| aw.wake()); });
/// assert!(flag.0.load(Ordering::SeqCst));
/// ```
pub struct AtomicWaker {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cell is only touched by the thread that moved `state` out of
// WAITING (to REGISTERING in `register`, to WAKING in `take`), and `Waker`
// is `Send + Sync`.
unsafe impl Send for AtomicWaker {}
// SAFETY: as above.
unsafe impl Sync for AtomicWaker {}

// A panic inside `register` hands the registration back (see `Unregister`);
// `take` runs no user code while it holds the cell. No state a caught panic
// can observe is broken.
impl UnwindSafe for AtomicWaker {}
impl RefUnwindSafe for AtomicWaker {}

impl AtomicWaker {
    /// An empty registration.
    pub const fn new() -> AtomicWaker {
        AtomicWaker {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    /// Registers `waker` to be woken by the next [`wake`](Self::wake)
    /// (replacing the waker registered before, unless it `will_wake` the
    /// same task). A wake that races with this call is not lost: it wakes
    /// `waker`.
    pub fn register(&self, waker: &Waker) {
        // Acquire: the last taker's (or registrant's) Release makes the cell's
        // contents visible to us.
        match self
            .state
            .compare_exchange(WAITING, REGISTERING, Acquire, Acquire)
            .unwrap_or_else(|x| x)
        {
            WAITING => {
                // Unwinding out of the cell write (a panicking clone, or the
                // old waker's drop): back to WAITING, so later registrations
                // and wakes work. The cell holds a valid waker (or none).
                struct Unregister<'a>(&'a AtomicUsize);
                impl Drop for Unregister<'_> {
                    fn drop(&mut self) {
                        // Release: our write of the cell, if any, happens-before
                        // the next registrant's or taker's Acquire.
                        self.0.swap(WAITING, AcqRel);
                    }
                }
                let guard = Unregister(&self.state);
                // SAFETY: our CAS moved WAITING -> REGISTERING: the cell is ours
                // until we leave REGISTERING; `take` only reads it from WAITING.
                unsafe {
                    match &*self.waker.get() {
                        Some(old) if old.will_wake(waker) => {}
                        _ => *self.waker.get() = Some(waker.clone()),
                    }
                }
                std::mem::forget(guard);
                // AcqRel: release the cell write to a later taker; acquire a
                // waker's WAKING bit set meanwhile.
                match self.state.compare_exchange(REGISTERING, WAITING, AcqRel, Acquire) {
                    Ok(_) => {}
                    Err(_) => {
                        // A wake came while we registered (state is
                        // REGISTERING | WAKING): it left the waking to us.
                        // SAFETY: the state is still ours (REGISTERING is set,
                        // and the waker backed off on seeing it).
                        let waker = unsafe { (*self.waker.get()).take() };
                        self.state.swap(WAITING, AcqRel);
                        if let Some(waker) = waker {
                            waker.wake();
                        }
                    }
                }
            }
            WAKING => {
                // A wake is taking the previous waker right now: this task
                // must not miss it, so poll again.
                waker.wake_by_ref();
            }
            _ => {
                // REGISTERING (with or without WAKING): another registration
                // is in progress at the same time, which `register`'s callers
                // (one task per waiter) never do. Nothing to write.
            }
        }
    }

    /// Wakes the registered waker, if any, and empties the registration.
    pub fn wake(&self) {
        if let Some(waker) = self.take() {
            waker.wake();
        }
    }

    /// Takes the registered waker out, if any.
    pub fn take(&self) -> Option<Waker> {
        // AcqRel: acquire the registrant's cell write (its Release); our
        // WAKING bit tells a concurrent registrant to do the waking.
        match self.state.fetch_or(WAKING, AcqRel) {
            WAITING => {
                // SAFETY: we moved WAITING -> WAKING: the cell is ours until we
                // store WAITING; a registrant seeing WAKING does not touch it.
                let waker = unsafe { (*self.waker.get()).take() };
                // Release: our take happens-before the next registrant's write.
                self.state.swap(WAITING, Release);
                waker
            }
            _ => None,
        }
    }
}

impl Default for AtomicWaker {
    fn default() -> AtomicWaker {
        AtomicWaker::new()
    }
}

impl fmt::Debug for AtomicWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AtomicWaker")
    }
}
