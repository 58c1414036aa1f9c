//! [`Instant`]: tokio's `time::Instant`, a newtype of
//! [`std::time::Instant`].

use std::fmt;
use std::ops;
use std::time::Duration;

/// A measurement of the monotonic clock, as `tokio::time::Instant`: the
/// same methods and operators, convertible to and from
/// [`std::time::Instant`] ([`from_std`](Instant::from_std),
/// [`into_std`](Instant::into_std), `From` both ways).
///
/// Subtracting a later instant saturates to zero, as in tokio.
///
/// ```
/// use std::time::Duration;
/// use sockwq_runtime::time::Instant;
///
/// let start = Instant::now();
/// let later = start + Duration::from_millis(5);
/// assert_eq!(later - start, Duration::from_millis(5));
/// assert_eq!(start - later, Duration::ZERO);
/// let std_instant: std::time::Instant = later.into_std();
/// assert_eq!(Instant::from_std(std_instant), later);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    std: std::time::Instant,
}

impl Instant {
    /// The current instant.
    ///
    /// ```
    /// let a = sockwq_runtime::time::Instant::now();
    /// assert!(sockwq_runtime::time::Instant::now() >= a);
    /// ```
    pub fn now() -> Instant {
        Instant {
            std: std::time::Instant::now(),
        }
    }

    /// Wraps a [`std::time::Instant`].
    ///
    /// ```
    /// let s = std::time::Instant::now();
    /// assert_eq!(sockwq_runtime::time::Instant::from_std(s).into_std(), s);
    /// ```
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant { std }
    }

    /// The [`std::time::Instant`] inside.
    ///
    /// ```
    /// let i = sockwq_runtime::time::Instant::now();
    /// let s: std::time::Instant = i.into_std();
    /// assert_eq!(s, i.into());
    /// ```
    pub fn into_std(self) -> std::time::Instant {
        self.std
    }

    /// The time elapsed from `earlier` to `self`; zero if `earlier` is
    /// later.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::time::Instant;
    /// let a = Instant::now();
    /// let b = a + Duration::from_secs(1);
    /// assert_eq!(b.duration_since(a), Duration::from_secs(1));
    /// assert_eq!(a.duration_since(b), Duration::ZERO);
    /// ```
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// The time elapsed from `earlier` to `self`, or `None` if `earlier`
    /// is later.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::time::Instant;
    /// let a = Instant::now();
    /// let b = a + Duration::from_secs(1);
    /// assert_eq!(b.checked_duration_since(a), Some(Duration::from_secs(1)));
    /// assert_eq!(a.checked_duration_since(b), None);
    /// ```
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.std.checked_duration_since(earlier.std)
    }

    /// The time elapsed from `earlier` to `self`; zero if `earlier` is
    /// later.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sockwq_runtime::time::Instant;
    /// let a = Instant::now();
    /// assert_eq!(a.saturating_duration_since(a + Duration::from_secs(1)), Duration::ZERO);
    /// ```
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// The time elapsed since `self` (zero if `self` is in the future).
    ///
    /// ```
    /// let a = sockwq_runtime::time::Instant::now();
    /// std::thread::sleep(std::time::Duration::from_millis(1));
    /// assert!(a.elapsed() >= std::time::Duration::from_millis(1));
    /// ```
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, or `None` if that cannot be represented.
    ///
    /// ```
    /// use std::time::Duration;
    /// let a = sockwq_runtime::time::Instant::now();
    /// assert!(a.checked_add(Duration::from_secs(1)).is_some());
    /// assert!(a.checked_add(Duration::MAX).is_none());
    /// ```
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_add(duration).map(Instant::from_std)
    }

    /// `self - duration`, or `None` if that cannot be represented.
    ///
    /// ```
    /// use std::time::Duration;
    /// let a = sockwq_runtime::time::Instant::now();
    /// assert!(a.checked_sub(Duration::MAX).is_none());
    /// ```
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_sub(duration).map(Instant::from_std)
    }

    /// About 30 years from now: what tokio uses for "never".
    pub(crate) fn far_future() -> Instant {
        Instant::now() + Duration::from_secs(86400 * 365 * 30)
    }

    /// `self + duration`, or [`far_future`](Instant::far_future) when that
    /// overflows: a deadline too far to represent is as good as never.
    pub(crate) fn saturating_add(self, duration: Duration) -> Instant {
        self.checked_add(duration).unwrap_or_else(Instant::far_future)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(time: std::time::Instant) -> Instant {
        Instant::from_std(time)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(time: Instant) -> std::time::Instant {
        time.into_std()
    }
}

impl ops::Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// On overflow, as `std::time::Instant`'s.
    fn add(self, other: Duration) -> Instant {
        Instant::from_std(self.std + other)
    }
}

impl ops::AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl ops::Sub for Instant {
    type Output = Duration;

    /// Saturates to zero when `rhs` is later (tokio's behaviour).
    fn sub(self, rhs: Instant) -> Duration {
        self.std.saturating_duration_since(rhs.std)
    }
}

impl ops::Sub<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// On overflow, as `std::time::Instant`'s.
    fn sub(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std - rhs)
    }
}

impl ops::SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}
