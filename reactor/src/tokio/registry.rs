//! Which sockwq reactor belongs to which tokio runtime.
//!
//! One reactor per runtime, also on multi_thread (not one per worker):
//! tokio has one IO driver per runtime, and whichever worker holds it
//! dispatches every reactor registered there, so per-worker reactors add
//! no parallelism — only one more `epoll_wait` per reactor with events on
//! each wake-up (measured: 2.8x the `epoll_pwait2` calls and 9 % more
//! syscalls in all with sockets spread over 4 workers), while tasks
//! migrate between workers anyway.
//!
//! A global map from the runtime's `Id` to a weak handle of its reactor,
//! and a per-thread cache of the last runtime seen, so that creating a
//! socket normally costs a thread-local look-up and an `Arc` clone (no
//! lock). Neither keeps a reactor alive: the runtime's driver task owns it
//! and removes its map entry when the runtime drops the task at shutdown.
//! tokio runtime ids come from a 64-bit counter and are not reused.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::sync::{LazyLock, Mutex, MutexGuard};

use ::tokio::runtime::{Handle as RtHandle, Id};

use super::driver::{self, Shared, StartError};
use crate::reactor::{Handle, WeakHandle};

#[derive(Clone)]
enum Entry {
    Live(WeakHandle),
    /// The runtime has no IO driver; removed when it shuts down.
    NoIo,
}

static REACTORS: LazyLock<Mutex<HashMap<Id, Entry>>> = LazyLock::new(Default::default);

thread_local! {
    static LAST: RefCell<Option<(Id, WeakHandle)>> = const { RefCell::new(None) };
}

fn reactors() -> MutexGuard<'static, HashMap<Id, Entry>> {
    // Each update is one insert or remove: a panic cannot leave it torn.
    REACTORS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes its runtime's entry when dropped (with the driver task, or the
/// no-IO marker task), unless the entry was replaced meanwhile.
pub(super) struct EntryGuard {
    id: Id,
    weak: Option<WeakHandle>,
}

impl Drop for EntryGuard {
    fn drop(&mut self) {
        let mut map = reactors();
        let ours = match (map.get(&self.id), &self.weak) {
            (Some(Entry::Live(w)), Some(mine)) => w.ptr_eq(mine),
            (Some(Entry::NoIo), None) => true,
            _ => false,
        };
        if ours {
            map.remove(&self.id);
        }
    }
}

/// The reactor of `rt`, created and its driver spawned on first use.
pub(super) fn reactor_for(rt: &RtHandle) -> io::Result<Handle> {
    let id = rt.id();
    let cached = LAST
        .try_with(|c| match &*c.borrow() {
            Some((last, weak)) if *last == id => weak.upgrade(),
            _ => None,
        })
        .ok()
        .flatten();
    if let Some(h) = cached {
        return Ok(h);
    }
    let h = lookup_or_start(rt, id)?;
    let _ = LAST.try_with(|c| *c.borrow_mut() = Some((id, h.downgrade())));
    Ok(h)
}

fn lookup(id: Id) -> Option<io::Result<Handle>> {
    match reactors().get(&id) {
        Some(Entry::Live(w)) => w.upgrade().map(Ok),
        Some(Entry::NoIo) => Some(Err(no_io())),
        None => None,
    }
}

fn lookup_or_start(rt: &RtHandle, id: Id) -> io::Result<Handle> {
    if let Some(found) = lookup(id) {
        return found;
    }
    // Created and spawned without the map's lock held: a runtime that is
    // shutting down drops the spawned task at once, and its guard takes
    // the lock.
    let (driver, handle) = match Shared::new(rt) {
        Ok(d) => d,
        Err(StartError::Io(e)) => return Err(e),
        Err(StartError::NoIo) => {
            let first = {
                let mut map = reactors();
                map.insert(id, Entry::NoIo).is_none()
            };
            if first {
                // A task that never completes: the runtime drops it when it
                // shuts down, which removes the marker.
                let guard = EntryGuard { id, weak: None };
                rt.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await
                });
            }
            return Err(no_io());
        }
    };
    let weak = handle.downgrade();
    {
        let mut map = reactors();
        if let Some(Entry::Live(w)) = map.get(&id) {
            if let Some(theirs) = w.upgrade() {
                // Another thread started one first; ours is dropped unused.
                return Ok(theirs);
            }
        }
        map.insert(id, Entry::Live(weak.clone()));
    }
    // Arm the readiness waker now: the driver task may run later.
    driver.pump();
    let entry = EntryGuard { id, weak: Some(weak) };
    tracing::debug!(runtime = %id, "sockwq: reactor started for a tokio runtime");
    // Detached: the runtime owns the task and drops it at shutdown.
    drop(rt.spawn(driver::run(driver, entry)));
    Ok(handle)
}

/// Runtimes with a live reactor (or a no-IO marker) in the map.
pub(super) fn entries() -> usize {
    reactors().len()
}

fn no_io() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "sockwq: this tokio runtime has no IO driver, so sockwq sockets cannot run on it; \
         build the runtime with `enable_io()` (or `enable_all()`)",
    )
}
