//! [`Evented`]: a socket registered with the reactor, and the read, write,
//! send and receive paths the socket types share.
//!
//! Stream reads and writes go through `Source::poll_io_drain`: a short read
//! (or write) clears readiness at once, so the common case costs one
//! `recv` (or `send`) per message and no trailing `EAGAIN` syscall. Sends
//! carry `MSG_NOSIGNAL`: writing to a reset peer is an `io::Error`, never a
//! `SIGPIPE`.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut, Read};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use socket2::{SockAddr, SockRef};
use sockwq_reactor::{Async, Handle, Interest, Ready, Registration, Source};

#[cfg(feature = "tokio")]
use super::buf::recv_into_read_buf;
use super::buf::{as_uninit, iov_max, iov_max_mut, recv_into_buf_mut, total_len};

/// A non-blocking socket registered with a reactor: the reactor's
/// [`Async`], plus the socket paths (`MSG_NOSIGNAL` sends, `MSG_PEEK`,
/// uninitialized receive buffers, short-read draining) that every socket
/// type of this crate shares.
pub(crate) struct Evented<S: AsFd> {
    io: Async<S>,
}

impl<S: AsFd> fmt::Debug for Evented<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evented")
            .field("fd", &self.io.as_raw_fd())
            .field("readiness", &self.io.source().readiness())
            .finish()
    }
}

impl<S: AsFd> Evented<S> {
    /// Sets `O_NONBLOCK` on `sock` and registers it with the current reactor.
    pub(crate) fn new(sock: S) -> io::Result<Evented<S>> {
        Ok(Evented {
            io: Async::new(sock)?,
        })
    }

    /// Registers `sock`, which the caller created non-blocking already
    /// (`socket`, `accept4` or `socketpair` with `SOCK_NONBLOCK`), with the
    /// current reactor, assuming `ready` until the socket says otherwise:
    /// saves the `fcntl` calls of [`new`](Evented::new).
    ///
    /// tokio assumes a just-accepted socket readable and writable (its
    /// first read is tried at once, which saves a reactor turn per
    /// connection when the client's first bytes are queued already, and
    /// costs one `EAGAIN` otherwise), and a fresh socket pair writable.
    pub(crate) fn from_nonblocking(sock: S, ready: Ready) -> io::Result<Evented<S>> {
        let io = Async::from_nonblocking(sock, &Handle::try_current()?, ready)?;
        Ok(Evented { io })
    }

    pub(crate) fn get_ref(&self) -> &S {
        self.io.get_ref()
    }

    #[inline]
    pub(crate) fn source(&self) -> &Source {
        self.io.source()
    }

    pub(crate) fn registration(&self) -> &Registration {
        self.io.registration()
    }

    #[inline]
    pub(crate) fn sock_ref(&self) -> SockRef<'_> {
        SockRef::from(self.io.get_ref())
    }

    /// The socket's fd, for the direct `recv`/`send` of the stream and
    /// connected-datagram paths: the one its source was registered with
    /// (read from the source, which the IO poll touches anyway).
    #[inline]
    fn raw_fd(&self) -> RawFd {
        self.source().fd()
    }

    /// Deregisters and returns the socket, still non-blocking.
    pub(crate) fn into_inner(self) -> io::Result<S> {
        self.io.into_inner()
    }

    /// `shutdown(2)` on a stream socket, with `NotConnected` reported as
    /// success, as tokio's `shutdown_std` does (tokio #4665, #8520): the
    /// peer may reset the connection or go away at any moment before the
    /// call, and what the caller asked for (no more writes) holds anyway.
    /// A reset is still reported to readers.
    pub(crate) fn shutdown_stream(&self, how: Shutdown) -> io::Result<()> {
        match self.sock_ref().shutdown(how) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            res => res,
        }
    }

    // ---- readiness ------------------------------------------------------

    /// Waits for any of `interest`; returns what is ready.
    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        Ok(self.source().ready(interest).await?.ready())
    }

    /// Waits until the socket is readable.
    pub(crate) async fn readable(&self) -> io::Result<()> {
        self.io.readable().await.map(drop)
    }

    /// Waits until the socket is writable.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        self.io.writable().await.map(drop)
    }

    /// Polls for read readiness (the single-waiter read slot).
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_readable(cx).map_ok(drop)
    }

    /// Polls for write readiness (the single-waiter write slot).
    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_writable(cx).map_ok(drop)
    }

    /// Waits for a non-blocking `connect` to finish (the socket turns
    /// writable), then reports its outcome from `SO_ERROR`. Uses the
    /// single-waiter write slot: the connecting task is the only one.
    pub(crate) async fn finish_connect(&self) -> io::Result<()> {
        poll_fn(|cx| self.io.poll_writable(cx)).await?;
        match self.sock_ref().take_error()? {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// `tokio`-style `try_io`: runs `f` only if ready for `interest`;
    /// clears that readiness if `f` returns `WouldBlock`.
    pub(crate) fn try_io<R>(&self, interest: Interest, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.source().try_io(interest, f)
    }

    /// `tokio`-style `async_io`: waits for `interest` and runs `f` until it
    /// does not return `WouldBlock`.
    pub(crate) async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| self.source().poll_io(cx, interest, &mut f)).await
    }

    /// Polls `f` under `interest` (datagram sockets, accept, ...).
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.source().poll_io(cx, interest, f)
    }

    // ---- stream reads -------------------------------------------------

    /// Reads from a stream socket into `buf`.
    #[inline]
    pub(crate) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let want = buf.len();
        let fd = self.raw_fd();
        self.source().poll_io_drain(cx, Interest::READABLE, || {
            let n = recv(fd, as_uninit(buf))?;
            Ok((n, n > 0 && n < want))
        })
    }

    /// Reads from a stream socket into a tokio `ReadBuf`'s unfilled part,
    /// which is never zeroed first.
    #[inline]
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_read_buf(
        &self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: we only hand the unfilled part to `recv`, which writes bytes
        // and never de-initializes any.
        let unfilled = unsafe { buf.unfilled_mut() };
        let want = unfilled.len();
        let fd = self.raw_fd();
        let n = std::task::ready!(self.source().poll_io_drain(cx, Interest::READABLE, || {
            let n = recv(fd, unfilled)?;
            Ok((n, n > 0 && n < want))
        }))?;
        // SAFETY: `recv` initialized the first `n` bytes of the unfilled part.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let bufs = iov_max_mut(bufs);
        let want = total_len(bufs.iter().map(|b| b.len()));
        self.source().poll_io_drain(cx, Interest::READABLE, || {
            let n = (&*self.sock_ref()).read_vectored(bufs)?;
            Ok((n, n > 0 && n < want))
        })
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.source()
            .try_io(Interest::READABLE, || (&*self.sock_ref()).read(buf))
    }

    pub(crate) fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let bufs = iov_max_mut(bufs);
        self.source()
            .try_io(Interest::READABLE, || (&*self.sock_ref()).read_vectored(bufs))
    }

    /// `try_read` into `buf`'s spare capacity (not zeroed first).
    pub(crate) fn try_read_buf<B: bytes::BufMut + ?Sized>(&self, buf: &mut B) -> io::Result<usize> {
        self.source()
            .try_io(Interest::READABLE, || self.recv_buf_now(buf))
    }

    /// Receives without removing what it got from the queue (`MSG_PEEK`):
    /// a stream's queued bytes, or the next datagram.
    pub(crate) async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    /// Polls to peek at a socket's queued bytes (`MSG_PEEK`).
    pub(crate) fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.source()
            .poll_io(cx, Interest::READABLE, || self.sock_ref().peek(as_uninit(buf)))
    }

    /// Peeks at a stream socket's queued bytes into a tokio `ReadBuf`'s
    /// unfilled part (never zeroed first); returns how many were copied.
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_peek_read_buf(
        &self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.poll_io(cx, Interest::READABLE, || {
            // SAFETY: the closure is a `recv(MSG_PEEK)`, which only writes
            // received bytes and returns how many.
            unsafe { recv_into_read_buf(buf, |b| self.sock_ref().peek(b).map(|n| (n, n))) }
        })
    }

    // ---- stream writes ------------------------------------------------

    /// Writes `buf` with `MSG_NOSIGNAL`.
    #[inline]
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let want = buf.len();
        self.source().poll_io_drain(cx, Interest::WRITABLE, || {
            let n = self.send_now(buf)?;
            Ok((n, n > 0 && n < want))
        })
    }

    /// Writes `bufs` with one `sendmsg` (a real vectored write), `MSG_NOSIGNAL`.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let bufs = iov_max(bufs);
        let want = total_len(bufs.iter().map(|b| b.len()));
        self.source().poll_io_drain(cx, Interest::WRITABLE, || {
            let n = self
                .sock_ref()
                .send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)?;
            Ok((n, n > 0 && n < want))
        })
    }

    /// Writes (or sends a datagram) without waiting, `MSG_NOSIGNAL`.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.source().try_io(Interest::WRITABLE, || self.send_now(buf))
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let bufs = iov_max(bufs);
        self.source().try_io(Interest::WRITABLE, || {
            self.sock_ref().send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
        })
    }

    // ---- datagram sends and receives ----------------------------------

    /// Sends a datagram to the connected peer, `MSG_NOSIGNAL`.
    pub(crate) async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.async_io(Interest::WRITABLE, || self.send_now(buf)).await
    }

    /// Polls to send a datagram to the connected peer, `MSG_NOSIGNAL`.
    pub(crate) fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_io(cx, Interest::WRITABLE, || self.send_now(buf))
    }

    /// Receives a datagram from the connected peer.
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.async_io(Interest::READABLE, || recv(self.raw_fd(), as_uninit(buf)))
            .await
    }

    /// Receives a datagram from the connected peer without waiting.
    pub(crate) fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_io(Interest::READABLE, || recv(self.raw_fd(), as_uninit(buf)))
    }

    /// Receives a datagram into `buf`'s spare capacity.
    pub(crate) async fn recv_buf<B: bytes::BufMut + ?Sized>(&self, buf: &mut B) -> io::Result<usize> {
        self.async_io(Interest::READABLE, || self.recv_buf_now(buf)).await
    }

    /// Receives a datagram and its sender into `buf`'s spare capacity
    /// without waiting.
    pub(crate) fn try_recv_buf_from<B: bytes::BufMut + ?Sized>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, SockAddr)> {
        self.try_io(Interest::READABLE, || self.recv_buf_from_now(buf))
    }

    /// Receives a datagram and its sender into `buf`'s spare capacity.
    pub(crate) async fn recv_buf_from<B: bytes::BufMut + ?Sized>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, SockAddr)> {
        self.async_io(Interest::READABLE, || self.recv_buf_from_now(buf))
            .await
    }

    /// Polls to receive a datagram into a tokio `ReadBuf`'s unfilled part
    /// (never zeroed first).
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.poll_io(cx, Interest::READABLE, || {
            // SAFETY: the closure is a `recv`, which only writes received
            // bytes and returns how many.
            unsafe { recv_into_read_buf(buf, |b| recv(self.raw_fd(), b).map(|n| (n, ()))) }
        })
    }

    /// Polls to receive a datagram and its sender into a tokio `ReadBuf`'s
    /// unfilled part (never zeroed first).
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<SockAddr>> {
        self.poll_io(cx, Interest::READABLE, || {
            // SAFETY: the closure is a `recvfrom`, which only writes
            // received bytes and returns how many.
            unsafe { recv_into_read_buf(buf, |b| self.sock_ref().recv_from(b)) }
        })
    }

    /// One `send` with `MSG_NOSIGNAL`: a closed peer is an error, never a
    /// `SIGPIPE`.
    #[inline]
    fn send_now(&self, buf: &[u8]) -> io::Result<usize> {
        send_nosignal(self.raw_fd(), buf)
    }

    /// One `recv` into `buf`'s spare capacity, advancing `buf` past it.
    fn recv_buf_now<B: bytes::BufMut + ?Sized>(&self, buf: &mut B) -> io::Result<usize> {
        // SAFETY: the closure is a `recv`, which only writes received bytes
        // and returns how many.
        let (n, ()) = unsafe { recv_into_buf_mut(buf, |b| recv(self.raw_fd(), b).map(|n| (n, ()))) }?;
        Ok(n)
    }

    /// One `recvfrom` into `buf`'s spare capacity, advancing `buf` past it.
    fn recv_buf_from_now<B: bytes::BufMut + ?Sized>(&self, buf: &mut B) -> io::Result<(usize, SockAddr)> {
        // SAFETY: the closure is a `recvfrom`, which only writes received
        // bytes and returns how many.
        unsafe { recv_into_buf_mut(buf, |b| self.sock_ref().recv_from(b)) }
    }
}

/// One `recv(2)` on `fd` into `buf`, whose bytes need not be initialized.
/// Every stream read and connected datagram receive. A raw system call (rustix's `linux_raw` backend)
/// rather than libc's `recv` or `socket2`: glibc wraps `recv`/`send` as
/// thread-cancellation points (`__pthread_enable_asynccancel` and
/// `..._disable_...` around the syscall, ~70 instructions per call once a
/// process has threads), which sockwq never uses; see benches/README.md.
#[inline]
fn recv(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: `fd` is the registered socket of the `Evented` the caller
    // borrows, open for as long as that borrow (see `Evented::raw_fd`).
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let (_, n) = rustix::net::recv(fd, buf, rustix::net::RecvFlags::empty())?;
    Ok(n)
}

/// One `send(2)` of `buf` on `fd` with `MSG_NOSIGNAL` (a reset peer is an
/// error, never a `SIGPIPE`). Every stream write and connected send.
#[inline]
fn send_nosignal(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: as in `recv`: the caller's `Evented` keeps `fd` open.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    Ok(rustix::net::send(fd, buf, rustix::net::SendFlags::NOSIGNAL)?)
}

impl<S: AsFd> AsFd for Evented<S> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}
