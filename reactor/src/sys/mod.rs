//! The syscall layer: epoll, eventfd, the few fcntl calls the reactor
//! needs, and what fasync asks about a socket when it attaches. This is
//! the only module that issues raw syscalls; every `unsafe` block here
//! says why it is sound.

mod epoll;
mod eventfd;
mod sockinfo;

pub(crate) use epoll::{Epoll, Events};
pub(crate) use eventfd::EventFd;
pub(crate) use sockinfo::{TCP_SYN_SENT, readiness_now, sock_info, tcp_state};

use std::io;
use std::os::fd::RawFd;

/// Turns a libc return value of -1 into the thread's `errno` as an `io::Error`.
///
/// The call is written `syscall!(unsafe { libc::name(args) } })`: the `unsafe`
/// block stays at the call site, where clippy's `undocumented_unsafe_blocks`
/// requires the `// SAFETY:` comment that says why that call is sound.
macro_rules! syscall {
    ($call:expr) => {{
        let res = $call;
        if res == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}
pub(crate) use syscall;

/// Puts `fd` into non-blocking mode (`O_NONBLOCK`), leaving its other status flags.
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL takes no pointer argument; a bad fd yields EBADF.
    let flags = syscall!(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: F_SETFL takes an int argument; a bad fd yields EBADF.
        syscall!(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    }
    Ok(())
}
