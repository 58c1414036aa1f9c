//! [`TcpListener`]: a listening TCP socket on the reactor, and
//! [`Incoming`], its stream of connections.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use socket2::SockAddr;
use sockwq_reactor::Interest;

use super::{TcpSocket, TcpStream};
use crate::addr::{ToSocketAddrs, no_addresses, to_socket_addrs};
use crate::io::Evented;

/// The backlog `TcpListener::bind` listens with (as mio and tokio).
const DEFAULT_BACKLOG: u32 = 1024;

/// A TCP socket server, listening for connections.
///
/// [`bind`](TcpListener::bind) creates one (with `SO_REUSEADDR` on, like
/// tokio); [`TcpSocket`] gives control over the options first.
/// [`accept`](TcpListener::accept) yields each connection as a
/// [`TcpStream`] that is already non-blocking, close-on-exec and registered
/// (`accept4(2)` with `SOCK_NONBLOCK | SOCK_CLOEXEC`: one syscall).
///
/// Accept errors that concern only the connection being accepted
/// (`ECONNABORTED`, `EINTR`, and the network errors `accept(2)` says to
/// treat like `EAGAIN`) are retried inside. Resource exhaustion (`EMFILE`,
/// `ENFILE`, `ENOBUFS`, `ENOMEM`) is returned to the caller, who should
/// back off before accepting again: the pending connection stays queued
/// and the listener keeps its readiness, so the next `accept` after fds are
/// freed picks it up.
///
/// ```
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// use sockwq_net::{TcpListener, TcpStream};
///
/// # futures::executor::block_on(async {
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let client = async {
///     let mut s = TcpStream::connect(addr).await?;
///     s.write_all(b"hello").await?;
///     s.close().await?; // shutdown(Write)
///     let mut echoed = Vec::new();
///     s.read_to_end(&mut echoed).await?;
///     Ok::<_, std::io::Error>(echoed)
/// };
/// let server = async {
///     let (s, _peer) = listener.accept().await?;
///     let (mut rd, mut wr) = s.into_split();
///     futures_util::io::copy(&mut rd, &mut wr).await?;
///     Ok::<_, std::io::Error>(())
/// };
/// let (echoed, ()) = futures_util::try_join!(client, server)?;
/// assert_eq!(echoed, b"hello");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct TcpListener {
    io: Evented<std::net::TcpListener>,
}

impl TcpListener {
    /// Creates a listener bound to `addr` (with `SO_REUSEADDR` on and a
    /// backlog of 1024, as tokio).
    ///
    /// `addr` is resolved with [`ToSocketAddrs`]; each resulting address is
    /// tried in turn until one binds, and the last error is returned if
    /// none does. Port 0 asks the OS for a free port: see
    /// [`local_addr`](TcpListener::local_addr).
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let addrs = to_socket_addrs(addr).await?;
        let mut last_err = None;
        for addr in addrs {
            match TcpListener::bind_addr(addr) {
                Ok(listener) => return Ok(listener),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(no_addresses))
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = TcpSocket::new_for_addr(addr)?;
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(DEFAULT_BACKLOG)
    }

    pub(crate) fn new(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: Evented::new(listener)?,
        })
    }

    /// Accepts a new connection; returns the stream and the peer's address.
    ///
    /// Any number of tasks may wait in `accept` on one listener at once.
    /// Cancel-safe: if the future is dropped, no connection is lost.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let source = self.io.source();
        loop {
            // The multi-waiter readiness future (tokio's `async_io`), so
            // that several acceptor tasks can share a listener.
            let ev = source.ready(Interest::READABLE).await?;
            match accept4(self.io.get_ref()) {
                Ok((stream, addr)) => return Ok((TcpStream::new_accepted(stream)?, addr)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => source.clear_readiness(ev),
                Err(e) => return Err(e),
            }
        }
    }

    /// Polls to accept a new connection.
    ///
    /// On `Poll::Pending` the waker is woken when a connection is pending;
    /// only the last task to poll is guaranteed a wakeup (use
    /// [`accept`](TcpListener::accept) for several acceptors).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, addr) = ready!(
            self.io
                .poll_io(cx, Interest::READABLE, || accept4(self.io.get_ref()))
        )?;
        Poll::Ready(TcpStream::new_accepted(stream).map(|s| (s, addr)))
    }

    /// A `futures_core::Stream` of incoming connections (each
    /// [`poll_accept`](TcpListener::poll_accept)ed in turn). It never ends;
    /// errors are yielded as items, and the stream may be polled again
    /// after one (after backing off, for `EMFILE` and friends).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// Creates a `TcpListener` from a listening `std::net::TcpListener`.
    ///
    /// The socket is put in non-blocking mode (unlike tokio, which leaves
    /// that to the caller) and registered with the current reactor.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::new(listener)
    }

    /// Deregisters the listener and returns it as a
    /// `std::net::TcpListener`, still in non-blocking mode.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.io.into_inner()
    }

    /// Returns the local address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Gets the value of `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets `IP_TTL` (inherited by accepted sockets).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }
}

/// One `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)`, retrying the errors that
/// concern only the connection being accepted.
fn accept4(listener: &std::net::TcpListener) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    let fd = listener.as_raw_fd();
    loop {
        // SAFETY: `try_init` hands us a zeroed `sockaddr_storage` and its
        // length; `accept4` writes at most that many bytes and updates the
        // length, and `fd` is a live listening socket borrowed from
        // `listener`.
        let res = unsafe {
            SockAddr::try_init(|storage, len| {
                let new = libc::accept4(fd, storage.cast(), len, libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC);
                if new < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    // SAFETY: `accept4` returned a new fd that nobody else owns.
                    Ok(OwnedFd::from_raw_fd(new))
                }
            })
        };
        match res {
            Ok((fd, addr)) => {
                let stream = std::net::TcpStream::from(fd);
                let addr = addr
                    .as_socket()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "accepted a non-IP address"))?;
                return Ok((stream, addr));
            }
            Err(e) if retry_accept(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Errors after which `accept` should simply be called again: the
/// interrupted call, the connection aborted before we took it, and the
/// pending network errors that `accept(2)` on Linux says to treat like
/// `EAGAIN` (each dequeues one connection, so the loop is bounded by the
/// backlog).
fn retry_accept(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EINTR
                | libc::ECONNABORTED
                | libc::EPROTO
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::ENETDOWN
                | libc::ENETUNREACH
        )
    )
}

crate::io::impl_socket_traits!(TcpListener, std::net::TcpListener);

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpListener");
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        d.field("io", &self.io).finish()
    }
}

/// The stream of connections returned by [`TcpListener::incoming`].
///
/// Yields `io::Result<TcpStream>` and never ends.
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl futures_core::Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let res = ready!(self.listener.poll_accept(cx));
        Poll::Ready(Some(res.map(|(s, _)| s)))
    }
}
