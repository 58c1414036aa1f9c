//! What fasync asks the kernel about a socket when a channel attaches to
//! it (never on the dispatch path): its type, whether it listens, its TCP
//! state, and its readiness right now.

use std::io;
use std::mem::size_of;
use std::os::fd::RawFd;

use super::syscall;

/// `getsockopt(fd, level, name)` for an `int` option.
fn int_opt(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are live locals of the sizes passed; the kernel
    // writes at most `len` bytes into `v`. A bad fd yields EBADF/ENOTSOCK.
    syscall!(unsafe { libc::getsockopt(fd, level, name, (&raw mut v).cast(), &raw mut len) })?;
    Ok(v)
}

/// A socket's `SO_TYPE`, `SO_DOMAIN` and `SO_ACCEPTCONN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SockInfo {
    pub(crate) ty: libc::c_int,
    pub(crate) domain: libc::c_int,
    pub(crate) listening: bool,
}

/// The socket's type, family and listening state; `ENOTSOCK` for other fds.
pub(crate) fn sock_info(fd: RawFd) -> io::Result<SockInfo> {
    Ok(SockInfo {
        ty: int_opt(fd, libc::SOL_SOCKET, libc::SO_TYPE)?,
        domain: int_opt(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)?,
        listening: int_opt(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN)? != 0,
    })
}

/// `TCP_SYN_SENT` from include/net/tcp_states.h: a connect is in flight.
pub(crate) const TCP_SYN_SENT: u8 = 2;

/// The TCP state (`tcpi_state`, the first byte of `struct tcp_info`).
pub(crate) fn tcp_state(fd: RawFd) -> io::Result<u8> {
    // `struct tcp_info` grows with kernel versions; the kernel copies at most
    // `len` bytes, and `tcpi_state` is its first byte in every version.
    let mut buf = [0u8; 64];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` and `len` are live locals; the kernel writes at most
    // `len` bytes into `buf`.
    syscall!(unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            buf.as_mut_ptr().cast(),
            &raw mut len,
        )
    })?;
    if len == 0 {
        return Err(io::Error::from(io::ErrorKind::InvalidData));
    }
    Ok(buf[0])
}

/// The fd's readiness now, as epoll would report it (`EPOLL*` bits), from
/// a zero-timeout `poll(2)`.
pub(crate) fn readiness_now(fd: RawFd) -> io::Result<u32> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN | libc::POLLPRI | libc::POLLOUT | libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one live `pollfd`, count 1, zero timeout (never blocks).
    syscall!(unsafe { libc::poll(&raw mut pfd, 1, 0) })?;
    if pfd.revents & libc::POLLNVAL != 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // poll(2) and epoll use different constants on a few architectures:
    // translate bit by bit.
    let map = [
        (libc::POLLIN, libc::EPOLLIN),
        (libc::POLLPRI, libc::EPOLLPRI),
        (libc::POLLOUT, libc::EPOLLOUT),
        (libc::POLLERR, libc::EPOLLERR),
        (libc::POLLHUP, libc::EPOLLHUP),
        (libc::POLLRDHUP, libc::EPOLLRDHUP),
    ];
    Ok(map
        .iter()
        .filter(|(p, _)| pfd.revents & *p != 0)
        .fold(0u32, |acc, (_, e)| acc | *e as u32))
}
