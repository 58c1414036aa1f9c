//! [`UnixStream`]: a connected Unix-domain stream socket.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net;
use std::path::Path;

use socket2::{Domain, Socket, Type};
use sockwq_reactor::Ready;

use super::socketaddr::{self, SocketAddr};
use super::split::{self, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use super::ucred::{self, UCred};
use crate::io::{Evented, impl_stream_io};

/// A connected Unix-domain stream socket on the sockwq reactor (as
/// `tokio::net::UnixStream`).
///
/// Reading and writing go through futures-io's and (with the `tokio`
/// feature) tokio's `AsyncRead`/`AsyncWrite`, or through the `try_*`
/// methods after [`readable`](Self::readable)/[`writable`](Self::writable).
/// Writes use `MSG_NOSIGNAL`: a closed peer gives `BrokenPipe`, never
/// `SIGPIPE`. Shutting down the write half is `AsyncWrite::poll_close`
/// (futures-io) or `poll_shutdown` (tokio), as in tokio.
///
/// ```
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// use sockwq_net::UnixStream;
///
/// futures::executor::block_on(async {
///     let (mut a, mut b) = UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    pub(super) io: Evented<net::UnixStream>,
}

impl UnixStream {
    /// Wraps a connected std socket (made non-blocking here).
    pub(crate) fn new(stream: net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: Evented::new(stream)?,
        })
    }

    /// Wraps a socket just accepted with `accept4(SOCK_NONBLOCK)`, assumed
    /// readable and writable, as tokio does (see
    /// `Evented::from_nonblocking`).
    pub(super) fn new_accepted(sock: Socket) -> io::Result<UnixStream> {
        UnixStream::from_nonblocking(sock, Ready::READABLE | Ready::WRITABLE)
    }

    /// Wraps a socket created with `SOCK_NONBLOCK`, assuming `ready` (see
    /// `Evented::from_nonblocking`).
    pub(super) fn from_nonblocking(sock: impl Into<OwnedFd>, ready: Ready) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: Evented::from_nonblocking(net::UnixStream::from(sock.into()), ready)?,
        })
    }

    /// Connects to the socket named by `path`. A path starting with a NUL
    /// byte (`"\0name"`) names an abstract-namespace socket.
    ///
    /// Errors: `NotFound` if nothing is bound at the path,
    /// `ConnectionRefused` if the socket there does not listen,
    /// `InvalidInput` for a path that is too long or empty, and
    /// `WouldBlock` if the listener's backlog is full (as tokio).
    pub async fn connect<P>(path: P) -> io::Result<UnixStream>
    where
        P: AsRef<Path>,
    {
        let addr = SocketAddr(socketaddr::from_path(path.as_ref())?);
        UnixStream::connect_addr(&addr).await
    }

    /// Connects to the socket at `socket_addr` (a path or an abstract name).
    pub async fn connect_addr(socket_addr: &SocketAddr) -> io::Result<UnixStream> {
        let target = socketaddr::to_sockaddr(&socket_addr.0)?;
        let sock = Socket::new(Domain::UNIX, Type::STREAM.nonblocking().cloexec(), None)?;
        UnixStream::connect_socket(sock, &target).await
    }

    /// Connects `sock`, a non-blocking Unix stream socket, to `target`
    /// (for [`connect_addr`](Self::connect_addr) and `UnixSocket::connect`).
    pub(super) async fn connect_socket(sock: Socket, target: &socket2::SockAddr) -> io::Result<UnixStream> {
        match sock.connect(target) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "connect: the Unix listener's backlog is full (EAGAIN)",
                ));
            }
            Err(e) => return Err(e),
        }
        let stream = UnixStream::from_nonblocking(sock, Ready::EMPTY)?;
        // As tokio: writable means the connect finished; SO_ERROR says how.
        stream.io.finish_connect().await?;
        Ok(stream)
    }

    /// Creates an unnamed pair of connected sockets.
    ///
    /// Both start writable, before the reactor has seen them, as in tokio:
    /// their buffers are empty. They turn readable once the other writes.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM.nonblocking().cloexec(), None)?;
        Ok((
            UnixStream::from_nonblocking(a, Ready::WRITABLE)?,
            UnixStream::from_nonblocking(b, Ready::WRITABLE)?,
        ))
    }

    /// Wraps a std `UnixStream` (sets it non-blocking, unlike tokio, which
    /// requires the caller to).
    pub fn from_std(stream: net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::new(stream)
    }

    /// Deregisters and returns the std socket, still in non-blocking mode.
    pub fn into_std(self) -> io::Result<net::UnixStream> {
        self.io.into_inner()
    }

    crate::io::evented_methods!(|this| &this.io;
        ready, readable, writable, poll_read_ready, poll_write_ready,
        try_read, try_read_vectored, try_read_buf, try_write, try_write_vectored,
        try_io, async_io,
    );

    /// The local address (unnamed for a client that did not bind).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr().map(SocketAddr)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr().map(SocketAddr)
    }

    /// The peer's credentials (`SO_PEERCRED`), as captured at connect time.
    pub fn peer_cred(&self) -> io::Result<UCred> {
        ucred::get_peer_cred(self.io.as_fd())
    }

    /// Returns and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Splits a borrowed stream into a read half and a write half, usable
    /// concurrently (from two tasks of one scope).
    ///
    /// With futures' `AsyncReadExt` in scope, `stream.split()` resolves to
    /// that trait's by-value `split`; write `UnixStream::split(&mut stream)`
    /// there (tokio's extension traits have no such method).
    pub fn split<'a>(&'a mut self) -> (ReadHalf<'a>, WriteHalf<'a>) {
        split::split(self)
    }

    /// Splits the stream into owned halves that can move to different
    /// tasks or threads. Dropping the write half shuts the write direction
    /// down; [`OwnedReadHalf::reunite`] puts them back together.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::split_owned(self)
    }

    /// Shuts down the read, write, or both halves (`shutdown(2)`), without
    /// waiting; `NotConnected` is `Ok`, as in tokio. The `AsyncWrite`
    /// `poll_shutdown`/`poll_close` of the stream and its write halves shut
    /// down the write half through this.
    pub(super) fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown_stream(how)
    }
}

impl_stream_io!([] UnixStream, |this| &this.io, |s| s.shutdown_std(Shutdown::Write));

crate::io::impl_socket_traits!(UnixStream, net::UnixStream);

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream").field("io", &self.io).finish()
    }
}

impl AsRef<Self> for UnixStream {
    fn as_ref(&self) -> &Self {
        self
    }
}
