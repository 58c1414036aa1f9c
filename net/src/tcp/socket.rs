//! [`TcpSocket`]: a TCP socket not yet connected or listening, to set
//! options before `connect` or `listen`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use sockwq_reactor::fasync::{Attach, Deferred, Target};

use super::{TcpListener, TcpStream};

/// A TCP socket that has not yet been converted to a [`TcpStream`] or
/// [`TcpListener`]: create it, set options, [`bind`](TcpSocket::bind), then
/// [`connect`](TcpSocket::connect) or [`listen`](TcpSocket::listen).
///
/// The socket is created non-blocking and close-on-exec (one `socket(2)`
/// call). Unlike [`TcpListener::bind`], `TcpSocket` does not set
/// `SO_REUSEADDR` by itself (as in tokio).
///
/// ```
/// use sockwq_net::TcpSocket;
///
/// # futures::executor::block_on(async {
/// let socket = TcpSocket::new_v4()?;
/// socket.set_reuseaddr(true)?;
/// socket.set_nodelay(true)?;
/// socket.bind("127.0.0.1:0".parse().unwrap())?;
/// let listener = socket.listen(128)?;
///
/// let client = TcpSocket::new_v4()?;
/// let stream = client.connect(listener.local_addr()?).await?;
/// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct TcpSocket {
    inner: Socket,
    /// fasync channels attached before `connect`/`listen` registers it.
    fasync: Deferred,
}

impl TcpSocket {
    /// Creates a new IPv4 TCP socket.
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// Creates a new IPv6 TCP socket.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    /// A socket of `addr`'s family.
    pub(crate) fn new_for_addr(addr: SocketAddr) -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::for_address(addr))
    }

    fn from_socket(inner: Socket) -> TcpSocket {
        TcpSocket {
            inner,
            fasync: Deferred::new(),
        }
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        let ty = Type::STREAM.nonblocking().cloexec();
        let inner = Socket::new(domain, ty, Some(Protocol::TCP))?;
        Ok(TcpSocket::from_socket(inner))
    }

    /// Sets `SO_KEEPALIVE`.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// Gets the value of `SO_KEEPALIVE`.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.keepalive()
    }

    /// Sets `SO_REUSEADDR`: a listener may bind an address that still has
    /// connections in `TIME_WAIT`.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuseaddr)
    }

    /// Gets the value of `SO_REUSEADDR`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Sets `SO_REUSEPORT`: several sockets may bind the same address and
    /// port, and the kernel spreads incoming connections over them (one
    /// listener per core).
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuseport)
    }

    /// Gets the value of `SO_REUSEPORT`.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuse_port()
    }

    /// Sets `SO_SNDBUF` (the kernel doubles the value, see `socket(7)`).
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// Gets the value of `SO_SNDBUF`.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner
            .send_buffer_size()
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Sets `SO_RCVBUF` (the kernel doubles the value, see `socket(7)`).
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// Gets the value of `SO_RCVBUF`.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner
            .recv_buffer_size()
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Sets `SO_LINGER`.
    ///
    /// Deprecated as in tokio: a non-zero linger makes `close` block the
    /// thread; use [`set_zero_linger`](TcpSocket::set_zero_linger) for an
    /// abortive close.
    #[deprecated = "`SO_LINGER` causes the socket to block the thread on drop"]
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(dur)
    }

    /// Sets a zero `SO_LINGER`: closing aborts the connection with a `RST`.
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.inner.set_linger(Some(Duration::ZERO))
    }

    /// Gets the value of `SO_LINGER`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.inner.linger()
    }

    /// Sets `TCP_NODELAY` (Nagle's algorithm off when true).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// Gets the value of `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.tcp_nodelay()
    }

    /// Sets `IPV6_V6ONLY` (IPv6 sockets only; set it before `bind`): if
    /// true, the socket does not accept IPv4-mapped connections.
    pub fn set_only_v6(&self, only_v6: bool) -> io::Result<()> {
        self.inner.set_only_v6(only_v6)
    }

    /// Gets the value of `IPV6_V6ONLY`.
    pub fn only_v6(&self) -> io::Result<bool> {
        self.inner.only_v6()
    }

    /// Gets the value of `IPV6_TCLASS` (IPv6 sockets).
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.inner.tclass_v6()
    }

    /// Sets `IPV6_TCLASS`, the traffic class of outgoing packets (IPv6).
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.inner.set_tclass_v6(tclass)
    }

    /// Gets the value of `IP_TOS` (IPv4 sockets).
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.inner.tos_v4()
    }

    /// Deprecated. Use [`tos_v4()`](Self::tos_v4) instead.
    #[deprecated(note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific.")]
    #[doc(hidden)]
    pub fn tos(&self) -> io::Result<u32> {
        self.tos_v4()
    }

    /// Sets `IP_TOS`, the type-of-service of outgoing packets (IPv4).
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.inner.set_tos_v4(tos)
    }

    /// Deprecated. Use [`set_tos_v4()`](Self::set_tos_v4) instead.
    #[deprecated(note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific.")]
    #[doc(hidden)]
    pub fn set_tos(&self, tos: u32) -> io::Result<()> {
        self.set_tos_v4(tos)
    }

    /// Gets the interface this socket is bound to (`SO_BINDTODEVICE`).
    pub fn device(&self) -> io::Result<Option<Vec<u8>>> {
        self.inner.device()
    }

    /// Binds the socket to an interface (`SO_BINDTODEVICE`); `None` unbinds.
    pub fn bind_device(&self, interface: Option<&[u8]>) -> io::Result<()> {
        self.inner.bind_device(interface)
    }

    /// Returns the local address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP socket address"))
    }

    /// Returns the value of `SO_ERROR` (and clears it).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Binds the socket to `addr`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&addr.into())
    }

    /// Connects to `addr` and returns the connected [`TcpStream`].
    ///
    /// Non-blocking: starts the connect, registers the socket, waits until
    /// it is writable, then checks `SO_ERROR` (a refused connection is
    /// [`io::ErrorKind::ConnectionRefused`]).
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        // From `from_std_stream`/`from_raw_fd` it may be a blocking socket:
        // a blocking connect would stall the executor thread.
        self.inner.set_nonblocking(true)?;
        self.connect_nonblocking(addr).await
    }

    /// [`connect`](TcpSocket::connect) for a socket this crate created
    /// with `SOCK_NONBLOCK` (saves the `fcntl`).
    pub(crate) async fn connect_nonblocking(self, addr: SocketAddr) -> io::Result<TcpStream> {
        if let Err(e) = self.inner.connect(&addr.into()) {
            // EINPROGRESS: the usual non-blocking answer. EINTR: the
            // connect goes on asynchronously, as for EINPROGRESS.
            match e.raw_os_error() {
                Some(libc::EINPROGRESS | libc::EINTR) => {}
                _ => return Err(e),
            }
        }
        let stream = std::net::TcpStream::from(OwnedFd::from(self.inner));
        let stream = TcpStream::new_nonblocking(stream)?;
        if !self.fasync.is_empty() {
            // Attached before connect: the connect's own outcome is owed to
            // them, even if it already happened.
            self.fasync.bind(&stream, true);
        }
        stream.finish_connect().await
    }

    /// Starts listening with the given backlog (clamped to `i32::MAX`; the
    /// kernel caps it at `net.core.somaxconn`) and returns the listener.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        self.inner.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        let listener = std::net::TcpListener::from(OwnedFd::from(self.inner));
        let listener = TcpListener::new(listener)?;
        self.fasync.bind(&listener, false);
        Ok(listener)
    }

    /// Converts a `std::net::TcpStream` into a `TcpSocket` (e.g. to set
    /// options on a socket that another library created).
    pub fn from_std_stream(std_stream: std::net::TcpStream) -> TcpSocket {
        TcpSocket::from_socket(Socket::from(OwnedFd::from(std_stream)))
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.inner.as_raw_fd())
            .finish()
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl FromRawFd for TcpSocket {
    /// Wraps a raw TCP socket fd.
    ///
    /// # Safety
    ///
    /// `fd` must be an open socket that the caller owns and hands over.
    unsafe fn from_raw_fd(fd: RawFd) -> TcpSocket {
        // SAFETY: the caller guarantees `fd` is an owned, open socket.
        let inner = unsafe { Socket::from_raw_fd(fd) };
        TcpSocket::from_socket(inner)
    }
}

/// A fasync channel can attach to a `TcpSocket` before it connects or
/// listens, as `O_ASYNC` can be set on a socket before `connect(2)`: the
/// subscription takes effect when [`connect`](TcpSocket::connect) or
/// [`listen`](TcpSocket::listen) registers the socket, and the connect's
/// own outcome is notified (`POLL_OUT` when it completes, `POLL_ERR` when
/// it is refused), whenever it happened.
///
/// ```
/// use sockwq_net::{TcpListener, TcpSocket};
/// use sockwq_reactor::fasync::{self, Code};
///
/// # futures::executor::block_on(async {
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let (owner, mut rx) = fasync::channel(16);
///
/// let socket = TcpSocket::new_v4()?;
/// let sub = owner.attach(&socket)?; // before connect(2)
/// let stream = socket.connect(listener.local_addr()?).await?;
/// let notice = rx.recv().await.expect("channel open");
/// assert_eq!(notice.code(), Code::Out); // tcp_finish_connect's POLL_OUT
/// assert_eq!(notice.socket(), Some(sub.socket()));
/// # drop(stream);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
impl Attach for TcpSocket {
    fn fasync_target(&self) -> Target<'_> {
        Target::Deferred(&self.fasync, self.inner.as_raw_fd())
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}
