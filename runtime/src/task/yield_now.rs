//! [`yield_now`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::context;

/// Yields to the runtime once: the task is polled again after the core
/// has looked at its sockets and timers (a non-blocking reactor turn) and
/// run the tasks already queued, as tokio's `yield_now` does. Outside a
/// sockwq core it wakes the task at once and returns `Pending`.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use sockwq_runtime::{block_on, spawn_local, task};
/// block_on(async {
///     let ran = Rc::new(Cell::new(false));
///     let r = ran.clone();
///     let other = spawn_local(async move { r.set(true) });
///     task::yield_now().await; // lets `other` run
///     assert!(ran.get());
///     other.await.unwrap();
/// });
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        if context::with_core(|core| core.defer(cx.waker())).is_none() {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}
