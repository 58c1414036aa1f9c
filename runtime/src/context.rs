//! What this thread is running: the [`Core`] (if this thread is a worker
//! or inside `block_on`), where [`spawn`](crate::spawn) sends tasks, and
//! which runtime [`Handle::current`](crate::runtime::Handle::current)
//! returns.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use crate::core::{Core, Remote};
use crate::runtime::{Handle, Workers};

/// Where `spawn` puts a `Send` task.
#[derive(Clone)]
pub(crate) enum Spawner {
    /// On this thread's own core (a worker, or a free `block_on`).
    Core(Arc<Remote>),
    /// On a runtime's workers, round-robin (inside `Runtime::block_on`,
    /// or with a `runtime::Handle` entered).
    Workers(Arc<Workers>),
}

thread_local! {
    /// Owns the entered core (keeps it alive while entered).
    static CORE: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
    /// `CORE`'s core as a bare pointer, for the per-wake and per-poll
    /// lookups: a `const` `Cell` with no destructor is one `%fs`-relative
    /// load, with no lazy-init or destroyed-state check and no `RefCell`
    /// borrow. Null when no core is entered. Set and cleared together with
    /// `CORE` (and cleared by `Core`'s `Drop`, see `forget_core`).
    static CORE_PTR: Cell<*const Core> = const { Cell::new(ptr::null()) };
    static SPAWNER: RefCell<Option<Spawner>> = const { RefCell::new(None) };
    static RUNTIME: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Makes a core (optionally), a spawner and a runtime current on this
/// thread, and a reactor the one new sockets join, until dropped; then
/// restores what was current before.
pub(crate) struct Entered {
    core: bool,
    prev_spawner: Option<Spawner>,
    prev_runtime: Option<Handle>,
    _reactor: sockwq_reactor::EnterGuard,
}

impl Drop for Entered {
    fn drop(&mut self) {
        if self.core {
            CORE_PTR.set(ptr::null());
            let _ = CORE.try_with(|c| c.borrow_mut().take());
        }
        let prev = self.prev_spawner.take();
        let _ = SPAWNER.try_with(|s| *s.borrow_mut() = prev);
        let prev = self.prev_runtime.take();
        let _ = RUNTIME.try_with(|r| *r.borrow_mut() = prev);
    }
}

/// Enters `core`, whose thread this is; sockets created meanwhile join
/// `sockets` (the core's own reactor, or one of its runtime's workers').
/// Panics if this thread already runs a core: blocking a worker (or a
/// `block_on`) on a nested `block_on` would stall every task queued
/// behind it.
pub(crate) fn enter(
    core: Rc<Core>,
    spawner: Spawner,
    runtime: Handle,
    sockets: &sockwq_reactor::Handle,
) -> Entered {
    if has_core() {
        panic!(
            "sockwq: cannot start a runtime (block_on) from within a runtime: \
             the thread is already driving tasks; `.await` the future instead"
        );
    }
    let mut entered = enter_runtime(spawner, runtime, sockets);
    CORE_PTR.set(Rc::as_ptr(&core));
    CORE.with(|c| *c.borrow_mut() = Some(core));
    entered.core = true;
    entered
}

/// Makes `runtime` current (spawns go to `spawner`, sockets join
/// `sockets`) without a core: `runtime::Handle::enter`.
pub(crate) fn enter_runtime(spawner: Spawner, runtime: Handle, sockets: &sockwq_reactor::Handle) -> Entered {
    let reactor = sockets.enter();
    let prev_spawner = SPAWNER.with(|s| s.borrow_mut().replace(spawner));
    let prev_runtime = RUNTIME.with(|r| r.borrow_mut().replace(runtime));
    Entered {
        core: false,
        prev_spawner,
        prev_runtime,
        _reactor: reactor,
    }
}

/// Whether this thread runs a core.
pub(crate) fn has_core() -> bool {
    !CORE_PTR.get().is_null()
}

/// Runs `f` with this thread's core, if any.
#[inline]
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    let core = CORE_PTR.get();
    if core.is_null() {
        return None;
    }
    // SAFETY: a non-null `CORE_PTR` is the `Rc<Core>` that `CORE` holds on
    // this thread: both are set in `enter` and cleared in `Entered::drop`,
    // and `Core::drop` clears the pointer (`forget_core`) should the `Rc`
    // go some other way (thread-local destruction at thread exit). The
    // `Rc` is this thread's, so no other thread uses the core meanwhile.
    Some(f(unsafe { &*core }))
}

/// Called by `Core::drop`: a dropped core is never reachable through
/// `with_core`, whatever order thread-locals are destroyed in.
pub(crate) fn forget_core(core: *const Core) {
    // A `const` `Cell` without `Drop` is never destroyed: `with` cannot fail.
    if CORE_PTR.get() == core {
        CORE_PTR.set(ptr::null());
    }
}

/// This thread's spawner, if any.
pub(crate) fn spawner() -> Option<Spawner> {
    SPAWNER.try_with(|s| s.borrow().clone()).ok().flatten()
}

/// The runtime current on this thread: `Err(true)` if there is none,
/// `Err(false)` if the thread-local is already destroyed.
pub(crate) fn runtime() -> Result<Handle, bool> {
    match RUNTIME.try_with(|r| r.borrow().clone()) {
        Ok(Some(h)) => Ok(h),
        Ok(None) => Err(true),
        Err(_) => Err(false),
    }
}
