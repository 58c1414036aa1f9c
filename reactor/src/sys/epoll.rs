//! A thin wrapper over epoll(7), in the manner of mio's selector.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::syscall;

/// An epoll instance. Closed on drop.
#[derive(Debug)]
pub(crate) struct Epoll {
    fd: OwnedFd,
}

/// A reusable buffer for the events one `epoll_wait` returns.
pub(crate) struct Events {
    buf: Vec<libc::epoll_event>,
    len: usize,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("capacity", &self.buf.len())
            .field("len", &self.len)
            .finish()
    }
}

impl Events {
    pub(crate) fn with_capacity(cap: usize) -> Events {
        let cap = cap.clamp(1, i32::MAX as usize);
        Events {
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; cap],
            len: 0,
        }
    }

    /// The `(events, token)` pairs of the last wait.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.buf[..self.len].iter().map(|e| {
            // Copy out of the packed struct before use.
            let (ev, tok) = (e.events, e.u64);
            (ev, tok)
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// Whether the kernel lacks `epoll_pwait2` (added in Linux 5.11); then we
/// fall back to `epoll_wait` with the timeout rounded *up* to a millisecond.
static NO_PWAIT2: AtomicBool = AtomicBool::new(false);

impl Epoll {
    pub(crate) fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes only flags.
        let fd = syscall!(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        Ok(Epoll {
            // SAFETY: `fd` was just returned by the kernel and is owned by no one else.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// `EPOLL_CTL_ADD` of `fd` with `events`, carrying `token` back in each event.
    pub(crate) fn add(&self, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a valid epoll_event that lives across the call; the kernel
        // copies it. A bad `fd` yields EBADF, a duplicate EEXIST.
        syscall!(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })?;
        Ok(())
    }

    /// `EPOLL_CTL_DEL` of `fd`.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: since Linux 2.6.9 the event pointer may be null for DEL.
        syscall!(unsafe {
            libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut())
        })?;
        Ok(())
    }

    /// Waits for events; `None` waits forever. Retries on `EINTR` with the
    /// time that is left, so a signal neither ends the wait early with an
    /// error nor stretches it.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut left = timeout;
        loop {
            match self.wait_once(events, left) {
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {
                    if let Some(d) = deadline {
                        left = Some(d.saturating_duration_since(Instant::now()));
                    }
                }
                other => return other,
            }
        }
    }

    fn wait_once(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.len = 0;
        let max = events.buf.len() as libc::c_int;
        let ptr = events.buf.as_mut_ptr();
        let n = if !NO_PWAIT2.load(Ordering::Relaxed) {
            let ts = timeout.map(|d| libc::timespec {
                tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
                tv_nsec: d.subsec_nanos() as libc::c_long,
            });
            let ts_ptr = ts
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: `ptr` points to `max` writable epoll_events owned by `events`;
            // `ts_ptr` is null (infinite) or points to a timespec alive across the
            // call; a null sigmask means "do not change the mask".
            let r = unsafe {
                libc::syscall(
                    libc::SYS_epoll_pwait2,
                    self.fd.as_raw_fd(),
                    ptr,
                    max,
                    ts_ptr,
                    std::ptr::null::<libc::sigset_t>(),
                    0usize,
                )
            };
            if r == -1 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::ENOSYS) {
                    NO_PWAIT2.store(true, Ordering::Relaxed);
                    return self.wait_once(events, timeout);
                }
                return Err(e);
            }
            r as usize
        } else {
            let ms = match timeout {
                None => -1,
                // Round up: a 200 µs timer must not become a 0 ms busy poll.
                Some(d) => d.as_nanos().div_ceil(1_000_000).min(libc::c_int::MAX as u128) as libc::c_int,
            };
            // SAFETY: `ptr` points to `max` writable epoll_events owned by `events`.
            syscall!(unsafe { libc::epoll_wait(self.fd.as_raw_fd(), ptr, max, ms) })? as usize
        };
        events.len = n;
        Ok(())
    }
}

impl AsRawFd for Epoll {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
