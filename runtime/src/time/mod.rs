//! Timers of the sockwq runtime: [`sleep`], [`sleep_until`], [`timeout`],
//! [`interval`].
//!
//! Each core (a worker, or a `block_on` thread) keeps its own timers; the
//! nearest deadline is the timeout of its `epoll_wait`, with nanosecond
//! resolution, so a 200 µs sleep is not rounded up to a millisecond. A
//! timer never fires before its deadline (it may fire later on a busy
//! machine).
//!
//! These futures must be polled on a thread that runs a sockwq runtime
//! (inside [`block_on`](crate::block_on), a runtime's worker, or
//! [`Runtime::block_on`](crate::Runtime::block_on)); polling one anywhere
//! else panics, as tokio's do outside a tokio runtime.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sockwq_runtime::{block_on, time};
//!
//! block_on(async {
//!     let start = Instant::now();
//!     time::sleep(Duration::from_micros(200)).await;
//!     assert!(start.elapsed() >= Duration::from_micros(200));
//!
//!     let slow = time::sleep(Duration::from_secs(10));
//!     assert!(time::timeout(Duration::from_millis(1), slow).await.is_err());
//! });
//! ```

pub(crate) mod timers;

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use crate::context;
use timers::TimerKey;

/// Waits until `duration` has elapsed.
///
/// ```
/// use std::time::Duration;
/// sockwq_runtime::block_on(async {
///     sockwq_runtime::time::sleep(Duration::from_millis(1)).await;
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    // A deadline too far to represent is as good as never.
    let deadline = Instant::now().checked_add(duration).unwrap_or_else(far_future);
    sleep_until(deadline)
}

/// Waits until `deadline`.
///
/// ```
/// use std::time::{Duration, Instant};
/// sockwq_runtime::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(1);
///     sockwq_runtime::time::sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
    }
}

fn far_future() -> Instant {
    // About 30 years: what tokio uses for "never".
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// Registers with the timers of the core it is first polled on; dropping
/// it cancels the timer.
///
/// ```
/// use std::time::{Duration, Instant};
/// sockwq_runtime::block_on(async {
///     let mut s = sockwq_runtime::time::sleep(Duration::from_secs(60));
///     s.reset(Instant::now() + Duration::from_millis(1));
///     s.await;
/// });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Instant,
    /// The registered timer: (core id, key).
    entry: Option<(usize, TimerKey)>,
}

impl Sleep {
    /// The instant this sleep ends.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let d = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(sockwq_runtime::time::sleep_until(d).deadline(), d);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(!sockwq_runtime::time::sleep(Duration::from_secs(60)).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline (earlier or later), as if newly created.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let mut s = sockwq_runtime::time::sleep(Duration::from_secs(60));
    /// s.reset(Instant::now());
    /// assert!(s.is_elapsed());
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    fn cancel(&mut self) {
        if let Some((core_id, key)) = self.entry.take() {
            // An entry on another core (the future moved) cannot be reached
            // from here; it fires once, waking a waker that ignores it.
            context::with_core(|core| {
                if core.remote.id == core_id {
                    core.timers.borrow_mut().remove(key);
                }
            });
        }
    }

    pub(crate) fn poll_sleep(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            self.cancel();
            return Poll::Ready(());
        }
        let deadline = self.deadline;
        let entry = self.entry;
        let registered = context::with_core(|core| {
            let mut timers = core.timers.borrow_mut();
            match entry {
                Some((id, key)) if id == core.remote.id && timers.update(key, cx.waker()) => entry,
                _ => Some((core.remote.id, timers.insert(deadline, cx.waker()))),
            }
        });
        match registered {
            Some(e) => self.entry = e,
            None => panic!(
                "sockwq: a timer was polled outside a sockwq runtime \
                 (use sockwq::block_on, a Runtime, or a task spawned on one)"
            ),
        }
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_sleep(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// The error of a [`timeout`] whose deadline passed first.
///
/// ```
/// use std::time::Duration;
/// use sockwq_runtime::{block_on, time};
/// let r = block_on(time::timeout(Duration::from_millis(1), std::future::pending::<()>()));
/// let err: time::Elapsed = r.unwrap_err();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}

/// Runs `future` for at most `duration`: its output, or [`Elapsed`].
///
/// The future is polled first, so one that is ready right away wins even
/// with a zero duration.
///
/// ```
/// use std::time::Duration;
/// use sockwq_runtime::{block_on, time};
/// assert_eq!(block_on(time::timeout(Duration::from_secs(1), async { 7 })), Ok(7));
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
/// use std::time::Instant;
/// use sockwq_runtime::{block_on, time};
/// let r = block_on(time::timeout_at(Instant::now(), std::future::pending::<()>()));
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

    /// Unwraps the future.
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
        // pinned `Timeout` (`into_inner` takes `self` by value, which a
        // pinned value cannot give), `Timeout` has no `Drop` impl, and it is
        // `Unpin` only when `F` is. `sleep` is `Unpin` and not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `future` stays where it is.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(v) = future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match this.sleep.poll_sleep(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A stream of instants `period` apart, the first one immediately.
///
/// Ticks are never early. A late tick (the task was busy) is followed by
/// the missed ones at once, each on its own schedule (tokio's default
/// `MissedTickBehavior::Burst`).
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
/// use sockwq_runtime::{block_on, time};
/// block_on(async {
///     let mut iv = time::interval(Duration::from_millis(1));
///     let first = iv.tick().await;
///     let second = iv.tick().await;
///     assert!(second - first >= Duration::from_millis(1));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Like [`interval`], with the first tick at `start`.
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::{Duration, Instant};
/// use sockwq_runtime::{block_on, time};
/// block_on(async {
///     let start = Instant::now() + Duration::from_millis(1);
///     let mut iv = time::interval_at(start, Duration::from_millis(1));
///     assert_eq!(iv.tick().await, start);
/// });
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "sockwq: interval period must be non-zero");
    Interval {
        sleep: sleep_until(start),
        period,
    }
}

/// The stream of [`interval`]: await [`tick`](Interval::tick), or use it as
/// a `futures_core::Stream` of `Instant`s (it never ends).
///
/// ```
/// use std::time::Duration;
/// use futures_util::StreamExt;
/// use sockwq_runtime::{block_on, time};
/// block_on(async {
///     let ticks: Vec<_> = time::interval(Duration::from_micros(300)).take(3).collect().await;
///     assert!(ticks[2] - ticks[0] >= Duration::from_micros(600));
/// });
/// ```
#[derive(Debug)]
pub struct Interval {
    sleep: Sleep,
    period: Duration,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use sockwq_runtime::{block_on, time};
    /// block_on(async {
    ///     let mut iv = time::interval(Duration::from_millis(1));
    ///     let t = iv.tick().await;
    ///     assert!(t <= Instant::now());
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::{block_on, time};
    /// block_on(async {
    ///     let mut iv = time::interval(Duration::from_millis(1));
    ///     std::future::poll_fn(|cx| iv.poll_tick(cx)).await;
    /// });
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        match self.sleep.poll_sleep(cx) {
            Poll::Ready(()) => {
                let tick = self.sleep.deadline();
                let next = tick.checked_add(self.period).unwrap_or_else(far_future);
                self.sleep.reset(next);
                Poll::Ready(tick)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// The period.
    ///
    /// ```
    /// use std::time::Duration;
    /// let iv = sockwq_runtime::time::interval(Duration::from_millis(5));
    /// assert_eq!(iv.period(), Duration::from_millis(5));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use sockwq_runtime::{block_on, time};
    /// block_on(async {
    ///     let mut iv = time::interval(Duration::from_millis(1));
    ///     let before = Instant::now();
    ///     iv.reset();
    ///     iv.tick().await;
    ///     assert!(before.elapsed() >= Duration::from_millis(1));
    /// });
    /// ```
    pub fn reset(&mut self) {
        let next = Instant::now().checked_add(self.period).unwrap_or_else(far_future);
        self.sleep.reset(next);
    }
}

impl Stream for Interval {
    type Item = Instant;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
