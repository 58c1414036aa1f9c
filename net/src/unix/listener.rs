//! [`UnixListener`]: a Unix-domain stream socket accepting connections.

use std::fmt;
use std::io;
use std::os::unix::net;
use std::path::Path;
use std::task::{Context, Poll, ready};

use socket2::Socket;
use sockwq_reactor::Interest;

use super::socketaddr::{self, SocketAddr};
use super::stream::UnixStream;
use crate::io::Evented;

/// A Unix-domain socket server, listening for connections (as
/// `tokio::net::UnixListener`).
///
/// A path starting with a NUL byte binds in Linux's abstract namespace:
/// no file is created, and the name disappears with the socket.
///
/// ```
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// use sockwq_net::{UnixListener, UnixStream};
///
/// futures::executor::block_on(async {
///     let name = format!("\0sockwq-doc-listener-{}", std::process::id());
///     let listener = UnixListener::bind(&name)?;
///     let mut client = UnixStream::connect(&name).await?;
///     let (mut server, _peer) = listener.accept().await?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0u8; 2];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener {
    io: Evented<net::UnixListener>,
}

impl UnixListener {
    /// Creates a listener bound to `path` (`"\0name"`: an abstract name).
    ///
    /// Errors: `AddrInUse` if something is bound there already (a stale
    /// socket file must be removed first, as with tokio), `InvalidInput`
    /// for an empty or too long path.
    pub fn bind<P>(path: P) -> io::Result<UnixListener>
    where
        P: AsRef<Path>,
    {
        let addr = SocketAddr(socketaddr::from_path(path.as_ref())?);
        UnixListener::bind_addr(&addr)
    }

    /// Creates a listener bound to `socket_addr`.
    pub fn bind_addr(socket_addr: &SocketAddr) -> io::Result<UnixListener> {
        if socket_addr.is_unnamed() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot bind a listener to an unnamed Unix socket address",
            ));
        }
        let listener = net::UnixListener::bind_addr(&socket_addr.0)?;
        Ok(UnixListener {
            io: Evented::new(listener)?,
        })
    }

    /// Wraps a std listener (sets it non-blocking).
    pub fn from_std(listener: net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: Evented::new(listener)?,
        })
    }

    /// Deregisters and returns the std listener, still non-blocking.
    pub fn into_std(self) -> io::Result<net::UnixListener> {
        self.io.into_inner()
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr().map(SocketAddr)
    }

    /// Returns and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Accepts a connection. Cancel safe: when the future is dropped before
    /// completing, no connection was taken from the queue.
    ///
    /// Resource errors (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`) are
    /// returned, never retried in a busy loop.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = self.io.async_io(Interest::READABLE, || self.accept_now()).await?;
        Ok((UnixStream::new_accepted(stream)?, addr))
    }

    /// Polls to accept a connection; only the last task to poll is woken.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (stream, addr) = ready!(self.io.poll_io(cx, Interest::READABLE, || self.accept_now()))?;
        Poll::Ready(UnixStream::new_accepted(stream).map(|s| (s, addr)))
    }
}

impl UnixListener {
    /// One `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)`; `EINTR` and
    /// `ECONNABORTED` (a client that gave up while queued) are retried at
    /// once — each retry consumes the interruption or the aborted
    /// connection, so this cannot spin.
    fn accept_now(&self) -> io::Result<(Socket, SocketAddr)> {
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        loop {
            match self.io.sock_ref().accept4(flags) {
                Ok((sock, addr)) => return Ok((sock, SocketAddr(socketaddr::from_sockaddr(&addr)?))),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

crate::io::impl_socket_traits!(UnixListener, net::UnixListener);

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener").field("io", &self.io).finish()
    }
}
