//! [`Interest`] (what a task waits for) and [`Ready`] (what the kernel said).

use std::fmt;
use std::ops;

/// What a task waits for on a [`Source`](crate::Source): any union of
/// [`READABLE`](Interest::READABLE), [`WRITABLE`](Interest::WRITABLE),
/// [`PRIORITY`](Interest::PRIORITY) and [`ERROR`](Interest::ERROR).
///
/// ```
/// use sockwq_reactor::Interest;
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u8);

impl Interest {
    /// Data (or a connection, or EOF) can be read.
    pub const READABLE: Interest = Interest(0b0001);
    /// Data can be written.
    pub const WRITABLE: Interest = Interest(0b0010);
    /// Priority / out-of-band data (`EPOLLPRI`) is pending.
    pub const PRIORITY: Interest = Interest(0b0100);
    /// An error is pending on the socket (`EPOLLERR`).
    pub const ERROR: Interest = Interest(0b1000);

    /// Whether the readable interest is included.
    pub const fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }
    /// Whether the writable interest is included.
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }
    /// Whether the priority interest is included.
    pub const fn is_priority(self) -> bool {
        self.0 & Self::PRIORITY.0 != 0
    }
    /// Whether the error interest is included.
    pub const fn is_error(self) -> bool {
        self.0 & Self::ERROR.0 != 0
    }
    /// The union of two interests.
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
    /// `self` without `other`; `None` if nothing is left.
    #[must_use]
    pub const fn remove(self, other: Interest) -> Option<Interest> {
        let v = self.0 & !other.0;
        if v == 0 { None } else { Some(Interest(v)) }
    }

    /// The readiness bits that satisfy this interest. Closed and error
    /// states satisfy readers and writers too: the next syscall reports them.
    /// A table lookup: this runs on every poll.
    #[inline]
    pub(crate) const fn mask(self) -> Ready {
        Ready(MASKS[(self.0 & 0xf) as usize])
    }

    const fn compute_mask(self) -> Ready {
        let mut m = 0;
        if self.is_readable() {
            m |= Ready::READABLE.0 | Ready::READ_CLOSED.0 | Ready::ERROR.0;
        }
        if self.is_writable() {
            m |= Ready::WRITABLE.0 | Ready::WRITE_CLOSED.0 | Ready::ERROR.0;
        }
        if self.is_priority() {
            m |= Ready::PRIORITY.0 | Ready::READ_CLOSED.0 | Ready::ERROR.0;
        }
        if self.is_error() {
            m |= Ready::ERROR.0;
        }
        Ready(m)
    }
}

/// [`Interest::mask`] of every interest, computed at compile time.
const MASKS: [u8; 16] = {
    let mut t = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        t[i] = Interest(i as u8).compute_mask().0;
        i += 1;
    }
    t
};

impl ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        self.add(rhs)
    }
}

impl ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, rhs: Interest) {
        *self = self.add(rhs);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = false;
        for (flag, name) in [
            (Self::READABLE, "READABLE"),
            (Self::WRITABLE, "WRITABLE"),
            (Self::PRIORITY, "PRIORITY"),
            (Self::ERROR, "ERROR"),
        ] {
            if self.0 & flag.0 != 0 {
                if sep {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                sep = true;
            }
        }
        Ok(())
    }
}

#[cfg(feature = "tokio")]
impl From<tokio::io::Interest> for Interest {
    fn from(i: tokio::io::Interest) -> Interest {
        let mut out = Interest(0);
        if i.is_readable() {
            out |= Interest::READABLE;
        }
        if i.is_writable() {
            out |= Interest::WRITABLE;
        }
        if i.is_priority() {
            out |= Interest::PRIORITY;
        }
        if i.is_error() {
            out |= Interest::ERROR;
        }
        out
    }
}

/// The epoll bits [`Ready::from_epoll_event`] translates by table.
const EPOLL_TABLE_BITS: u32 =
    (libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP | libc::EPOLLRDHUP)
        as u32;

/// The table index of an event within [`EPOLL_TABLE_BITS`]: its five low
/// bits (`IN PRI OUT ERR HUP`), and `EPOLLRDHUP` (bit 13) as bit 5.
const fn epoll_index(ev: u32) -> usize {
    ((ev & 0x1f) | ((ev >> 8) & 0x20)) as usize
}

/// `Ready::from_epoll` of every event [`epoll_index`] can tell apart.
const EPOLL_TABLE: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        let ev = (i as u32 & 0x1f) | if i & 0x20 != 0 { libc::EPOLLRDHUP as u32 } else { 0 };
        t[i] = Ready::from_epoll(ev).0;
        i += 1;
    }
    t
};

/// Readiness of a [`Source`](crate::Source), as the reactor last recorded it.
///
/// ```
/// use sockwq_reactor::Ready;
/// let r = Ready::READABLE | Ready::READ_CLOSED;
/// assert!(r.is_readable() && r.is_read_closed() && !r.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ready(u8);

impl Ready {
    /// No readiness.
    pub const EMPTY: Ready = Ready(0);
    /// `EPOLLIN`: readable.
    pub const READABLE: Ready = Ready(1 << 0);
    /// `EPOLLOUT`: writable.
    pub const WRITABLE: Ready = Ready(1 << 1);
    /// `EPOLLPRI`: priority / out-of-band data.
    pub const PRIORITY: Ready = Ready(1 << 2);
    /// `EPOLLRDHUP` or `EPOLLHUP`: the read half is closed.
    pub const READ_CLOSED: Ready = Ready(1 << 3);
    /// `EPOLLHUP` (or `EPOLLERR`): the write half is closed.
    pub const WRITE_CLOSED: Ready = Ready(1 << 4);
    /// `EPOLLERR`: an error is pending.
    pub const ERROR: Ready = Ready(1 << 5);
    /// Every readiness bit.
    pub const ALL: Ready = Ready(0b11_1111);

    pub(crate) const fn from_bits(bits: u8) -> Ready {
        Ready(bits & Self::ALL.0)
    }
    pub(crate) const fn bits(self) -> u8 {
        self.0
    }

    /// [`from_epoll`](Self::from_epoll) by table: the dispatch loop's
    /// translation. Every bit an event of a sockwq registration can carry
    /// (`EPOLLIN`, `EPOLLPRI`, `EPOLLOUT`, `EPOLLERR`, `EPOLLHUP`,
    /// `EPOLLRDHUP`) indexes a 64-entry table computed by `from_epoll`
    /// itself; any other bit takes the branchy path.
    #[inline]
    pub(crate) fn from_epoll_event(ev: u32) -> Ready {
        if ev & !EPOLL_TABLE_BITS != 0 {
            return Self::from_epoll(ev);
        }
        Ready(EPOLL_TABLE[epoll_index(ev)])
    }

    /// Translates an epoll event mask, as mio does (and so tokio).
    ///
    /// Two of its closed states are what the fd type makes of them, and
    /// may not hold: `EPOLLIN | EPOLLRDHUP` is read-closed, also for a
    /// datagram socket after `shutdown(SHUT_RD)`, whose `recv` still says
    /// `EAGAIN`; `EPOLLERR | EPOLLOUT` is write-closed (a pipe whose readers
    /// are gone), also for a UDP socket with a pending ICMP error, which
    /// sends fine once the error is taken. The mapping stays, and a
    /// `WouldBlock` clears the closed bits it contradicts
    /// ([`Source::clear_readiness`](crate::Source::clear_readiness)).
    pub(crate) const fn from_epoll(ev: u32) -> Ready {
        let mut r = 0u8;
        if ev & (libc::EPOLLIN as u32) != 0 {
            r |= Self::READABLE.0;
        }
        if ev & (libc::EPOLLPRI as u32) != 0 {
            r |= Self::PRIORITY.0;
        }
        if ev & (libc::EPOLLOUT as u32) != 0 {
            r |= Self::WRITABLE.0;
        }
        let hup = ev & (libc::EPOLLHUP as u32) != 0;
        let err = ev & (libc::EPOLLERR as u32) != 0;
        if hup || ev & (libc::EPOLLRDHUP as u32) != 0 {
            r |= Self::READ_CLOSED.0;
        }
        if hup || (err && ev & (libc::EPOLLOUT as u32) != 0) || ev == libc::EPOLLERR as u32 {
            r |= Self::WRITE_CLOSED.0;
        }
        if err {
            r |= Self::ERROR.0;
        }
        Ready(r)
    }

    /// Whether nothing is ready.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Whether the readable bit is set.
    pub const fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }
    /// Whether the writable bit is set.
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }
    /// Whether the priority bit is set.
    pub const fn is_priority(self) -> bool {
        self.0 & Self::PRIORITY.0 != 0
    }
    /// Whether the read half is closed.
    pub const fn is_read_closed(self) -> bool {
        self.0 & Self::READ_CLOSED.0 != 0
    }
    /// Whether the write half is closed.
    pub const fn is_write_closed(self) -> bool {
        self.0 & Self::WRITE_CLOSED.0 != 0
    }
    /// Whether an error is pending.
    pub const fn is_error(self) -> bool {
        self.0 & Self::ERROR.0 != 0
    }
    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }
    /// The intersection of `self` and `other`.
    #[must_use]
    pub const fn intersection(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for Ready {
    fn bitor_assign(&mut self, rhs: Ready) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, rhs: Ready) -> Ready {
        Ready(self.0 & rhs.0)
    }
}

impl ops::Sub for Ready {
    type Output = Ready;
    fn sub(self, rhs: Ready) -> Ready {
        Ready(self.0 & !rhs.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("EMPTY");
        }
        let mut sep = false;
        for (flag, name) in [
            (Self::READABLE, "READABLE"),
            (Self::WRITABLE, "WRITABLE"),
            (Self::PRIORITY, "PRIORITY"),
            (Self::READ_CLOSED, "READ_CLOSED"),
            (Self::WRITE_CLOSED, "WRITE_CLOSED"),
            (Self::ERROR, "ERROR"),
        ] {
            if self.0 & flag.0 != 0 {
                if sep {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                sep = true;
            }
        }
        Ok(())
    }
}

#[cfg(feature = "tokio")]
impl From<Ready> for tokio::io::Ready {
    fn from(r: Ready) -> tokio::io::Ready {
        let mut out = tokio::io::Ready::EMPTY;
        for (ours, theirs) in [
            (Ready::READABLE, tokio::io::Ready::READABLE),
            (Ready::WRITABLE, tokio::io::Ready::WRITABLE),
            (Ready::PRIORITY, tokio::io::Ready::PRIORITY),
            (Ready::READ_CLOSED, tokio::io::Ready::READ_CLOSED),
            (Ready::WRITE_CLOSED, tokio::io::Ready::WRITE_CLOSED),
            (Ready::ERROR, tokio::io::Ready::ERROR),
        ] {
            if r.contains(ours) {
                out |= theirs;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoll_translation() {
        let r = Ready::from_epoll((libc::EPOLLIN | libc::EPOLLRDHUP) as u32);
        assert_eq!(r, Ready::READABLE | Ready::READ_CLOSED);
        let r = Ready::from_epoll(libc::EPOLLERR as u32);
        assert_eq!(r, Ready::WRITE_CLOSED | Ready::ERROR);
        let r = Ready::from_epoll((libc::EPOLLHUP | libc::EPOLLOUT) as u32);
        assert_eq!(r, Ready::WRITABLE | Ready::READ_CLOSED | Ready::WRITE_CLOSED);
        assert_eq!(Ready::from_epoll(libc::EPOLLPRI as u32), Ready::PRIORITY);
    }

    #[test]
    fn epoll_table_matches_the_rules() {
        // Every combination of the bits the table covers, and some with a
        // bit it does not (those take the branchy path).
        for low in 0..0x40u32 {
            let ev = (low & 0x1f)
                | if low & 0x20 != 0 {
                    libc::EPOLLRDHUP as u32
                } else {
                    0
                };
            for extra in [0, libc::EPOLLRDNORM as u32, libc::EPOLLWRNORM as u32, 1 << 30] {
                assert_eq!(
                    Ready::from_epoll_event(ev | extra),
                    Ready::from_epoll(ev | extra),
                    "epoll event {:#x}",
                    ev | extra
                );
            }
        }
    }

    #[test]
    fn mask_table_matches_the_rules() {
        for i in 1..16u8 {
            assert_eq!(
                Interest(i).mask(),
                Interest(i).compute_mask(),
                "interest bits {i:#06b}"
            );
        }
    }

    #[test]
    fn masks() {
        assert!(Interest::READABLE.mask().contains(Ready::READ_CLOSED));
        assert!(!Interest::READABLE.mask().is_writable());
        assert!(Interest::WRITABLE.mask().contains(Ready::WRITE_CLOSED));
        assert_eq!(Interest::ERROR.mask(), Ready::ERROR);
        assert_eq!(Interest::READABLE.remove(Interest::READABLE), None);
        assert_eq!(
            format!("{:?}", Interest::READABLE | Interest::PRIORITY),
            "READABLE | PRIORITY"
        );
    }
}
