//! SIGIO-style notices: the user-space twin of a socket's fasync list.
//!
//! A [`channel`] gives an [`Owner`] (the `F_SETOWN` process, so to speak)
//! and a [`Receiver`]. [`Owner::attach`] adds the channel to a socket's
//! fasync list — it lives in the socket's `SocketWq` (its wait queue),
//! reached by the dispatcher through the same lock-free `ArcSwap` load as
//! the readiness futures, and only when the state word says a subscriber
//! exists. Dropping the [`Subscription`] detaches it. A socket may be
//! attached to several channels.
//!
//! Which events make a notice follows the kernel's `sock_wake_async()`:
//!
//! | event | notice | rule |
//! |---|---|---|
//! | readable (data, a pending connection, a half-close) | `POLL_IN` | `SOCK_WAKE_WAITD`: only when no task is waiting for data on the socket |
//! | writable | `POLL_OUT` | `SOCK_WAKE_SPACE`: only if a write hit `WouldBlock` since the last `POLL_OUT` (the NOSPACE flag, test-and-clear) |
//! | error | `POLL_ERR` | `SOCK_WAKE_IO`: always |
//! | hang-up | `POLL_HUP` | `SOCK_WAKE_IO`: always, once |
//! | priority / out-of-band data | `POLL_PRI` on [`Signal::Urg`] | `SOCK_WAKE_URG` |
//!
//! The channel is bounded and never blocks the dispatcher: when it is
//! full, further notices are dropped and coalesced into one
//! [`Code::Overflow`] notice, delivered once the queue has drained — as
//! the kernel falls back to a plain `SIGIO` when the real-time signal
//! queue overflows.
//!
//! ```
//! use std::io::Write;
//! use std::os::unix::net::UnixStream;
//! use futures_util::StreamExt;
//! use sockwq_reactor::{Async, fasync};
//!
//! futures::executor::block_on(async {
//!     let (a, mut b) = UnixStream::pair()?;
//!     let a = Async::new(a)?;
//!     let (owner, mut rx) = fasync::channel(64);
//!     let _sub = owner.attach(&a)?;
//!     b.write_all(b"x")?;
//!     let notice = rx.next().await.expect("channel open");
//!     assert_eq!(notice.code, fasync::Code::In);
//!     assert_eq!(notice.fd, Some(std::os::fd::AsRawFd::as_raw_fd(&a)));
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use concurrent_queue::ConcurrentQueue;
use futures_core::Stream;
use futures_util::task::AtomicWaker;

use crate::source::Source;
use crate::state::{self, ERROR, PRIORITY, READ_CLOSED, READABLE, WRITABLE, WRITE_CLOSED};

/// Types that own a registered fd, so a fasync [`Owner`] can attach to it.
pub trait AsSource {
    /// The fd's reactor source.
    fn as_source(&self) -> &Arc<Source>;
}

/// What a notice reports: the kernel's `si_code` for `SIGIO` (`POLL_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// `POLL_IN`: data (or a connection) to read.
    In,
    /// `POLL_OUT`: write space after a write had to wait.
    Out,
    /// `POLL_ERR`: an error is pending.
    Err,
    /// `POLL_PRI`: priority / out-of-band data (with [`Signal::Urg`]).
    Pri,
    /// `POLL_HUP`: the connection hung up.
    Hup,
    /// The channel was full and notices were dropped: look at every
    /// attached socket (the kernel's plain `SIGIO` after an RT-queue overflow).
    Overflow,
}

impl Code {
    /// The kernel's `si_code` value (`POLL_IN` = 1 ... `POLL_HUP` = 6;
    /// `SI_KERNEL` for [`Overflow`](Code::Overflow)).
    pub fn si_code(self) -> i32 {
        // asm-generic/siginfo.h (the same on every Linux architecture).
        match self {
            Code::In => 1,
            Code::Out => 2,
            Code::Err => 4,
            Code::Pri => 5,
            Code::Hup => 6,
            Code::Overflow => 0x80, // SI_KERNEL
        }
    }

    /// The kernel's `si_band` for this code (its `band_table`).
    fn band(self) -> i64 {
        let b = match self {
            Code::In => libc::POLLIN | libc::POLLRDNORM,
            Code::Out => libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND,
            Code::Err => libc::POLLERR,
            Code::Pri => libc::POLLPRI | libc::POLLRDBAND,
            Code::Hup => libc::POLLHUP | libc::POLLERR,
            Code::Overflow => 0,
        };
        b as i64
    }
}

/// Which signal the kernel would send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// `SIGIO`.
    Io,
    /// `SIGURG`: out-of-band data.
    Urg,
}

/// One notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Notice {
    /// The socket it is about; `None` for [`Code::Overflow`].
    pub fd: Option<RawFd>,
    /// What happened.
    pub code: Code,
    /// The `si_band` poll bits (`POLLIN | POLLRDNORM`, ...).
    pub band: i64,
    /// The signal the kernel would deliver.
    pub signal: Signal,
}

impl Notice {
    fn new(fd: RawFd, code: Code, signal: Signal) -> Notice {
        Notice {
            fd: Some(fd),
            code,
            band: code.band(),
            signal,
        }
    }

    fn overflow() -> Notice {
        Notice {
            fd: None,
            code: Code::Overflow,
            band: 0,
            signal: Signal::Io,
        }
    }
}

/// The shared state of one channel.
struct Chan {
    queue: ConcurrentQueue<Notice>,
    overflowed: AtomicBool,
    rx_waker: AtomicWaker,
    /// Owners plus attached links: when it drops to zero, no notice can
    /// come any more and the receiver ends.
    senders: AtomicUsize,
}

impl Chan {
    /// Lock-free and allocation-free: the dispatcher calls this.
    fn push(&self, notice: Notice) {
        if self.queue.push(notice).is_err() {
            self.overflowed.store(true, Ordering::Release);
        }
        self.rx_waker.wake();
    }

    fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    fn drop_sender(&self) {
        // AcqRel: the last sender's pushes happen-before the receiver
        // seeing zero (and then draining what is left).
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.rx_waker.wake();
        }
    }
}

/// A channel's entry in one socket's fasync list.
pub(crate) struct Link {
    chan: Arc<Chan>,
    fd: RawFd,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

/// Sends the notices `sock_wake_async()` would for one dispatched event:
/// `prev` is the state word before `record`, `bits` what it recorded.
#[inline]
pub(crate) fn notify(links: &[Arc<Link>], prev: u64, bits: u64) {
    let each = |code: Code, signal: Signal| {
        for l in links {
            l.chan.push(Notice::new(l.fd, code, signal));
        }
    };
    // SOCK_WAKE_WAITD: nobody is waiting for data.
    if bits & READABLE != 0 && !state::reader_waiting(prev) {
        each(Code::In, Signal::Io);
    }
    // SOCK_WAKE_SPACE: `record` tested and cleared NOSPACE.
    if bits & WRITABLE != 0 && prev & state::NOSPACE != 0 {
        each(Code::Out, Signal::Io);
    }
    // SOCK_WAKE_IO: errors always; a hang-up once, when both halves close.
    if bits & ERROR != 0 {
        each(Code::Err, Signal::Io);
    }
    let hup = READ_CLOSED | WRITE_CLOSED;
    if bits & hup == hup && prev & hup != hup {
        each(Code::Hup, Signal::Io);
    }
    // SOCK_WAKE_URG.
    if bits & PRIORITY != 0 {
        each(Code::Pri, Signal::Urg);
    }
}

/// Creates a channel holding up to `capacity` notices (at least 1).
pub fn channel(capacity: usize) -> (Owner, Receiver) {
    let chan = Arc::new(Chan {
        queue: ConcurrentQueue::bounded(capacity.max(1)),
        overflowed: AtomicBool::new(false),
        rx_waker: AtomicWaker::new(),
        senders: AtomicUsize::new(1),
    });
    (Owner { chan: chan.clone() }, Receiver { chan })
}

/// Attaches the channel to sockets. Clone it to attach from elsewhere.
pub struct Owner {
    chan: Arc<Chan>,
}

impl Clone for Owner {
    fn clone(&self) -> Owner {
        self.chan.add_sender();
        Owner {
            chan: self.chan.clone(),
        }
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owner")
            .field("queued", &self.chan.queue.len())
            .finish()
    }
}

impl Owner {
    /// Adds this channel to `socket`'s fasync list (an RCU update of its
    /// wait queue) until the returned [`Subscription`] is dropped.
    ///
    /// Errors if the socket's reactor has shut down.
    pub fn attach(&self, socket: &impl AsSource) -> io::Result<Subscription> {
        let source = socket.as_source().clone();
        if source.is_shutdown() {
            return Err(crate::source::reactor_gone());
        }
        self.chan.add_sender();
        let link = Arc::new(Link {
            chan: self.chan.clone(),
            fd: source.fd(),
        });
        source.attach_fasync(&link);
        Ok(Subscription { source, link })
    }
}

/// One socket's membership in a channel; detaches on drop.
#[must_use = "dropping the subscription detaches it at once"]
pub struct Subscription {
    source: Arc<Source>,
    link: Arc<Link>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").field("fd", &self.link.fd).finish()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.source.detach_fasync(&self.link);
    }
}

/// Receives the notices of every socket the channel is attached to.
/// A `futures_core::Stream`; ends when every [`Owner`] and
/// [`Subscription`] is gone and the queue is drained.
pub struct Receiver {
    chan: Arc<Chan>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("queued", &self.chan.queue.len())
            .finish()
    }
}

impl Receiver {
    /// The next notice, if one is queued.
    pub fn try_recv(&self) -> Option<Notice> {
        if let Ok(n) = self.chan.queue.pop() {
            return Some(n);
        }
        // Acquire: pairs with `push`'s Release; delivered after the queue.
        if self.chan.overflowed.swap(false, Ordering::Acquire) {
            return Some(Notice::overflow());
        }
        None
    }

    /// Waits for the next notice; `None` once the channel has ended.
    pub async fn recv(&mut self) -> Option<Notice> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next notice.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Notice>> {
        if let Some(n) = self.try_recv() {
            return Poll::Ready(Some(n));
        }
        self.chan.rx_waker.register(cx.waker());
        // Re-check after registering: a push in between woke the old waker.
        if let Some(n) = self.try_recv() {
            return Poll::Ready(Some(n));
        }
        if self.chan.senders.load(Ordering::Acquire) == 0 {
            // No sender left; anything pushed before the last one left is
            // visible now (AcqRel in `drop_sender`).
            return Poll::Ready(self.try_recv());
        }
        Poll::Pending
    }
}

impl Stream for Receiver {
    type Item = Notice;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Notice>> {
        self.poll_recv(cx)
    }
}
