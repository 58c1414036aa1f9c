//! [`Timers`]: deadline-ordered wakers, the timer structure of every
//! thread that turns a reactor. The nearest deadline is the timeout of the
//! next [`Reactor::turn`](crate::Reactor::turn), to the nanosecond
//! (`epoll_pwait2`): a 200 µs sleep parks for 200 µs, not a millisecond.
//!
//! Two owners use it: each core of sockwq's runtime (one thread, no lock),
//! and the global reactor's thread, behind [`GlobalTimers`](crate::GlobalTimers)
//! (a `Mutex`, since any thread may add a timer there).

use std::collections::BTreeMap;
use std::fmt;
use std::task::Waker;
use std::time::Instant;

/// The key of one registered timer: unique within its [`Timers`] for the
/// structure's whole life, so a stale key never names a newer timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKey {
    deadline: Instant,
    id: u64,
}

impl TimerKey {
    /// The deadline the timer was registered for.
    ///
    /// ```
    /// use std::time::Instant;
    /// let mut timers = sockwq_reactor::Timers::new();
    /// let at = Instant::now();
    /// let key = timers.insert(at, std::task::Waker::noop());
    /// assert_eq!(key.deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// What [`Timers::update`] did.
#[derive(Debug)]
#[must_use = "a replaced waker must be dropped after the timers are released"]
pub enum Update {
    /// The timer is not registered (it fired, or was removed): insert it
    /// again.
    Gone,
    /// The registered waker already wakes the same task: nothing changed.
    Kept,
    /// The waker was replaced; this is the old one, to drop once the timers
    /// are no longer borrowed or locked.
    Replaced(Waker),
}

/// Wakers ordered by deadline (a B-tree keyed by deadline and insertion
/// order, so equal deadlines fire in the order they were registered).
///
/// It never fires a timer early: [`pop_expired`](Timers::pop_expired)
/// only returns timers whose deadline is at or before the instant given.
///
/// ```
/// use std::time::{Duration, Instant};
/// use std::task::Waker;
/// use sockwq_reactor::Timers;
///
/// let mut timers = Timers::new();
/// let now = Instant::now();
/// let late = timers.insert(now + Duration::from_secs(60), Waker::noop());
/// timers.insert(now, Waker::noop());
/// assert_eq!(timers.next_deadline(), Some(now));
/// assert!(timers.pop_expired(now).is_some());
/// assert!(timers.pop_expired(now).is_none()); // `late` is not due
/// timers.remove(late);
/// assert!(timers.is_empty());
/// ```
#[derive(Default)]
pub struct Timers {
    map: BTreeMap<(Instant, u64), Waker>,
    next_id: u64,
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timers")
            .field("len", &self.map.len())
            .field("next_deadline", &self.next_deadline())
            .finish()
    }
}

impl Timers {
    /// No timers.
    pub fn new() -> Timers {
        Timers::default()
    }

    /// Whether no timer is registered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The number of registered timers.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Registers `waker` to be woken at `deadline`.
    pub fn insert(&mut self, deadline: Instant, waker: &Waker) -> TimerKey {
        let id = self.next_id;
        self.next_id += 1;
        self.map.insert((deadline, id), waker.clone());
        TimerKey { deadline, id }
    }

    /// Makes `waker` the one a registered timer wakes, unless the one it
    /// has would wake the same task (no clone in the steady state).
    ///
    /// A replaced waker is handed back rather than dropped here: dropping
    /// a waker can run arbitrary code (the last reference to a task, which
    /// may own a timer), so drop it once the timers are no longer borrowed
    /// or locked.
    pub fn update(&mut self, key: TimerKey, waker: &Waker) -> Update {
        match self.map.get_mut(&(key.deadline, key.id)) {
            Some(w) if w.will_wake(waker) => Update::Kept,
            Some(w) => Update::Replaced(std::mem::replace(w, waker.clone())),
            None => Update::Gone,
        }
    }

    /// Removes a timer; returns its waker if it was still registered (drop
    /// it once the timers are released, as for [`update`](Timers::update)).
    pub fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        self.map.remove(&(key.deadline, key.id))
    }

    /// The nearest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.map.first_key_value().map(|(k, _)| k.0)
    }

    /// Removes and returns the waker of the earliest timer if its deadline
    /// is at or before `now`; never one whose deadline is still ahead.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Waker> {
        let entry = self.map.first_entry()?;
        if entry.key().0 <= now {
            Some(entry.remove())
        } else {
            None
        }
    }
}
