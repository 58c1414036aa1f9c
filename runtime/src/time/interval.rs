//! [`Interval`] and [`MissedTickBehavior`], with tokio's semantics.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use super::{Instant, Sleep, sleep_until};

/// Longest period or delay: about 30 years (tokio's `safe_delay`).
const MAX_DELAY: Duration = Duration::from_secs(86400 * 365 * 30);

/// A tick later than this past its schedule counts as missed (tokio's
/// tolerance): only then does the [`MissedTickBehavior`] apply.
const MISSED_TOLERANCE: Duration = Duration::from_millis(5);

/// An [`Interval`] whose first tick is now, and then every `period`.
///
/// The missed-tick behaviour is [`MissedTickBehavior::Burst`], as in
/// tokio. A period longer than about 30 years is clamped to that.
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
///     let first = iv.tick().await; // at once
///     let second = iv.tick().await;
///     assert_eq!(second - first, Duration::from_millis(1));
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "`period` must be non-zero.");
    interval_at(Instant::now(), period)
}

/// An [`Interval`] whose first tick is at `start`, and then every `period`.
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
/// use sockwq_runtime::{block_on, time};
/// block_on(async {
///     let start = time::Instant::now() + Duration::from_millis(1);
///     let mut iv = time::interval_at(start, Duration::from_millis(1));
///     assert_eq!(iv.tick().await, start);
/// });
/// ```
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "`period` must be non-zero.");
    Interval {
        sleep: sleep_until(start),
        period: period.min(MAX_DELAY),
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when a tick is missed: when it is polled more
/// than 5 ms after a tick was due (the task was busy, or the machine was).
///
/// Exactly tokio's three behaviours. With a period of 10 ms, ticks due at
/// 0, 10, 20, ..., and a tick at 10 first polled at 35:
///
/// | behaviour | ticks returned, and when they are ready |
/// |---|---|
/// | `Burst` (default) | 10, 20, 30 at once (at 35), then 40, 50, ... on the original schedule |
/// | `Delay` | 10 at once, then 45, 55, ... (one period after each late poll) |
/// | `Skip` | 10 at once, then 40, 50, ... (the next one due on the original schedule) |
///
/// The instant a tick returns is always the one it was scheduled for.
///
/// ```
/// use std::time::Duration;
/// use sockwq_runtime::time::{self, MissedTickBehavior};
/// sockwq_runtime::block_on(async {
///     let mut iv = time::interval(Duration::from_millis(10));
///     iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
///     assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Skip);
///     iv.tick().await;
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Ticks as fast as possible until caught up: the missed ticks are all
    /// returned at once, each with its scheduled instant, and the schedule
    /// does not move.
    #[default]
    Burst,
    /// The late tick is returned, and the schedule restarts from when it
    /// was polled: the next tick is one period later.
    Delay,
    /// The late tick is returned, the other missed ones are skipped, and
    /// the next tick is the next one due on the original schedule.
    Skip,
}

impl MissedTickBehavior {
    /// The next deadline after a tick scheduled for `timeout` was returned
    /// at `now`, more than the tolerance late (tokio's `next_timeout`).
    fn next_timeout(self, timeout: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => timeout.saturating_add(period),
            MissedTickBehavior::Delay => now.saturating_add(period),
            MissedTickBehavior::Skip => {
                let behind = (now - timeout).as_nanos() % period.as_nanos();
                // Below `period`, which is at most MAX_DELAY: fits in u64.
                let offset = Duration::from_nanos(behind as u64);
                now.saturating_add(period - offset)
            }
        }
    }
}

/// Ticks `period` apart; see [`interval`]. Await [`tick`](Interval::tick),
/// or use it as a `futures_core::Stream` of [`Instant`]s (it never ends).
///
/// A tick is never early, and returns the instant it was scheduled for.
///
/// ```
/// use std::time::Duration;
/// use futures_util::StreamExt;
/// use sockwq_runtime::{block_on, time};
/// block_on(async {
///     let ticks: Vec<_> = time::interval(Duration::from_micros(300)).take(3).collect().await;
///     assert_eq!(ticks[2] - ticks[0], Duration::from_micros(600));
/// });
/// ```
#[derive(Debug)]
pub struct Interval {
    sleep: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled
    /// for.
    ///
    /// Cancel safe: dropping the future before it completes loses no tick.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::{block_on, time};
    /// block_on(async {
    ///     let mut iv = time::interval(Duration::from_millis(1));
    ///     let t = iv.tick().await;
    ///     assert!(t <= time::Instant::now());
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick: `Ready(scheduled instant)` once it is due,
    /// else `Pending` (and `cx`'s waker is woken when it is).
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
        if self.sleep.poll_sleep(cx).is_pending() {
            return Poll::Pending;
        }
        let timeout = self.sleep.deadline();
        let now = Instant::now();
        let next = if now > timeout.saturating_add(MISSED_TOLERANCE) {
            self.missed_tick_behavior.next_timeout(timeout, now, self.period)
        } else {
            timeout.saturating_add(self.period)
        };
        // Not registered until the next poll.
        self.sleep.reset(next);
        Poll::Ready(timeout)
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::{block_on, time};
    /// block_on(async {
    ///     let mut iv = time::interval(Duration::from_millis(1));
    ///     let before = time::Instant::now();
    ///     iv.reset();
    ///     iv.tick().await;
    ///     assert!(before.elapsed() >= Duration::from_millis(1));
    /// });
    /// ```
    pub fn reset(&mut self) {
        self.sleep.reset(Instant::now().saturating_add(self.period));
    }

    /// Restarts the schedule: the next tick is now.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::{block_on, time};
    /// block_on(async {
    ///     let mut iv = time::interval(Duration::from_secs(3600));
    ///     iv.tick().await;
    ///     iv.reset_immediately();
    ///     iv.tick().await; // not an hour later
    /// });
    /// ```
    pub fn reset_immediately(&mut self) {
        self.sleep.reset(Instant::now());
    }

    /// Restarts the schedule: the next tick is `after` from now.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::{block_on, time};
    /// block_on(async {
    ///     let mut iv = time::interval(Duration::from_secs(3600));
    ///     let before = time::Instant::now();
    ///     iv.reset_after(Duration::from_millis(2));
    ///     let t = iv.tick().await;
    ///     assert!(t >= before + Duration::from_millis(2));
    /// });
    /// ```
    pub fn reset_after(&mut self, after: Duration) {
        self.sleep
            .reset(Instant::now().saturating_add(after.min(MAX_DELAY)));
    }

    /// Restarts the schedule: the next tick is at `deadline`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::{block_on, time};
    /// block_on(async {
    ///     let mut iv = time::interval(Duration::from_secs(3600));
    ///     let at = time::Instant::now() + Duration::from_millis(1);
    ///     iv.reset_at(at);
    ///     assert_eq!(iv.tick().await, at);
    /// });
    /// ```
    pub fn reset_at(&mut self, deadline: Instant) {
        self.sleep.reset(deadline);
    }

    /// The behaviour on missed ticks.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::time::{self, MissedTickBehavior};
    /// let iv = time::interval(Duration::from_millis(5));
    /// assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets the behaviour on missed ticks.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::time::{self, MissedTickBehavior};
    /// let mut iv = time::interval(Duration::from_millis(5));
    /// iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
    /// assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Delay);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
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
}

impl Stream for Interval {
    type Item = Instant;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
