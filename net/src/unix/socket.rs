//! [`UnixSocket`]: a Unix-domain socket not yet listening, connected or
//! turned into a datagram socket, as `tokio::net::UnixSocket`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net;
use std::path::Path;

use socket2::{Domain, Socket, Type};

use super::socketaddr;
use super::{UnixDatagram, UnixListener, UnixStream};

/// A Unix-domain socket that is not yet a listener, a stream or a datagram
/// socket (as `tokio::net::UnixSocket`): create it, set options on it
/// (through [`socket2::SockRef`]), bind it, then turn it into what it is
/// for with [`listen`](UnixSocket::listen),
/// [`connect`](UnixSocket::connect) or [`datagram`](UnixSocket::datagram).
///
/// A path starting with a NUL byte (`"\0name"`) binds in Linux's abstract
/// namespace.
///
/// ```
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// use sockwq_net::UnixSocket;
///
/// futures::executor::block_on(async {
///     let name = format!("\0sockwq-doc-unixsocket-{}", std::process::id());
///     let server = UnixSocket::new_stream()?;
///     server.bind(&name)?;
///     let listener = server.listen(128)?;
///
///     let mut client = UnixSocket::new_stream()?.connect(&name).await?;
///     let (mut accepted, _) = listener.accept().await?;
///     client.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     accepted.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixSocket {
    inner: Socket,
}

impl UnixSocket {
    /// Creates a new Unix datagram socket (`SOCK_DGRAM`, non-blocking,
    /// close-on-exec).
    ///
    /// ```
    /// use sockwq_net::UnixSocket;
    /// let name = format!("\0sockwq-doc-unixsocket-dgram-{}", std::process::id());
    /// let socket = UnixSocket::new_datagram()?;
    /// socket.bind(&name)?;
    /// let datagram = socket.datagram()?;
    /// assert_eq!(
    ///     datagram.local_addr()?.as_abstract_name(),
    ///     Some(&name.as_bytes()[1..])
    /// );
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new_datagram() -> io::Result<UnixSocket> {
        UnixSocket::new(Type::DGRAM)
    }

    /// Creates a new Unix stream socket (`SOCK_STREAM`, non-blocking,
    /// close-on-exec).
    pub fn new_stream() -> io::Result<UnixSocket> {
        UnixSocket::new(Type::STREAM)
    }

    fn new(ty: Type) -> io::Result<UnixSocket> {
        Ok(UnixSocket {
            inner: Socket::new(Domain::UNIX, ty.nonblocking().cloexec(), None)?,
        })
    }

    /// The socket's type. tokio unwraps this; here a descriptor that is
    /// not a socket (from [`from_raw_fd`](FromRawFd::from_raw_fd)) is an
    /// error, never a panic.
    fn ty(&self) -> io::Result<Type> {
        self.inner.r#type()
    }

    /// Binds the socket to `path` (`"\0name"`: an abstract name).
    ///
    /// Errors: `AddrInUse` if something is bound there already, and
    /// `InvalidInput` for a path that is empty or too long.
    pub fn bind(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let addr = socketaddr::from_path(path.as_ref())?;
        self.inner.bind(&socketaddr::to_sockaddr(&addr)?)
    }

    /// Makes a stream socket listen, with `backlog` (clamped to
    /// `i32::MAX`; the kernel caps it at `net.core.somaxconn`), and
    /// returns the listener.
    ///
    /// Errors: a datagram socket cannot listen (an error of kind `Other`,
    /// as in tokio).
    pub fn listen(self, backlog: u32) -> io::Result<UnixListener> {
        if self.ty()? == Type::DGRAM {
            return Err(io::Error::other("listen cannot be called on a datagram socket"));
        }
        self.inner.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        UnixListener::from_std(net::UnixListener::from(OwnedFd::from(self.inner)))
    }

    /// Connects a stream socket to `path` and returns the stream once the
    /// connection is established.
    ///
    /// Errors: a datagram socket cannot connect this way (kind `Other`, as
    /// in tokio; use [`datagram`](UnixSocket::datagram) and then
    /// [`UnixDatagram::connect`]); otherwise as [`UnixStream::connect`]:
    /// `NotFound`, `ConnectionRefused`, `InvalidInput`, and `WouldBlock`
    /// when the listener's backlog is full.
    pub async fn connect(self, path: impl AsRef<Path>) -> io::Result<UnixStream> {
        if self.ty()? == Type::DGRAM {
            return Err(io::Error::other("connect cannot be called on a datagram socket"));
        }
        let addr = socketaddr::from_path(path.as_ref())?;
        let target = socketaddr::to_sockaddr(&addr)?;
        // From `from_raw_fd` it may be a blocking socket: a blocking connect
        // would stall the executor thread.
        self.inner.set_nonblocking(true)?;
        UnixStream::connect_socket(self.inner, &target).await
    }

    /// Turns a datagram socket into a [`UnixDatagram`].
    ///
    /// Errors: a stream socket cannot (kind `Other`, as in tokio).
    pub fn datagram(self) -> io::Result<UnixDatagram> {
        if self.ty()? == Type::STREAM {
            return Err(io::Error::other("datagram cannot be called on a stream socket"));
        }
        UnixDatagram::from_std(net::UnixDatagram::from(OwnedFd::from(self.inner)))
    }
}

impl fmt::Debug for UnixSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixSocket")
            .field("fd", &self.inner.as_raw_fd())
            .field("type", &self.inner.r#type().ok())
            .finish()
    }
}

impl AsRawFd for UnixSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl AsFd for UnixSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl FromRawFd for UnixSocket {
    /// Wraps a Unix-domain socket's fd (made non-blocking when it is
    /// connected, listens, or becomes a datagram socket).
    ///
    /// # Safety
    ///
    /// `fd` must be an open file descriptor that the caller owns and
    /// hands over, as for [`OwnedFd::from_raw_fd`].
    unsafe fn from_raw_fd(fd: RawFd) -> UnixSocket {
        UnixSocket {
            // SAFETY: the caller's contract above is `Socket::from_raw_fd`'s.
            inner: unsafe { Socket::from_raw_fd(fd) },
        }
    }
}

impl IntoRawFd for UnixSocket {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}
