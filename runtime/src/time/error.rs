//! Time errors, at tokio's path (`time::error::Elapsed`).

use std::fmt;

/// The error of a [`timeout`](super::timeout) whose deadline passed
/// before its future completed.
///
/// Converts into an [`std::io::Error`] of kind
/// [`TimedOut`](std::io::ErrorKind::TimedOut), as tokio's does.
///
/// ```
/// use std::time::Duration;
/// use sockwq_runtime::{block_on, time};
/// let r = block_on(time::timeout(Duration::from_millis(1), std::future::pending::<()>()));
/// let err: time::error::Elapsed = r.unwrap_err();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl Elapsed {
    pub(crate) fn new() -> Elapsed {
        Elapsed(())
    }
}

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
