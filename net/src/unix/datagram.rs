//! [`UnixDatagram`]: a Unix-domain datagram socket.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net;
use std::path::Path;
use std::task::{Context, Poll};

use socket2::{Domain, Socket, Type};
use sockwq_reactor::{Interest, Ready};

use super::socketaddr::{self, SocketAddr};
use crate::io::{Evented, as_uninit};

/// A Unix-domain datagram socket on the sockwq reactor (as
/// `tokio::net::UnixDatagram`).
///
/// Datagram boundaries are kept. A receive buffer smaller than the
/// datagram gets its first `buf.len()` bytes; the rest of that datagram is
/// discarded (as tokio, and `recv(2)`).
///
/// ```
/// use sockwq_net::UnixDatagram;
///
/// futures::executor::block_on(async {
///     let (a, b) = UnixDatagram::pair()?;
///     a.send(b"one datagram").await?;
///     let mut buf = [0u8; 64];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one datagram");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixDatagram {
    io: Evented<net::UnixDatagram>,
}

impl UnixDatagram {
    fn new(sock: net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Evented::new(sock)?,
        })
    }

    /// Creates a socket bound to `path` (`"\0name"`: an abstract name).
    ///
    /// Errors: `AddrInUse` if the address is taken, `InvalidInput` for an
    /// empty or too long path.
    pub fn bind<P>(path: P) -> io::Result<UnixDatagram>
    where
        P: AsRef<Path>,
    {
        let addr = socketaddr::from_path(path.as_ref())?;
        UnixDatagram::new(net::UnixDatagram::bind_addr(&addr)?)
    }

    /// Creates an unnamed pair of connected sockets.
    ///
    /// Both start ready to send, before the reactor has seen them, as in
    /// tokio: their buffers are empty. They turn ready to receive once the
    /// other sends.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = Socket::pair(Domain::UNIX, Type::DGRAM.nonblocking().cloexec(), None)?;
        let new = |sock: Socket| -> io::Result<UnixDatagram> {
            let sock = net::UnixDatagram::from(OwnedFd::from(sock));
            Ok(UnixDatagram {
                io: Evented::from_nonblocking(sock, Ready::WRITABLE)?,
            })
        };
        Ok((new(a)?, new(b)?))
    }

    /// Wraps a std socket (sets it non-blocking).
    pub fn from_std(datagram: net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::new(datagram)
    }

    /// Deregisters and returns the std socket, still non-blocking.
    pub fn into_std(self) -> io::Result<net::UnixDatagram> {
        self.io.into_inner()
    }

    /// Creates a socket not bound to any address.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::new(net::UnixDatagram::unbound()?)
    }

    /// Connects the socket to `path`: `send`/`recv` then talk to that peer
    /// only. Completes at once (no handshake for datagrams).
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        let addr = socketaddr::from_path(path.as_ref())?;
        self.io.get_ref().connect_addr(&addr)
    }

    crate::io::evented_methods!(|this| &this.io;
        ready, readable, writable, poll_recv_ready, poll_send_ready,
        send, poll_send, try_send, recv, poll_recv, try_recv, peek,
        try_recv_buf, recv_buf, try_io, async_io,
    );

    /// Sends a datagram to `target` without waiting.
    pub fn try_send_to<P>(&self, buf: &[u8], target: P) -> io::Result<usize>
    where
        P: AsRef<Path>,
    {
        let addr = socketaddr::from_path(target.as_ref())?;
        self.io
            .try_io(Interest::WRITABLE, || self.io.get_ref().send_to_addr(buf, &addr))
    }

    /// Sends a datagram to `target` (`"\0name"`: an abstract name).
    pub async fn send_to<P>(&self, buf: &[u8], target: P) -> io::Result<usize>
    where
        P: AsRef<Path>,
    {
        let addr = socketaddr::from_path(target.as_ref())?;
        self.io
            .async_io(Interest::WRITABLE, || self.io.get_ref().send_to_addr(buf, &addr))
            .await
    }

    /// Polls to send a datagram to `target`.
    pub fn poll_send_to<P>(&self, cx: &mut Context<'_>, buf: &[u8], target: P) -> Poll<io::Result<usize>>
    where
        P: AsRef<Path>,
    {
        let addr = socketaddr::from_path(target.as_ref())?;
        self.io.poll_io(cx, Interest::WRITABLE, || {
            self.io.get_ref().send_to_addr(buf, &addr)
        })
    }

    /// Like [`try_recv_buf`](Self::try_recv_buf), also returning the
    /// sender's address.
    pub fn try_recv_buf_from<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.try_recv_buf_from(buf)?;
        Ok((n, SocketAddr(socketaddr::from_sockaddr(&addr)?)))
    }

    /// Like [`recv_buf`](Self::recv_buf), also returning the sender's
    /// address.
    pub async fn recv_buf_from<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.recv_buf_from(buf).await?;
        Ok((n, SocketAddr(socketaddr::from_sockaddr(&addr)?)))
    }

    /// Receives a datagram and its sender's address.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self
            .io
            .async_io(Interest::READABLE, || self.io.get_ref().recv_from(buf))
            .await?;
        Ok((n, SocketAddr(addr)))
    }

    /// Receives a datagram and its sender's address without waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self
            .io
            .try_io(Interest::READABLE, || self.io.get_ref().recv_from(buf))?;
        Ok((n, SocketAddr(addr)))
    }

    /// Polls to receive a datagram into `buf`'s unfilled part (not zeroed
    /// first); returns the sender's address.
    #[cfg(feature = "tokio")]
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let addr = std::task::ready!(self.io.poll_recv_from(cx, buf))?;
        Poll::Ready(Ok(SocketAddr(socketaddr::from_sockaddr(&addr)?)))
    }

    /// Like [`peek`](Self::peek), also returning the sender's address
    /// (sockwq extra).
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .async_io(Interest::READABLE, || self.peek_from_now(buf))
            .await
    }

    /// [`peek_from`](Self::peek_from) without waiting (sockwq extra).
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Interest::READABLE, || self.peek_from_now(buf))
    }

    fn peek_from_now(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.sock_ref().peek_from(as_uninit(buf))?;
        Ok((n, SocketAddr(socketaddr::from_sockaddr(&addr)?)))
    }

    /// The local address (unnamed if not bound).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr().map(SocketAddr)
    }

    /// The connected peer's address (`NotConnected` if not connected).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr().map(SocketAddr)
    }

    /// Returns and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Shuts down the read, write, or both halves of the socket.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }
}

crate::io::impl_socket_traits!(UnixDatagram, net::UnixDatagram);

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram").field("io", &self.io).finish()
    }
}
