//! [`Timeout`]: a future with a deadline.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::error::Elapsed;
use super::{Instant, Sleep, sleep, sleep_until};

/// Runs `future` for at most `duration`: its output, or [`Elapsed`].
///
/// The future is polled first, so one that is ready right away wins even
/// with a zero duration. A duration too long to represent never elapses.
///
/// ```
/// use std::time::Duration;
/// use sockwq_runtime::{block_on, time};
/// assert_eq!(block_on(time::timeout(Duration::from_secs(1), async { 7 })), Ok(7));
/// // Under any executor.
/// let r = futures::executor::block_on(time::timeout(
///     Duration::from_millis(1),
///     std::future::pending::<()>(),
/// ));
/// assert!(r.is_err());
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: future.into_future(),
        sleep: sleep(duration),
    }
}

/// Like [`timeout`], with a deadline.
///
/// ```
/// use sockwq_runtime::{block_on, time};
/// let r = block_on(time::timeout_at(time::Instant::now(), std::future::pending::<()>()));
/// assert!(r.is_err());
/// ```
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: future.into_future(),
        sleep: sleep_until(deadline),
    }
}

/// The future of [`timeout`] and [`timeout_at`].
///
/// ```
/// use std::time::Duration;
/// use sockwq_runtime::{block_on, time};
/// let t: time::Timeout<_> = time::timeout(Duration::from_secs(1), async { 1 });
/// assert_eq!(block_on(t), Ok(1));
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = sockwq_runtime::time::timeout(Duration::from_secs(1), std::future::ready(3));
    /// let _inner: &std::future::Ready<i32> = t.get_ref();
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future, mutably.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut t = sockwq_runtime::time::timeout(Duration::from_secs(1), std::future::ready(3));
    /// let _inner: &mut std::future::Ready<i32> = t.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// Unwraps the future, dropping the deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = sockwq_runtime::time::timeout(Duration::from_secs(1), std::future::ready(3));
    /// assert_eq!(sockwq_runtime::block_on(t.into_inner()), 3);
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of `future`: it is never moved out of a
        // pinned `Timeout` (`into_inner` and `get_mut` need an unpinned
        // value, which a pinned `!Unpin` one cannot give), `Timeout` has no
        // `Drop` impl, and it is `Unpin` only when `F` is. `sleep` is
        // `Unpin` and not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `future` stays where it is.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(v) = future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match this.sleep.poll_sleep(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
            Poll::Pending => Poll::Pending,
        }
    }
}
