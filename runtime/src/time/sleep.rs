//! [`Sleep`]: a deadline registered with the timers of the core that polls
//! it, or with the global reactor's timers off any runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use sockwq_reactor::{GlobalTimers, TimerKey, Update};

use super::Instant;
use crate::context;
use crate::core::Remote;

/// Waits until `duration` has elapsed.
///
/// Works under any executor: see the [module docs](super) for where the
/// timer lives.
///
/// ```
/// use std::time::Duration;
/// sockwq_runtime::block_on(async {
///     sockwq_runtime::time::sleep(Duration::from_millis(1)).await;
/// });
/// futures::executor::block_on(sockwq_runtime::time::sleep(Duration::from_millis(1)));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now().saturating_add(duration))
}

/// Waits until `deadline`.
///
/// ```
/// use std::time::Duration;
/// use sockwq_runtime::time::{self, Instant};
/// sockwq_runtime::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(1);
///     time::sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
    }
}

/// Whether `remote` is `core`'s. Pointer identity: the allocation lives as
/// long as the `Weak` does, so no other core's `Remote` can share it.
fn is_core(remote: &Weak<Remote>, core: &crate::core::Core) -> bool {
    std::ptr::eq(remote.as_ptr(), Arc::as_ptr(&core.remote))
}

/// Where a [`Sleep`] is registered.
#[derive(Debug)]
enum Entry {
    /// With the timers of the core `remote` belongs to (which also
    /// reaches that core from another thread, to cancel).
    Core { remote: Weak<Remote>, key: TimerKey },
    /// With the global reactor's timers.
    Global(TimerKey),
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// Registers with the timers of the thread it is polled on (see the
/// [module docs](super)) and is ready once its deadline has passed;
/// dropping it cancels the timer. It is `Unpin`, and
/// [`reset`](Sleep::reset) takes `&mut self`, so tokio code calling
/// `sleep.as_mut().reset(..)` on a pinned `Sleep` compiles unchanged.
///
/// ```
/// use std::time::Duration;
/// use sockwq_runtime::time::{self, Instant};
/// sockwq_runtime::block_on(async {
///     let mut s = time::sleep(Duration::from_secs(60));
///     s.reset(Instant::now() + Duration::from_millis(1));
///     s.await;
/// });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Instant,
    entry: Option<Entry>,
}

impl Sleep {
    /// The instant this sleep ends.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::time::{self, Instant};
    /// let d = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(time::sleep_until(d).deadline(), d);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(!sockwq_runtime::time::sleep(Duration::from_secs(60)).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline (earlier or later), as if newly created. The
    /// timer registers again at the next poll.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::time::{self, Instant};
    /// let mut s = time::sleep(Duration::from_secs(60));
    /// s.reset(Instant::now());
    /// assert!(s.is_elapsed());
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    fn cancel(&mut self) {
        match self.entry.take() {
            None => {}
            Some(Entry::Core { remote, key }) => {
                let here = context::with_core(|core| {
                    is_core(&remote, core).then(|| core.timers.borrow_mut().remove(key))
                })
                .flatten();
                match here {
                    // Dropped with the timers released: a waker's drop may
                    // drop another timer.
                    Some(waker) => drop(waker),
                    // The entry is on another core (the future moved between
                    // threads): that core removes it. A core that is gone
                    // took its timers with it.
                    None => {
                        if let Some(remote) = remote.upgrade() {
                            remote.cancel_timer(key);
                        }
                    }
                }
            }
            Some(Entry::Global(key)) => {
                // Registered, so the global timers exist already.
                if let Ok(global) = GlobalTimers::get() {
                    global.remove(key);
                }
            }
        }
    }

    pub(crate) fn poll_sleep(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            self.cancel();
            return Poll::Ready(());
        }
        let deadline = self.deadline.into_std();
        let waker = cx.waker();
        let entry = &self.entry;
        // On a core: `None` if this core's entry was kept (the steady
        // state: no allocation, no reference count touched), else the new
        // entry.
        let on_core = context::with_core(|core| {
            let mut timers = core.timers.borrow_mut();
            let mut replaced = None;
            let kept = match entry {
                Some(Entry::Core { remote, key }) if is_core(remote, core) => {
                    match timers.update(*key, waker) {
                        Update::Gone => false,
                        Update::Kept => true,
                        Update::Replaced(w) => {
                            replaced = Some(w);
                            true
                        }
                    }
                }
                _ => false,
            };
            let new = (!kept).then(|| Entry::Core {
                remote: Arc::downgrade(&core.remote),
                key: timers.insert(deadline, waker),
            });
            // Released before the old waker drops: its drop may drop (and
            // so cancel) another timer of this core.
            drop(timers);
            drop(replaced);
            new
        });
        let new = match on_core {
            Some(None) => return Poll::Pending,
            Some(Some(entry)) => entry,
            None => {
                let global = match GlobalTimers::get() {
                    Ok(g) => g,
                    Err(e) => panic!("sockwq: a timer cannot start the global reactor: {e}"),
                };
                match entry {
                    Some(Entry::Global(key)) if global.update(*key, waker) => return Poll::Pending,
                    _ => Entry::Global(global.insert(deadline, waker)),
                }
            }
        };
        // Registered anew (elsewhere, or after the old entry fired): drop the
        // old registration, wherever it is.
        self.cancel();
        self.entry = Some(new);
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_sleep(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}
