//! SIGIO-style notices: the user-space twin of a socket's fasync list.
//!
//! A [`channel`] gives an [`Owner`] (the `F_SETOWN` process, so to speak)
//! and a [`Receiver`]. [`Owner::attach`] adds the channel to a socket's
//! fasync list (the `O_ASYNC` of it) until the returned [`Subscription`]
//! is dropped. The list lives in the socket's `SocketWq`,
//! reached by the dispatcher through the same lock-free `ArcSwap` load as
//! the readiness futures, and only when the state word's `FASYNC` bit says
//! a channel is attached: a socket nobody attached to pays nothing, and
//! sending a notice takes no lock and allocates nothing (a bounded
//! lock-free queue). A socket may be attached to several channels, and a
//! channel to any number of sockets.
//!
//! Each [`Notice`] is the `siginfo` the kernel would queue for an `F_SETSIG`
//! real-time signal: its [`code`](Notice::code) (`si_code`), its
//! [`band`](Notice::band) (`si_band`), its [`fd`](Notice::fd) (`si_fd`), its
//! [`signal`](Notice::signal) — plus the socket's [`SocketId`], which unlike
//! the fd number is never reused ([`Subscription::socket`] tells which
//! socket a subscription is). Out-of-band data, for which the kernel sends
//! a plain `SIGURG` *and* a `POLL_PRI` signal, is one [`Code::Pri`] notice
//! whose signal is [`Signal::Urg`].
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
//!     let sub = owner.attach(&a)?;
//!     b.write_all(b"x")?;
//!     let notice = rx.next().await.expect("channel open");
//!     assert_eq!(notice.code(), fasync::Code::In);
//!     assert_eq!(notice.band(), (libc::POLLIN | libc::POLLRDNORM) as i64);
//!     assert_eq!(notice.socket(), Some(sub.socket()));
//!     assert_eq!(notice.fd(), Some(std::os::fd::AsRawFd::as_raw_fd(&a)));
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # The kernel's rules, and what sockwq does
//!
//! The kernel sends these signals from its socket callbacks, through
//! `sock_wake_async()` (net/socket.c). An epoll reactor sees the socket's
//! state after one or more of those callbacks, not the callbacks: each
//! row says how a change of state stands for one. Every row is checked
//! against the kernel itself, scenario by scenario, by
//! `reactor/tests/fasync_oracle.rs` (twin sockets, one armed with
//! `O_ASYNC` + `F_SETSIG`, one attached to a channel).
//!
//! | kernel rule | sockwq |
//! |---|---|
//! | `sk_data_ready` (data, a datagram, a connection on a listener): `POLL_IN`, `SOCK_WAKE_WAITD` | [`In`](Code::In) when epoll reports the socket readable, also with earlier data still unread |
//! | `SOCK_WAKE_WAITD`: nothing while a task sleeps in a blocking receive on a **stream** socket (`SOCKWQ_ASYNC_WAITDATA`: `sk_wait_data`, `unix_stream_data_wait`); a datagram receive and a listener never set it | no [`In`](Code::In)/[`Hup`](Code::Hup) while a task waits for data on the socket's wait queue (a [`readable`](crate::Source::readable) or [`ready`](crate::Source::ready) future for readable), on TCP and other stream sockets only; UDP and listeners always notify |
//! | the blocked reader leaves the wait queue when it wakes or gives up | a readiness future leaves the wait queue when it completes or is dropped (a read cancelled by a timeout leaves no waiting reader) |
//! | `SOCK_WAKE_SPACE`: `POLL_OUT` only if `SOCKWQ_ASYNC_NOSPACE` was armed (a send returned `EAGAIN` or wrote short), test-and-clear: one per arming; `sk_set_bit` arms only a `SOCK_FASYNC` socket | [`Out`](Code::Out) when write space is reported after a write returned `WouldBlock` while a channel was attached: `NOSPACE` is raised in the clearing RMW and tested-and-cleared in the dispatcher's one RMW |
//! | a non-blocking connect completes (`tcp_rcv_synsent_state_process`): `POLL_OUT`, `SOCK_WAKE_IO` | [`Out`](Code::Out) for a socket attached before its connect: a sockwq-net `TcpSocket` attached before `connect` (an [`Attach`] through a [`Deferred`] list), or a socket still in `SYN_SENT` when attached; its outcome is notified even if it came before the subscription was bound |
//! | `sk_error_report`: `POLL_ERR`; a reset, a refused connect, an ICMP error send nothing else (`tcp_done`'s state change is silent) | [`Err`](Code::Err); a report that also hangs up sends nothing more |
//! | `tcp_fin`, our side open: `POLL_IN` (and `tcp_data_ready`'s second `POLL_IN`) | [`In`](Code::In) |
//! | `tcp_fin` after our `SHUT_WR`: `POLL_HUP`, then `POLL_IN` | [`Hup`](Code::Hup), then [`In`](Code::In) |
//! | our own shutdown and close steps (`sk_state_change` alone): nothing | nothing |
//! | AF_UNIX peer `SHUT_WR`: `POLL_IN`; peer `close`/`SHUT_RDWR`: `POLL_HUP` alone; our `SHUT_RD`: nothing | [`In`](Code::In); [`Hup`](Code::Hup) alone (also when unread data makes it an `ECONNRESET`); nothing |
//! | `sk_send_sigurg`: `SIGURG` + `POLL_PRI`, then the urgent byte's `sk_data_ready`: `POLL_IN` (also for a lone TCP urgent byte, which epoll does not report as `EPOLLIN`) | [`Pri`](Code::Pri) with [`Signal::Urg`], then [`In`](Code::In); once per urgent byte (`EPOLLPRI` stays on until the byte is read) |
//! | `SO_RCVLOWAT` holds back TCP's `sk_data_ready` | epoll's `EPOLLIN` is held back the same way: same |
//! | no replay: arming `O_ASYNC` (or the owner) sends nothing for the state the socket is already in | the attach takes the socket's readiness (`poll(2)`, off the dispatch path) and the registration's first epoll report, if still ahead, does not replay it; only new events notify |
//! | several channels (fasync list entries); clearing `O_ASYNC` stops them | several [`Subscription`]s; dropping one detaches it at once |
//! | the RT signal queue full: queued signals up to the limit, then one plain `SIGIO` ("rescan") | the channel full: notices up to its capacity, then one [`Overflow`](Code::Overflow) notice once the queue has room; the dispatcher never blocks |
//! | `si_fd`: the fd number given to `F_SETFL`, stale after it is closed | [`Notice::fd`]: the registered fd; [`Notice::socket`]: a [`SocketId`] never reused |
//!
//! # What epoll cannot see
//!
//! These rows of the kernel's table differ, and why (the oracle asserts
//! the first one differs as stated):
//!
//! * **A readiness check that finds the socket unwritable arms `POLL_OUT`**
//!   (`tcp_poll`, `datagram_poll`: a `poll()` or an `epoll_ctl(ADD)` with
//!   no failed write). sockwq's readiness checks
//!   ([`poll_write_ready`](crate::Source::poll_write_ready),
//!   [`writable`](crate::Source::writable)) read what epoll reported, and
//!   epoll never reports a transition from writable to unwritable: only a
//!   write that returns `WouldBlock` finds it, and that does arm `POLL_OUT`.
//! * **State undone before the reactor turns.** epoll re-reads a socket's
//!   state when it reports it; a wakeup whose state is gone by then (a
//!   connection accepted, data read, by another path before the turn) is
//!   not reported, where the kernel has signalled at the wakeup.
//! * **Counts.** Several wakeups between two turns are one report, so one
//!   notice: the kernel's second `POLL_IN` for a FIN or an urgent byte, its
//!   one `POLL_IN` per segment, come as one. Presence, code, band, signal
//!   and order per socket are kept. Likewise a new event of a kind the
//!   socket was already ready for when attached, arriving before the
//!   registration's first report was dispatched, merges into that report
//!   and is not told from the replay.
//! * **Data read and write space in one report.** A write-space wakeup
//!   reports `EPOLLIN` too while earlier data is unread; it is taken as
//!   write space only. A segment arriving in the same turn is not told
//!   apart (counts, above).
//! * **No `POLL_OUT` after our own `SHUT_WR`** (`sk_stream_write_space`):
//!   sockwq does not see our shutdown; after a `WouldBlock`, a write-space
//!   report that follows it still notifies.
//! * **A task in `AsyncRead::poll_read`** (or `poll_read_ready`) waits in a
//!   per-direction waker slot that stays armed after the read future is
//!   dropped, which sockwq cannot observe; such a task therefore does not
//!   count as a waiting reader (a spurious `POLL_IN` is harmless, a lost one
//!   is not). It is the kernel's non-blocking `recv` + epoll, which never
//!   sets `SOCKWQ_ASYNC_WAITDATA` either. Wait in
//!   [`readable`](crate::Source::readable) to suppress it.
//! * **Signal delivery settings** (no `F_SETSIG`: one merged `SIGIO` with no
//!   siginfo; `F_SETSIG=SIGIO`: merged; no `F_SETOWN`: nothing; `SIGURG`
//!   with only `F_SETOWN`; a notice through a `dup`ed fd and its stale
//!   `si_fd` after that fd is closed) have no counterpart: a channel always
//!   queues every notice with its code, and a socket's notices stop when its
//!   registration is dropped. `SIGPIPE` is not a fasync signal (sockwq-net
//!   sends with `MSG_NOSIGNAL`).
//!
//! # Attaching before a connect
//!
//! The kernel's `POLL_OUT` for a completed connect goes to a socket armed
//! before `connect(2)`. With sockwq-net, attach the `TcpSocket` before
//! calling its `connect` (its docs have the example): the subscription is
//! bound when `connect` registers the socket, and the outcome — `Out`, or
//! `Err` if refused — is notified whenever it came. A socket made elsewhere
//! and registered with `from_std` while its connect is in flight gets the
//! same if it is still in `SYN_SENT` when attached; on loopback the
//! handshake usually completes inside `connect(2)`, so use `TcpSocket`.
//! A socket type of your own does what `TcpSocket` does: keep a
//! [`Deferred`], implement [`Attach`] with [`Target::Deferred`], and call
//! [`Deferred::bind`] once the socket is registered.
//!
//! # Socket options the kernel's rules depend on
//!
//! `SO_RCVLOWAT` (how much data makes TCP readable), the buffer sizes
//! (when `EAGAIN` comes, and so `POLL_OUT`) and `TCP_NOTSENT_LOWAT` are set
//! on the socket itself; `socket2::SockRef` borrows any sockwq socket (it
//! is `AsFd`). socket2 has no `SO_RCVLOWAT` setter: use `setsockopt`.
//!
//! ```
//! use std::os::fd::AsRawFd;
//! use socket2::SockRef;
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
//! let sock = SockRef::from(&stream); // or from a sockwq_net::TcpStream
//! sock.set_send_buffer_size(64 * 1024)?;
//! sock.set_recv_buffer_size(64 * 1024)?;
//! sock.set_tcp_notsent_lowat(16 * 1024)?;
//! let lowat: libc::c_int = 8; // POLL_IN only once 8 bytes are queued
//! // SAFETY: a live int and its size, on an open socket.
//! let r = unsafe {
//!     libc::setsockopt(
//!         stream.as_raw_fd(),
//!         libc::SOL_SOCKET,
//!         libc::SO_RCVLOWAT,
//!         (&raw const lowat).cast(),
//!         std::mem::size_of::<libc::c_int>() as libc::socklen_t,
//!     )
//! };
//! assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Waiting for a notice with a deadline
//!
//! [`Receiver::try_recv`] never waits; [`Receiver::recv_timeout`] blocks
//! the calling thread until a notice, the end of the channel, or the
//! deadline — so a test can assert that no notice comes without sleeping
//! blind. In async code, put [`Receiver::recv`] under the runtime's timer.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::num::NonZeroU64;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::atomic_waker::AtomicWaker;
use concurrent_queue::ConcurrentQueue;
use futures_core::Stream;

use crate::interest::Ready;
use crate::source::Source;
use crate::state::{
    self, CONNECTING, Direction, ERROR, NOSPACE, PRIORITY, READ_CLOSED, READABLE, READY_BITS, State,
    WRITABLE, WRITE_CLOSED,
};
use crate::sys;
use crate::wq::SocketWq;

const CLOSED: u64 = READ_CLOSED | WRITE_CLOSED;

/// Types that own a registered fd, so a fasync [`Owner`] can attach to it.
pub trait AsSource {
    /// The fd's reactor source.
    fn as_source(&self) -> &Arc<Source>;
}

/// What [`Owner::attach`] attaches to: every [`AsSource`] type, and socket
/// types that have no reactor source yet but will (sockwq-net's `TcpSocket`
/// before `connect`/`listen`), through a [`Deferred`] list.
pub trait Attach {
    /// Where this socket's fasync list is.
    fn fasync_target(&self) -> Target<'_>;
}

impl<T: AsSource + ?Sized> Attach for T {
    fn fasync_target(&self) -> Target<'_> {
        Target::Source(self.as_source())
    }
}

/// Returned by [`Attach::fasync_target`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Target<'a> {
    /// A registered socket: attach to its source now.
    Source(&'a Arc<Source>),
    /// A socket that is not registered yet (its fd): attach when it is
    /// ([`Deferred::bind`]).
    Deferred(&'a Deferred, RawFd),
}

/// What a notice reports: the kernel's `si_code` for `SIGIO` (`POLL_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// `POLL_IN`: data (or a connection, or the peer's `FIN`) to read.
    In,
    /// `POLL_OUT`: write space after a write had to wait, or a
    /// non-blocking connect completed.
    Out,
    /// `POLL_ERR`: an error is pending (a reset, a refused connect, an ICMP
    /// error on a connected datagram socket).
    Err,
    /// `POLL_PRI`: out-of-band data; the kernel sends `SIGURG` with it, so
    /// this notice's [`Signal`] is [`Signal::Urg`].
    Pri,
    /// `POLL_HUP`: the connection is shut down in both directions.
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

    /// The kernel's `si_band` for this code (fs/fcntl.c's `band_table`):
    /// `POLLIN | POLLRDNORM` for [`In`](Code::In), `POLLOUT | POLLWRNORM |
    /// POLLWRBAND` for [`Out`](Code::Out), `POLLERR` for [`Err`](Code::Err),
    /// `POLLPRI | POLLRDBAND` for [`Pri`](Code::Pri), `POLLHUP | POLLERR`
    /// for [`Hup`](Code::Hup); 0 for [`Overflow`](Code::Overflow), whose
    /// plain `SIGIO` has no band.
    pub fn band(self) -> i64 {
        let b = match self {
            Code::In => libc::POLLIN | libc::POLLRDNORM,
            Code::Out => libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND,
            Code::Err => libc::POLLERR,
            Code::Pri => libc::POLLPRI | libc::POLLRDBAND,
            Code::Hup => libc::POLLHUP | libc::POLLERR,
            Code::Overflow => 0,
        };
        i64::from(b)
    }
}

/// Which signal the kernel would send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// `SIGIO` (or the `F_SETSIG` signal): every code but [`Code::Pri`].
    Io,
    /// `SIGURG`: out-of-band data. The kernel sends a plain `SIGURG` *and*
    /// the `F_SETSIG` signal with `POLL_PRI`; sockwq folds the two into one
    /// [`Code::Pri`] notice whose signal is `Urg`.
    Urg,
}

/// A socket's identity in notices: unlike its fd number, which the kernel
/// reuses after `close`, it is never given to another socket (a process-wide
/// counter). A socket gets it when a channel first attaches to it; every
/// channel attached to it sees the same id. [`Subscription::socket`]
/// reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(NonZeroU64);

impl SocketId {
    /// The id as a number (never 0).
    pub fn get(self) -> u64 {
        self.0.get()
    }

    fn next() -> SocketId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // Relaxed: only uniqueness matters, which one RMW counter gives.
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        SocketId(NonZeroU64::new(n).expect("2^64 fasync attaches"))
    }

    /// The id of `source`, given now if it has none.
    fn of(source: &Source) -> SocketId {
        let cur = source.fasync_id.load(Ordering::Relaxed);
        if let Some(id) = NonZeroU64::new(cur) {
            return SocketId(id);
        }
        let new = SocketId::next();
        // Relaxed: the id is a plain value; concurrent attaches agree on the
        // one that won the exchange.
        match source
            .fasync_id
            .compare_exchange(0, new.get(), Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => new,
            Err(won) => SocketId(NonZeroU64::new(won).expect("ids are never 0")),
        }
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One notification: the `siginfo` the kernel would queue, plus the
/// socket's [`SocketId`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Notice {
    fd: Option<RawFd>,
    socket: Option<SocketId>,
    code: Code,
    signal: Signal,
}

impl Notice {
    fn overflow() -> Notice {
        Notice {
            fd: None,
            socket: None,
            code: Code::Overflow,
            signal: Signal::Io,
        }
    }

    /// The socket's fd number when the channel attached (the kernel's
    /// `si_fd`, which is just as stale after a `close`); `None` for
    /// [`Code::Overflow`].
    pub fn fd(&self) -> Option<RawFd> {
        self.fd
    }

    /// The socket's stable identity; `None` for [`Code::Overflow`].
    pub fn socket(&self) -> Option<SocketId> {
        self.socket
    }

    /// What happened (`si_code`).
    pub fn code(&self) -> Code {
        self.code
    }

    /// The `si_band` poll bits ([`Code::band`]).
    pub fn band(&self) -> i64 {
        self.code.band()
    }

    /// The signal the kernel would deliver.
    pub fn signal(&self) -> Signal {
        self.signal
    }
}

/// The shared state of one channel.
struct Chan {
    queue: ConcurrentQueue<Notice>,
    overflowed: AtomicBool,
    rx_waker: AtomicWaker,
    /// Live [`Owner`]s plus live [`Subscription`]s: when it drops to zero,
    /// nobody can attach any more and every socket is detached, so the
    /// receiver ends once it has drained the queue. [`Link`]s do not count:
    /// a link outlives its subscription wherever a list still holds it (a
    /// socket type's [`Deferred`] list until `bind`, a replaced wait queue
    /// until the reactor's next turn), and the end of the channel must not
    /// wait for that.
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
        // AcqRel: what the last sender did before (an owner's attach, a
        // subscription's detach) happens-before the receiver seeing zero and
        // draining what is left. A notice of an event dispatched while the
        // last subscription detaches may come in or not, as it raced.
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.rx_waker.wake();
        }
    }
}

/// What kind of socket a link is attached to: the kernel's rules differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    /// Not a socket (a pipe, a tty, ...), or unknown.
    Other = 0,
    /// A TCP connection: `tcp_fin`'s `POLL_HUP`/`POLL_IN` and urgent data.
    Tcp = 1,
    /// Another stream socket (AF_UNIX, ...): hang-up is `POLL_HUP` alone.
    Stream = 2,
    /// A listening socket: `POLL_IN` per connection, never `WAITD`.
    Listener = 3,
    /// A datagram (or seqpacket) socket: its blocking receive never sets
    /// `SOCKWQ_ASYNC_WAITDATA`.
    Datagram = 4,
}

impl Kind {
    /// Asks the kernel (`SO_TYPE`, `SO_DOMAIN`, `SO_ACCEPTCONN`); attach
    /// time only.
    fn of(fd: RawFd) -> Kind {
        match sys::sock_info(fd) {
            Ok(i) if i.listening => Kind::Listener,
            Ok(i) if i.ty == libc::SOCK_STREAM && matches!(i.domain, libc::AF_INET | libc::AF_INET6) => {
                Kind::Tcp
            }
            Ok(i) if i.ty == libc::SOCK_STREAM => Kind::Stream,
            Ok(i) if matches!(i.ty, libc::SOCK_DGRAM | libc::SOCK_SEQPACKET | libc::SOCK_RAW) => {
                Kind::Datagram
            }
            _ => Kind::Other,
        }
    }

    fn from_u8(v: u8) -> Kind {
        match v {
            1 => Kind::Tcp,
            2 => Kind::Stream,
            3 => Kind::Listener,
            4 => Kind::Datagram,
            _ => Kind::Other,
        }
    }

    /// Whether a task waiting for data suppresses `POLL_IN`/`POLL_HUP`
    /// (`SOCK_WAKE_WAITD`): only stream sockets set `SOCKWQ_ASYNC_WAITDATA`
    /// (`sk_wait_data`, `unix_stream_data_wait`).
    fn waitd(self) -> bool {
        matches!(self, Kind::Tcp | Kind::Stream)
    }
}

/// `Link::baseline`'s "set" flag, above the readiness bits.
const BASELINE: u64 = 1 << 63;

/// A channel's entry in one socket's fasync list.
pub(crate) struct Link {
    chan: Arc<Chan>,
    fd: RawFd,
    socket: SocketId,
    /// A [`Kind`], found when the link is installed.
    kind: AtomicU8,
    /// `BASELINE | readiness` while the registration's first epoll report
    /// may still be ahead: the readiness the socket had when the link was
    /// installed, which that report must not replay. The dispatcher takes
    /// it with the first report it sends this link.
    baseline: AtomicU64,
    /// Whether the last report this link saw had urgent data pending
    /// (`EPOLLPRI` is level: it stays on until the urgent byte is read).
    /// Dispatcher-only after install.
    urgent: AtomicBool,
}

impl Link {
    fn new(chan: &Arc<Chan>, fd: RawFd, socket: SocketId) -> Arc<Link> {
        Arc::new(Link {
            chan: chan.clone(),
            fd,
            socket,
            kind: AtomicU8::new(Kind::Other as u8),
            baseline: AtomicU64::new(0),
            urgent: AtomicBool::new(false),
        })
    }

    fn push(&self, code: Code, signal: Signal) {
        self.chan.push(Notice {
            fd: Some(self.fd),
            socket: Some(self.socket),
            code,
            signal,
        });
    }
}

/// One dispatched epoll report, as `notify` sees it.
struct Report {
    /// The state word before `record`.
    prev: u64,
    /// The readiness the report recorded.
    bits: u64,
    /// A task waits for data on the socket's wait queue.
    reader_waiting: bool,
    /// `record` tested and cleared `NOSPACE` for this report's `WRITABLE`.
    nospace: bool,
    /// The report ends a connect whose outcome was owed (`CONNECTING`).
    connect: Option<Code>,
}

/// At most five notices come out of one report.
struct Codes {
    n: usize,
    c: [(Code, Signal); 5],
}

impl Codes {
    fn new() -> Codes {
        Codes {
            n: 0,
            c: [(Code::In, Signal::Io); 5],
        }
    }
    fn push(&mut self, code: Code, signal: Signal) {
        if self.n < self.c.len() {
            self.c[self.n] = (code, signal);
            self.n += 1;
        }
    }
    fn as_slice(&self) -> &[(Code, Signal)] {
        &self.c[..self.n]
    }
}

/// The notices the kernel's wakeup callbacks would have sent for `r` on
/// a socket of `kind`, in the kernel's order. Epoll reports the socket's
/// state after one or more wakeups, not the wakeups themselves: each rule
/// says which wakeup a change of state stands for. `baseline` is the
/// link's [`Link::baseline`] taken with this report (0 if none);
/// `urgent_new`: urgent data is pending and was not at the link's last
/// report.
fn codes(kind: Kind, r: &Report, baseline: u64, urgent_new: bool) -> Codes {
    // Readiness the socket already had when the link was installed is not
    // news: no replay at attach time.
    let old = if baseline & BASELINE != 0 {
        baseline & READY_BITS
    } else {
        0
    };
    let p = r.prev | old;
    let n = r.bits & READY_BITS & !old;
    let waitd = kind.waitd() && r.reader_waiting;
    let mut out = Codes::new();
    let mut sent_in = false;
    let mut push_in = |out: &mut Codes| {
        if !waitd && !sent_in {
            out.push(Code::In, Signal::Io);
            sent_in = true;
        }
    };
    let rc_new = n & READ_CLOSED != 0 && p & READ_CLOSED == 0;
    let full_new = (p | n) & CLOSED == CLOSED && p & CLOSED != CLOSED;

    // A connect ends: tcp_finish_connect's POLL_OUT, or a refused connect's
    // sk_error_report (POLL_ERR, and nothing for tcp_done's state change).
    match r.connect {
        Some(Code::Err) => {
            out.push(Code::Err, Signal::Io);
            return out;
        }
        Some(code) => out.push(code, Signal::Io),
        None => {}
    }
    // sk_error_report: POLL_ERR. With a hang-up in the same report it is a
    // reset (tcp_done_with_error: the state change sends nothing), so that is
    // all. An AF_UNIX peer closing with unread data sets sk_err too, but
    // sends POLL_HUP only (unix_release_sock): handled as the hang-up below.
    if n & ERROR != 0 && !(kind == Kind::Stream && full_new) {
        out.push(Code::Err, Signal::Io);
        if n & CLOSED != 0 {
            return out;
        }
    }
    // sk_send_sigurg: SIGURG with POLL_PRI, then the urgent byte's
    // sk_data_ready: POLL_IN (tcp_urg, unix queue_oob), even when epoll's
    // EPOLLIN is off because the urgent byte is all there is. Once per
    // urgent byte: later reports show EPOLLPRI until it is read.
    if urgent_new {
        out.push(Code::Pri, Signal::Urg);
        push_in(&mut out);
    }
    let mut closed = false;
    match kind {
        // tcp_fin: the peer's FIN. POLL_HUP if our FIN went first (both
        // directions now shut), then tcp_data_ready's POLL_IN. Our own
        // close completing (LAST_ACK -> CLOSE) signals nothing.
        Kind::Tcp => {
            if rc_new {
                if full_new && !waitd {
                    out.push(Code::Hup, Signal::Io);
                }
                push_in(&mut out);
            }
            closed = rc_new || full_new;
        }
        Kind::Listener => {}
        // unix_shutdown / unix_release_sock on the peer: POLL_HUP when both
        // directions are shut, else POLL_IN for a read shutdown.
        _ => {
            if full_new {
                if !waitd {
                    out.push(Code::Hup, Signal::Io);
                }
            } else if rc_new {
                push_in(&mut out);
            }
            closed = rc_new || full_new;
        }
    }
    // sk_data_ready: data. Not once the read side is closed (no data can
    // follow a FIN), and not for a write-space wakeup that merely finds
    // earlier data still unread.
    if n & READABLE != 0 && !closed && p & READ_CLOSED == 0 {
        let write_edge = n & WRITABLE != 0 && p & WRITABLE == 0;
        if p & READABLE == 0 || !write_edge {
            push_in(&mut out);
        }
    }
    // sk_write_space: SOCK_WAKE_SPACE, one POLL_OUT per NOSPACE arming;
    // none once our side is shut.
    if r.nospace && r.connect.is_none() && n & WRITABLE != 0 && n & WRITE_CLOSED == 0 {
        out.push(Code::Out, Signal::Io);
    }
    out
}

/// Sends the notices `sock_wake_async()` would for one dispatched event:
/// `prev` is the state word before `record`, `bits` what it recorded.
/// Called by the dispatcher only when the word's `FASYNC` bit is set.
/// Lock-free and allocation-free: a few atomics and bounded-queue pushes.
/// Kept out of line: a socket nobody attached to never gets here, and its
/// dispatch should not carry this code.
#[inline(never)]
pub(crate) fn notify(state: &State, wq: &SocketWq, prev: u64, bits: u64) {
    if wq.fasync.is_empty() {
        return;
    }
    let connect =
        if prev & CONNECTING != 0 && bits & (WRITABLE | ERROR) != 0 && state.take_flags(CONNECTING) != 0 {
            Some(if bits & ERROR != 0 { Code::Err } else { Code::Out })
        } else {
            None
        };
    let report = Report {
        prev,
        bits,
        // The socket's wait queue: waiters leave it when they complete or are
        // dropped, as the kernel's blocked reader does when it wakes.
        reader_waiting: wq.waiters.iter().any(|w| w.mask & READABLE != 0),
        nospace: prev & NOSPACE != 0 && bits & WRITABLE != 0,
        connect,
    };
    for l in &wq.fasync {
        // Relaxed: the installer stored both before raising FASYNC (AcqRel),
        // which our `record` read (AcqRel).
        let baseline = if l.baseline.load(Ordering::Relaxed) != 0 {
            l.baseline.swap(0, Ordering::Relaxed)
        } else {
            0
        };
        let kind = Kind::from_u8(l.kind.load(Ordering::Relaxed));
        let urgent = bits & PRIORITY != 0;
        let urgent_new = urgent && !l.urgent.load(Ordering::Relaxed);
        if urgent != l.urgent.load(Ordering::Relaxed) {
            l.urgent.store(urgent, Ordering::Relaxed);
        }
        for &(code, signal) in codes(kind, &report, baseline, urgent_new).as_slice() {
            l.push(code, signal);
        }
    }
}

/// Puts `links` on `source`'s fasync list (one RCU update), after finding
/// what kind of socket it is and what it is ready for now. `connecting`:
/// the socket's connect has not been reported yet, so its outcome is
/// notified even if it already happened (the attach counts as made before
/// the connect). Off the dispatch path: a few syscalls.
fn install(source: &Arc<Source>, links: &[Arc<Link>], connecting: bool) {
    let fd = source.fd();
    let kind = Kind::of(fd);
    // `mark`: the write tick from which on a write-side event is the
    // connect's outcome. Declared by the caller: any since registration
    // (tick 0). Found in flight (a socket registered mid-connect): any
    // from now on.
    let in_flight =
        !connecting && kind == Kind::Tcp && sys::tcp_state(fd).is_ok_and(|s| s == sys::TCP_SYN_SENT);
    let (word0, mark) = if connecting || in_flight {
        let w = source.state.set_flags(CONNECTING);
        (
            w,
            Some(if connecting {
                0
            } else {
                state::tick(w, Direction::Write)
            }),
        )
    } else {
        (source.state.load(), None)
    };
    // Never dispatched (both ticks at 0): the registration's first epoll
    // report, which replays the readiness the socket had when it was added,
    // may still be ahead. (A tick that wrapped to 0 on both sides at once
    // would only hide one report's already-present readiness.)
    let ticks = |w: u64| (state::tick(w, Direction::Read), state::tick(w, Direction::Write));
    let fresh = mark.is_none() && ticks(word0) == (0, 0);
    let now = sys::readiness_now(fd).map(|ev| u64::from(Ready::from_epoll(ev).bits()));
    let baseline = match now {
        Ok(ready) if fresh => BASELINE | ready,
        _ => 0,
    };
    // Urgent data already pending is not news either.
    let urgent = now.is_ok_and(|ready| ready & PRIORITY != 0);
    for l in links {
        l.kind.store(kind as u8, Ordering::Relaxed);
        l.baseline.store(baseline, Ordering::Relaxed);
        l.urgent.store(urgent, Ordering::Relaxed);
    }
    let word1 = source.attach_fasync(links);
    if baseline != 0 && ticks(word1) != ticks(word0) {
        // That first report was dispatched before FASYNC was up: it sent
        // nothing, and there is nothing left to hide.
        for l in links {
            l.baseline.store(0, Ordering::Relaxed);
        }
    }
    if let Some(t) = mark {
        // The connect ended before FASYNC was up (no dispatcher saw it with
        // a subscriber): if the flag is still ours to take, send its outcome.
        if state::tick(word1, Direction::Write) != t && source.state.take_flags(CONNECTING) != 0 {
            let code = if word1 & ERROR != 0 { Code::Err } else { Code::Out };
            for l in links {
                l.push(code, Signal::Io);
            }
        }
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
    (
        Owner { chan: chan.clone() },
        Receiver {
            chan,
            ended: AtomicBool::new(false),
        },
    )
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
    /// Only what happens from now on is notified: readiness the socket has
    /// already is not replayed. A socket that is not registered yet (a
    /// sockwq-net `TcpSocket`) is attached when it is, before its connect
    /// starts, so the connect's own `POLL_OUT` or `POLL_ERR` is notified.
    ///
    /// Errors if the socket's reactor has shut down.
    pub fn attach<S: Attach + ?Sized>(&self, socket: &S) -> io::Result<Subscription> {
        match socket.fasync_target() {
            Target::Source(source) => {
                if source.is_shutdown() {
                    return Err(crate::source::reactor_gone());
                }
                let link = Link::new(&self.chan, source.fd(), SocketId::of(source));
                install(source, std::slice::from_ref(&link), false);
                Ok(Subscription::new(link, Bound::Attached(source.clone())))
            }
            Target::Deferred(deferred, fd) => Ok(deferred.add(&self.chan, fd)),
        }
    }
}

/// Where a [`Subscription`] stands.
enum Bound {
    /// On a [`Deferred`] list, waiting for its socket to be registered.
    Pending,
    /// On this source's fasync list.
    Attached(Arc<Source>),
    /// Dropped.
    Detached,
}

struct Sub {
    link: Arc<Link>,
    bound: Mutex<Bound>,
}

impl Sub {
    fn lock(&self) -> MutexGuard<'_, Bound> {
        // Each update is one assignment: a panic cannot leave it half done.
        self.bound.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One socket's membership in a channel; detaches on drop.
#[must_use = "dropping the subscription detaches it at once"]
pub struct Subscription {
    sub: Arc<Sub>,
}

impl Subscription {
    fn new(link: Arc<Link>, bound: Bound) -> Subscription {
        link.chan.add_sender();
        Subscription {
            sub: Arc::new(Sub {
                link,
                bound: Mutex::new(bound),
            }),
        }
    }

    /// The socket's identity, as its notices carry it ([`Notice::socket`]).
    pub fn socket(&self) -> SocketId {
        self.sub.link.socket
    }

    /// The socket's fd number ([`Notice::fd`]).
    pub fn fd(&self) -> RawFd {
        self.sub.link.fd
    }

    /// Whether the subscription is on its socket's fasync list yet: false
    /// for one made on a socket that is not registered yet (a sockwq-net
    /// `TcpSocket` before `connect`/`listen`).
    pub fn is_attached(&self) -> bool {
        matches!(*self.sub.lock(), Bound::Attached(_))
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("socket", &self.sub.link.socket)
            .field("fd", &self.sub.link.fd)
            .field("attached", &self.is_attached())
            .finish()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        {
            let mut bound = self.sub.lock();
            if let Bound::Attached(source) = std::mem::replace(&mut *bound, Bound::Detached) {
                source.detach_fasync(&self.sub.link);
            }
        }
        // Detached (or never to be attached: `bind` skips it): this
        // subscription sends nothing more.
        self.sub.link.chan.drop_sender();
    }
}

/// The fasync list of a socket that has no reactor source yet: a socket
/// type keeps one and calls [`bind`](Deferred::bind) once it is registered
/// (sockwq-net's `TcpSocket` does, in `connect` and `listen`). Attaching to
/// such a socket ([`Target::Deferred`]) is the kernel's `O_ASYNC` set
/// before `connect(2)`: the connect's outcome is notified.
#[derive(Default)]
pub struct Deferred {
    inner: Mutex<DeferredInner>,
}

#[derive(Default)]
struct DeferredInner {
    socket: Option<SocketId>,
    subs: Vec<Arc<Sub>>,
}

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.lock();
        f.debug_struct("Deferred")
            .field("socket", &g.socket)
            .field("pending", &g.subs.len())
            .finish()
    }
}

impl Deferred {
    /// An empty list.
    pub fn new() -> Deferred {
        Deferred::default()
    }

    fn lock(&self) -> MutexGuard<'_, DeferredInner> {
        // Each update is one push or one drain: a panic cannot leave it half done.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, chan: &Arc<Chan>, fd: RawFd) -> Subscription {
        let mut g = self.lock();
        let socket = *g.socket.get_or_insert_with(SocketId::next);
        let sub = Subscription::new(Link::new(chan, fd, socket), Bound::Pending);
        g.subs.push(sub.sub.clone());
        sub
    }

    /// Whether no subscription waits to be bound (then `bind` is free).
    pub fn is_empty(&self) -> bool {
        self.lock().subs.is_empty()
    }

    /// Attaches the waiting subscriptions to `socket`, now registered (its
    /// notices carry the same [`SocketId`]), and empties the list.
    /// `connecting`: the socket's connect was started and its outcome not
    /// looked at yet; its `POLL_OUT` (or `POLL_ERR`) is notified even if it
    /// already happened.
    pub fn bind<S: AsSource + ?Sized>(&self, socket: &S, connecting: bool) {
        let source = socket.as_source();
        let mut g = self.lock();
        if let Some(id) = g.socket {
            // Relaxed: a fresh source has no id; if it has one (bound twice),
            // keep it.
            let _ = source
                .fasync_id
                .compare_exchange(0, id.get(), Ordering::Relaxed, Ordering::Relaxed);
        }
        let subs = std::mem::take(&mut g.subs);
        let mut guards: Vec<_> = subs.iter().map(|s| s.lock()).collect();
        let links: Vec<Arc<Link>> = subs
            .iter()
            .zip(&guards)
            .filter(|(_, b)| matches!(***b, Bound::Pending))
            .map(|(s, _)| s.link.clone())
            .collect();
        if links.is_empty() || source.is_shutdown() {
            return;
        }
        install(source, &links, connecting);
        for b in guards.iter_mut().filter(|b| matches!(***b, Bound::Pending)) {
            **b = Bound::Attached(source.clone());
        }
    }
}

/// Receives the notices of every socket the channel is attached to.
/// A `futures_core::Stream`; ends when every [`Owner`] and
/// [`Subscription`] is gone and the queue is drained.
pub struct Receiver {
    chan: Arc<Chan>,
    /// Set once `poll_recv` has returned `None`: the stream stays ended
    /// even if a dispatcher that still held a replaced wait queue pushes
    /// one more notice after the last subscription was dropped.
    ended: AtomicBool,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("queued", &self.chan.queue.len())
            .finish()
    }
}

/// Unparks the thread blocked in [`Receiver::recv_timeout`].
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

impl Receiver {
    /// The next notice, if one is queued; never waits.
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

    /// Blocks this thread until a notice comes, the channel ends
    /// ([`RecvTimeoutError::Disconnected`]) or `timeout` passes
    /// ([`RecvTimeoutError::Timeout`]): the way to assert "no notice"
    /// without sleeping blind. Blocking: call it off the thread that turns
    /// the socket's reactor (in async code, put [`recv`](Receiver::recv)
    /// under a timer instead).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Notice, RecvTimeoutError> {
        let deadline = Instant::now().checked_add(timeout);
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            match self.poll_recv(&mut cx) {
                Poll::Ready(Some(n)) => return Ok(n),
                Poll::Ready(None) => return Err(RecvTimeoutError::Disconnected),
                Poll::Pending => {}
            }
            match deadline {
                None => std::thread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    std::thread::park_timeout(d - now);
                }
            }
        }
    }

    /// Polls for the next notice.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Notice>> {
        // Relaxed: only this receiver writes it, and reads it back here.
        if self.ended.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
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
            let last = self.try_recv();
            if last.is_none() {
                self.ended.store(true, Ordering::Relaxed);
            }
            return Poll::Ready(last);
        }
        Poll::Pending
    }
}

impl Drop for Receiver {
    /// Lets go of the waker the last poll registered. The channel outlives
    /// the receiver (its owners and subscriptions hold it), and that waker
    /// would keep its task alive — and be the one to free it, from inside
    /// a dispatch, when the next notice wakes it.
    fn drop(&mut self) {
        drop(self.chan.rx_waker.take());
    }
}

impl Stream for Receiver {
    type Item = Notice;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Notice>> {
        self.poll_recv(cx)
    }
}
