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
#[inline]
pub fn budget<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(Option<u8>);
    impl Drop for Reset {
        #[inline]
        fn drop(&mut self) {
            LEFT.set(self.0);
        }
    }
    // `LEFT` is a `const` `Cell` without `Drop`: never destroyed, so these
    // accesses cannot fail, and each is one `%fs`-relative load or store.
    let _reset = Reset(LEFT.replace(Some(BUDGET)));
    f()
}

/// Checks that the current task has a unit of budget left for an IO
/// operation, or — when the budget is spent — wakes the task (it is
/// rescheduled behind the others) and returns `Pending`.
///
/// The unit is spent by [`made_progress`](RestoreOnPending::made_progress)
/// on the returned guard; dropping the guard without it spends nothing:
/// an operation that ends up waiting costs nothing.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    match LEFT.get() {
        Some(0) => spent(cx),
        // The unit is taken only when the operation makes progress: no
        // write here, and nothing to give back when it waits.
        Some(_) => Poll::Ready(RestoreOnPending {
            restore: Restore::Own,
            _not_send: PhantomData,
        }),
        None => foreign(cx),
    }
}

/// The budget is spent: yield.
#[cold]
#[inline(never)]
fn spent(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    cx.waker().wake_by_ref();
    Poll::Pending
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
        restore: Restore::Own,
        _not_send: PhantomData,
    })
}

enum Restore {
    /// sockwq's budget (or none): a unit is taken from `LEFT` when the
    /// operation makes progress.
    Own,
    /// tokio's: it took the unit already and gives it back on drop unless
    /// told the operation made progress.
    #[cfg(feature = "tokio")]
    Tokio(::tokio::task::coop::RestoreOnPending),
}

/// The permission [`poll_proceed`] gives one IO operation. Spend its unit
/// with [`made_progress`](RestoreOnPending::made_progress); dropped without
/// that, the operation costs no budget.
#[must_use = "an operation that made progress must call `made_progress`"]
pub struct RestoreOnPending {
    restore: Restore,
    // The budget is per thread: the guard must be dropped where it was made.
    _not_send: PhantomData<*const ()>,
}

impl RestoreOnPending {
    /// The operation made progress: spend its unit.
    #[inline]
    pub fn made_progress(&self) {
        match &self.restore {
            Restore::Own => {
                if let Some(n) = LEFT.get() {
                    // Saturating: an operation nested inside another (its IO
                    // closure polling a second source) may have spent the
                    // last unit in between.
                    LEFT.set(Some(n.saturating_sub(1)));
                }
            }
            #[cfg(feature = "tokio")]
            Restore::Tokio(r) => r.made_progress(),
        }
    }
}

impl std::fmt::Debug for RestoreOnPending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.restore {
            Restore::Own => "sockwq",
            #[cfg(feature = "tokio")]
            Restore::Tokio(_) => "tokio",
        };
        f.debug_struct("RestoreOnPending").field("budget", &kind).finish()
    }
}

/// Whether the current task has budget left (always true outside a
/// budget scope and outside tokio).
pub fn has_budget_remaining() -> bool {
    match LEFT.get() {
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
