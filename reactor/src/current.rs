//! Which reactor a new socket registers with: the one a runtime entered on
//! this thread; else, inside a tokio runtime, the reactor that runtime
//! drives (`tokio/`); or else a global reactor turned by its own thread, so
//! that any executor (`futures::executor::block_on`, smol, ...) can drive
//! sockwq IO.

use std::cell::RefCell;
use std::io;
use std::sync::{Mutex, OnceLock};

use crate::reactor::{Handle, Reactor};

thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

static GLOBAL: OnceLock<Handle> = OnceLock::new();
static GLOBAL_INIT: Mutex<()> = Mutex::new(());

/// Restores the previously entered handle on drop; see [`Handle::enter`].
#[derive(Debug)]
#[must_use = "the handle is current only while the guard lives"]
pub struct EnterGuard {
    prev: Option<Handle>,
    // Entered per thread: the guard must be dropped on the thread it was made on.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

impl Handle {
    /// Makes this handle the current one on this thread until the guard is
    /// dropped: sockets created meanwhile register with its reactor.
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        EnterGuard {
            prev,
            _not_send: std::marker::PhantomData,
        }
    }

    /// The handle entered on this thread; else, inside a tokio runtime,
    /// that runtime's reactor (see [`crate::tokio`]); else the global
    /// reactor's (started on first use). Errors if the reactor cannot be
    /// created (e.g. out of fds), or the tokio runtime has no IO driver or
    /// is shutting down.
    pub fn try_current() -> io::Result<Handle> {
        if let Some(h) = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten() {
            return Ok(h);
        }
        #[cfg(feature = "tokio")]
        if let Some(h) = crate::tokio::current() {
            return h;
        }
        global()
    }

    /// Like [`try_current`](Handle::try_current).
    ///
    /// # Panics
    ///
    /// If no reactor can be had (see `try_current`'s errors).
    pub fn current() -> Handle {
        match Self::try_current() {
            Ok(h) => h,
            Err(e) => panic!("sockwq: no reactor for a new socket: {e}"),
        }
    }

    /// The global reactor's handle, starting its thread on first use.
    pub fn global() -> io::Result<Handle> {
        global()
    }
}

fn global() -> io::Result<Handle> {
    if let Some(h) = GLOBAL.get() {
        return Ok(h.clone());
    }
    // A failed start (say, EMFILE) is reported and retried on the next call.
    let _g = GLOBAL_INIT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = GLOBAL.get() {
        return Ok(h.clone());
    }
    let mut reactor = Reactor::new()?;
    let handle = reactor.handle();
    std::thread::Builder::new()
        .name("sockwq-reactor".into())
        .spawn(move || {
            loop {
                if let Err(e) = reactor.turn(None) {
                    // epoll_wait fails only on a broken epoll fd; back off rather
                    // than spin, and say so.
                    tracing::error!(error = %e, "sockwq global reactor: turn failed");
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
        })?;
    let _ = GLOBAL.set(handle.clone());
    Ok(handle)
}
