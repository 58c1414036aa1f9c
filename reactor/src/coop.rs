//! The cooperative IO budget: an always-ready socket must not let one task
//! run for ever inside a single poll.
//!
//! Every IO poll on a [`Source`](crate::Source) that makes progress
//! (`poll_ready`, `poll_io`, and so every read, write, send, recv and
//! accept built on them) spends one unit of the polling task's budget.
//! When the budget is spent, the operation wakes its task and returns
//! `Pending`, so the task yields to the executor even though the socket is
//! still ready. The figures are tokio's: [`BUDGET`] units per task poll,
//! one unit per operation that made progress, nothing for one that waits.
//!
//! One mechanism, two sources of budget:
//!
//! - an executor that wraps each task poll in [`budget`] (sockwq's own
//!   runtime does) gives the task a fresh budget in a thread-local;
//! - otherwise, with the `tokio` feature, tokio's own budget is consulted
//!   (`tokio::task::coop::poll_proceed`), so inside a tokio task sockwq IO
//!   consumes the same budget as tokio's sockets and yields the same way.
//!
//! With neither (a plain `futures::executor::block_on`), IO is unconstrained.

use std::cell::Cell;
use std::marker::PhantomData;
use std::task::{Context, Poll};

/// Budget units a task gets for one poll (tokio's figure).
pub const BUDGET: u8 = 128;

thread_local! {
    /// The budget left to the task being polled on this thread; `None`
    /// when no [`budget`] scope is active (unconstrained, or tokio's).
    static LEFT: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Runs `f` — one poll of one task — with a fresh budget of [`BUDGET`]
/// units, and restores the previous budget afterwards (so scopes nest).
///
/// An executor calls this around each task poll; IO polled inside spends
/// the budget and yields when it is gone.
///
/// ```
/// use sockwq_reactor::coop;
/// use std::task::{Context, Poll, Waker};
///
/// let mut cx = Context::from_waker(Waker::noop());
/// coop::budget(|| {
///     for _ in 0..coop::BUDGET {
///         let Poll::Ready(unit) = coop::poll_proceed(&mut cx) else { panic!() };
///         unit.made_progress();
///     }
///     // Spent: the next operation yields.
///     assert!(coop::poll_proceed(&mut cx).is_pending());
/// });
/// ```
pub fn budget<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(Option<u8>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = LEFT.try_with(|b| b.set(self.0));
        }
    }
    let prev = LEFT.try_with(|b| b.replace(Some(BUDGET))).ok().flatten();
    let _reset = Reset(prev);
    f()
}

/// Takes one unit of the current task's budget for an IO operation, or —
/// when the budget is spent — wakes the task (it is rescheduled behind the
/// others) and returns `Pending`.
///
/// The unit is given back when the returned guard is dropped, unless
/// [`made_progress`](RestoreOnPending::made_progress) was called: an
/// operation that ends up waiting costs nothing.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    match LEFT.try_with(Cell::get).ok().flatten() {
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            LEFT.with(|b| b.set(Some(n - 1)));
            Poll::Ready(RestoreOnPending {
                restore: Restore::Own(Cell::new(Some(n))),
                _not_send: PhantomData,
            })
        }
        None => foreign(cx),
    }
}

/// No sockwq budget scope: tokio's budget, when inside a tokio task.
#[cfg(feature = "tokio")]
#[inline]
fn foreign(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    ::tokio::task::coop::poll_proceed(cx).map(|r| RestoreOnPending {
        restore: Restore::Tokio(r),
        _not_send: PhantomData,
    })
}

#[cfg(not(feature = "tokio"))]
#[inline]
fn foreign(_cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    Poll::Ready(RestoreOnPending {
        restore: Restore::Own(Cell::new(None)),
        _not_send: PhantomData,
    })
}

enum Restore {
    /// The budget before the unit was taken; `None` once progress is made
    /// (or when unconstrained): nothing to give back.
    Own(Cell<Option<u8>>),
    #[cfg(feature = "tokio")]
    Tokio(::tokio::task::coop::RestoreOnPending),
}

/// One unit of budget taken by [`poll_proceed`]; given back on drop unless
/// the operation [made progress](RestoreOnPending::made_progress).
#[must_use = "dropping it at once gives the unit back"]
pub struct RestoreOnPending {
    restore: Restore,
    // The budget is per thread: the guard must be dropped where it was made.
    _not_send: PhantomData<*const ()>,
}

impl RestoreOnPending {
    /// The operation made progress: keep the unit spent.
    #[inline]
    pub fn made_progress(&self) {
        match &self.restore {
            Restore::Own(prev) => prev.set(None),
            #[cfg(feature = "tokio")]
            Restore::Tokio(r) => r.made_progress(),
        }
    }
}

impl Drop for RestoreOnPending {
    #[inline]
    // Without the `tokio` feature there is only the one variant.
    #[allow(irrefutable_let_patterns)]
    fn drop(&mut self) {
        if let Restore::Own(prev) = &self.restore {
            if let Some(n) = prev.get() {
                let _ = LEFT.try_with(|b| b.set(Some(n)));
            }
        }
    }
}

impl std::fmt::Debug for RestoreOnPending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.restore {
            Restore::Own(_) => "sockwq",
            #[cfg(feature = "tokio")]
            Restore::Tokio(_) => "tokio",
        };
        f.debug_struct("RestoreOnPending").field("budget", &kind).finish()
    }
}

/// Whether the current task has budget left (always true outside a
/// budget scope and outside tokio).
pub fn has_budget_remaining() -> bool {
    match LEFT.try_with(Cell::get).ok().flatten() {
        Some(n) => n > 0,
        #[cfg(feature = "tokio")]
        None => ::tokio::task::coop::has_budget_remaining(),
        #[cfg(not(feature = "tokio"))]
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn a_waiting_operation_costs_nothing() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            for _ in 0..1000 {
                let unit = poll_proceed(&mut cx);
                assert!(unit.is_ready());
                drop(unit); // no progress: given back
            }
            assert!(has_budget_remaining());
        });
    }

    #[test]
    fn scopes_nest_and_restore() {
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(LEFT.with(Cell::get), None);
        budget(|| {
            let Poll::Ready(u) = poll_proceed(&mut cx) else {
                panic!()
            };
            u.made_progress();
            drop(u);
            assert_eq!(LEFT.with(Cell::get), Some(BUDGET - 1));
            budget(|| assert_eq!(LEFT.with(Cell::get), Some(BUDGET)));
            assert_eq!(LEFT.with(Cell::get), Some(BUDGET - 1));
        });
        assert_eq!(LEFT.with(Cell::get), None);
    }
}
