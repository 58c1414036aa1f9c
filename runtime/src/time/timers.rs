//! A core's timers: an ordered map from (deadline, id) to the waker of the
//! task waiting for it. The first key sets the core's `epoll_wait`
//! timeout, to the nanosecond (`epoll_pwait2`): a 200 µs sleep parks for
//! 200 µs, not a whole millisecond. Only the core's own thread touches it.

use std::collections::BTreeMap;
use std::task::Waker;
use std::time::Instant;

/// The key of one registered timer.
pub(crate) type TimerKey = (Instant, u64);

#[derive(Debug, Default)]
pub(crate) struct Timers {
    map: BTreeMap<TimerKey, Waker>,
    next_id: u64,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers::default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Registers `waker` to be woken at `deadline`.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: &Waker) -> TimerKey {
        let key = (deadline, self.next_id);
        self.next_id += 1;
        self.map.insert(key, waker.clone());
        key
    }

    /// Replaces the waker of a registered timer unless it would wake the
    /// same task. False if the timer is not registered (it fired).
    pub(crate) fn update(&mut self, key: TimerKey, waker: &Waker) -> bool {
        match self.map.get_mut(&key) {
            Some(w) => {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
                true
            }
            None => false,
        }
    }

    pub(crate) fn remove(&mut self, key: TimerKey) {
        self.map.remove(&key);
    }

    /// The nearest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.map.first_key_value().map(|(k, _)| k.0)
    }

    /// Removes and returns the waker of one timer whose deadline is at or
    /// before `now`. Never one whose deadline is still ahead.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Waker> {
        let entry = self.map.first_entry()?;
        if entry.key().0 <= now {
            Some(entry.remove())
        } else {
            None
        }
    }
}
