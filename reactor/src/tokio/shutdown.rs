//! The error IO on a tokio-driven reactor returns once its runtime has shut
//! down: the one tokio's own sockets return, so that
//! `tokio::runtime::is_rt_shutdown_err` recognizes it.
//!
//! That check (tokio 1.54, `runtime/runtime.rs`) accepts an `io::Error` of
//! kind `Other` carrying an inner error that has no `source()` and whose
//! `Display` is exactly tokio's message for a runtime being shut down.
//! [`RuntimeShutdown`] is such an error, and what it says is true of the
//! reactor: it belonged to a tokio runtime, and that runtime is gone.

use std::fmt;
use std::io;

/// tokio 1.x's message for IO on a runtime that is shutting down
/// (`util::error::RUNTIME_SHUTTING_DOWN_ERROR`).
const MESSAGE: &str = "A Tokio 1.x context was found, but it is being shutdown.";

/// The reactor's tokio runtime has shut down.
#[derive(Debug, Clone, Copy)]
struct RuntimeShutdown;

impl fmt::Display for RuntimeShutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MESSAGE)
    }
}

impl std::error::Error for RuntimeShutdown {}

/// IO on a reactor whose tokio runtime has shut down.
pub(super) fn error() -> io::Error {
    io::Error::other(RuntimeShutdown)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokio_recognizes_it() {
        assert!(::tokio::runtime::is_rt_shutdown_err(&super::error()));
    }
}
