//! What this thread is running: the [`Core`] (if this thread is a worker
//! or inside `block_on`) and where [`spawn`](crate::spawn) sends tasks.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use crate::core::{Core, Remote};
use crate::runtime::Workers;

/// Where `spawn` puts a `Send` task.
#[derive(Clone)]
pub(crate) enum Spawner {
    /// On this thread's own core (a worker, or a free `block_on`).
    Core(Arc<Remote>),
    /// On a runtime's workers, round-robin (inside `Runtime::block_on`).
    Workers(Arc<Workers>),
}

thread_local! {
    static CORE: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
    static SPAWNER: RefCell<Option<Spawner>> = const { RefCell::new(None) };
}

/// Makes `core` this thread's core (and its reactor the current one, so
/// that sockets created here register with it) until dropped.
pub(crate) struct Entered {
    _reactor: sockwq_reactor::EnterGuard,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = CORE.try_with(|c| c.borrow_mut().take());
        let _ = SPAWNER.try_with(|s| s.borrow_mut().take());
    }
}

/// Enters `core`. Panics if this thread already runs a core: blocking a
/// worker (or a `block_on`) on a nested `block_on` would stall every task
/// queued behind it.
pub(crate) fn enter(core: Rc<Core>, spawner: Spawner) -> Entered {
    if has_core() {
        panic!(
            "sockwq: cannot start a runtime (block_on) from within a runtime: \
             the thread is already driving tasks; `.await` the future instead"
        );
    }
    let reactor = core.reactor_handle().enter();
    CORE.with(|c| *c.borrow_mut() = Some(core));
    SPAWNER.with(|s| *s.borrow_mut() = Some(spawner));
    Entered { _reactor: reactor }
}

/// Whether this thread runs a core.
pub(crate) fn has_core() -> bool {
    CORE.try_with(|c| c.borrow().is_some()).unwrap_or(false)
}

/// Runs `f` with this thread's core, if any.
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    CORE.try_with(|c| c.borrow().as_deref().map(f)).ok().flatten()
}

/// This thread's spawner, if any.
pub(crate) fn spawner() -> Option<Spawner> {
    SPAWNER.try_with(|s| s.borrow().clone()).ok().flatten()
}
