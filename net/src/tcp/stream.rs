//! [`TcpStream`]: a connected TCP socket on the reactor.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};
use std::time::Duration;

use sockwq_reactor::Ready;

use super::socket::TcpSocket;
use super::split::{self, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::addr::{ToSocketAddrs, no_addresses, to_socket_addrs};
use crate::io::{Evented, impl_stream_io};

/// A TCP stream between a local and a remote socket, registered with the
/// sockwq reactor.
///
/// Created by [connecting](TcpStream::connect), by
/// [accepting](crate::tcp::TcpListener::accept) a connection, or from a
/// `std::net::TcpStream` with [`from_std`](TcpStream::from_std). Reading and
/// writing go through futures-io's `AsyncRead`/`AsyncWrite` (and tokio's,
/// with the default `tokio` feature), or through the readiness methods
/// ([`readable`](TcpStream::readable), [`try_read`](TcpStream::try_read),
/// ...). Writes use `MSG_NOSIGNAL`: writing to a reset peer is an
/// `io::Error`, never a `SIGPIPE`.
///
/// `TcpStream` is `Send + Sync`; [`into_split`](TcpStream::into_split)
/// gives halves that two tasks (on two threads) can drive at once.
///
/// ```
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// use sockwq_net::{TcpListener, TcpStream};
///
/// # futures::executor::block_on(async {
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
///
/// let mut client = TcpStream::connect(addr).await?;
/// let (mut server, _peer) = listener.accept().await?;
///
/// client.write_all(b"ping").await?;
/// let mut buf = [0u8; 4];
/// server.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct TcpStream {
    pub(crate) io: Evented<std::net::TcpStream>,
}

impl TcpStream {
    /// Opens a TCP connection to a remote host.
    ///
    /// `addr` is resolved with [`ToSocketAddrs`] (host names off the
    /// executor thread); each resulting address is tried in turn until one
    /// connects, and the last error is returned if none does. A refused
    /// connection is [`io::ErrorKind::ConnectionRefused`].
    ///
    /// The connect is non-blocking: the socket is registered, the task
    /// waits until it is writable, and `SO_ERROR` tells the outcome.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let addrs = to_socket_addrs(addr).await?;
        let mut last_err = None;
        for addr in addrs {
            let res = match TcpSocket::new_for_addr(addr) {
                Ok(socket) => socket.connect_nonblocking(addr).await,
                Err(e) => Err(e),
            };
            match res {
                Ok(stream) => return Ok(stream),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(no_addresses))
    }

    /// Registers a connected (or connecting) socket, making it non-blocking.
    pub(crate) fn new(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Evented::new(stream)?,
        })
    }

    /// Registers a socket made by [`TcpSocket`] with `SOCK_NONBLOCK`: no
    /// `fcntl` needed.
    pub(crate) fn new_nonblocking(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Evented::from_nonblocking(stream, Ready::EMPTY)?,
        })
    }

    /// Registers a socket just accepted with `accept4(SOCK_NONBLOCK)`,
    /// assumed readable and writable, as tokio does (see
    /// `Evented::from_nonblocking`).
    pub(crate) fn new_accepted(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Evented::from_nonblocking(stream, Ready::READABLE | Ready::WRITABLE)?,
        })
    }

    /// Waits for a non-blocking connect to finish; checks `SO_ERROR`.
    pub(crate) async fn finish_connect(self) -> io::Result<TcpStream> {
        self.io.finish_connect().await?;
        Ok(self)
    }

    /// Creates a `TcpStream` from a `std::net::TcpStream`.
    ///
    /// The socket is put in non-blocking mode (unlike tokio, which leaves
    /// that to the caller) and registered with the current reactor (the
    /// one entered on this thread, else the global one).
    ///
    /// A socket whose non-blocking `connect(2)` is still in flight
    /// (`EINPROGRESS`) may be passed: [`writable`](TcpStream::writable)
    /// then waits for the connect, and [`take_error`](TcpStream::take_error)
    /// tells its outcome. A fasync channel attached while the connect is in
    /// flight (`SYN_SENT`) is notified of it (`POLL_OUT`, or `POLL_ERR`); on
    /// loopback the handshake usually completes inside `connect(2)`, so to
    /// be notified of every connect, attach a [`TcpSocket`] before
    /// [`TcpSocket::connect`] instead (see its `Attach` impl).
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::new(stream)
    }

    /// Deregisters the stream and returns it as a `std::net::TcpStream`.
    ///
    /// The returned stream is still in non-blocking mode; call
    /// `set_nonblocking(false)` to change that.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.io.into_inner()
    }

    /// Returns the local address that this stream is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Returns the value of the `SO_ERROR` option (and clears it).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Returns the remote address that this stream is connected to.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Attempts to receive data without removing it from the queue.
    ///
    /// On `Poll::Ready(Ok(n))`, `n` bytes were copied into the unfilled
    /// part of `buf` (and `buf` advanced by `n`); `0` means end of stream.
    /// On `Poll::Pending`, the waker is woken when the socket is readable.
    /// Only the last task to call this (or another read-side poll) is
    /// guaranteed a wakeup.
    #[cfg(feature = "tokio")]
    pub fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.io.poll_peek_read_buf(cx, buf)
    }

    /// Attempts to receive data into a slice without removing it from the
    /// queue: tokio's `poll_peek` (which this crate offers with the `tokio`
    /// feature) for a plain `&mut [u8]`, with or without that feature.
    ///
    /// On `Poll::Ready(Ok(n))`, `n` bytes were copied into the start of
    /// `buf`; `0` means end of stream. On `Poll::Pending`, the waker is
    /// woken when the socket is readable. Only the last task to call this
    /// (or another read-side poll) is guaranteed a wakeup.
    pub fn poll_peek_slice(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_peek(cx, buf)
    }

    crate::io::evented_methods!(|this| &this.io;
        ready, readable, writable, poll_read_ready, poll_write_ready,
        try_read, try_read_vectored, try_read_buf, try_write, try_write_vectored,
        try_io, async_io,
    );

    /// Receives data without removing it from the queue (`MSG_PEEK`):
    /// successive calls return the same data. Waits until data (or EOF) is
    /// there; `Ok(0)` means end of stream.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.peek(buf).await
    }

    /// Shuts down the read, write, or both halves (`shutdown(2)`), without
    /// waiting; `NotConnected` (the peer reset the connection) is `Ok`, as in
    /// tokio. The `AsyncWrite` `poll_shutdown`/`poll_close` of the stream and
    /// its write halves shut down the write half through this.
    pub(crate) fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown_stream(how)
    }

    /// Gets the value of `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets `TCP_NODELAY`: if true, segments are sent as soon as possible
    /// (Nagle's algorithm off).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Gets the value of `TCP_QUICKACK`.
    pub fn quickack(&self) -> io::Result<bool> {
        self.io.sock_ref().tcp_quickack()
    }

    /// Sets `TCP_QUICKACK`: acknowledgments are sent at once rather than
    /// delayed (the kernel may reset it; see `tcp(7)`).
    pub fn set_quickack(&self, quickack: bool) -> io::Result<()> {
        self.io.sock_ref().set_tcp_quickack(quickack)
    }

    /// Gets the value of `SO_LINGER`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.io.sock_ref().linger()
    }

    /// Sets `SO_LINGER`.
    ///
    /// Deprecated as in tokio: a non-zero linger makes `close` (the drop)
    /// block the thread. A zero linger does not block: see
    /// [`set_zero_linger`](TcpStream::set_zero_linger).
    #[deprecated = "`SO_LINGER` causes the socket to block the thread on drop"]
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.io.sock_ref().set_linger(dur)
    }

    /// Sets a zero `SO_LINGER`: dropping the stream then aborts the
    /// connection with a `RST` (unsent data is discarded, no `TIME_WAIT`).
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.io.sock_ref().set_linger(Some(Duration::ZERO))
    }

    /// Gets the value of `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets `IP_TTL`, the time-to-live of outgoing packets.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// Splits a borrowed stream into a read half and a write half, usable
    /// at the same time (e.g. in `join!`). No allocation, no lock.
    pub fn split<'a>(&'a mut self) -> (ReadHalf<'a>, WriteHalf<'a>) {
        split::split(self)
    }

    /// Splits the stream into owned halves that can move to different
    /// tasks (or threads). Dropping the write half shuts down the write
    /// direction; [`OwnedReadHalf::reunite`] puts them back together.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::split_owned(self)
    }
}

impl_stream_io!([] TcpStream, |this| &this.io, |s| s.shutdown_std(Shutdown::Write));

impl AsRef<TcpStream> for TcpStream {
    fn as_ref(&self) -> &TcpStream {
        self
    }
}

crate::io::impl_socket_traits!(TcpStream, std::net::TcpStream);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpStream");
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &addr);
        }
        d.field("io", &self.io).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<TcpStream>();
        assert_send_sync::<ReadHalf<'static>>();
        assert_send_sync::<WriteHalf<'static>>();
        assert_send_sync::<OwnedReadHalf>();
        assert_send_sync::<OwnedWriteHalf>();
        assert_send_sync::<crate::tcp::TcpListener>();
        assert_send_sync::<TcpSocket>();
    }
}
