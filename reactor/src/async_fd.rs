//! [`Async<T>`]: any fd-backed IO object, made non-blocking and registered.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::interest::{Interest, Ready};
use crate::reactor::{Handle, Registration};
use crate::source::{ReadyEvent, Source};
use crate::sys;

/// An fd-backed IO object on the reactor: pipes, eventfds, ttys, sockets.
///
/// Like async-io's `Async` or tokio's `AsyncFd`: `new` sets `O_NONBLOCK`
/// and registers the fd; reads and writes wait for readiness instead of
/// blocking. Implements futures-io's `AsyncRead`/`AsyncWrite` when `T`
/// (or `&T`) implements `Read`/`Write`.
///
/// ```
/// use std::os::unix::net::UnixStream;
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// use sockwq_reactor::Async;
///
/// futures::executor::block_on(async {
///     let (a, b) = UnixStream::pair()?;
///     let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
///     a.write_all(b"hello").await?;
///     let mut buf = [0; 5];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Async<T: AsFd> {
    // Field order matters: the registration is dropped (deregistered)
    // before the IO object closes the fd.
    reg: Registration,
    io: T,
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async")
            .field("io", &self.io)
            .field("source", &*self.reg)
            .finish()
    }
}

impl<T: AsFd> Async<T> {
    /// Makes `io` non-blocking and registers it with the current reactor
    /// ([`Handle::current`]).
    pub fn new(io: T) -> io::Result<Async<T>> {
        Self::with_handle(io, &Handle::try_current()?)
    }

    /// Makes `io` non-blocking and registers it with `handle`'s reactor.
    pub fn with_handle(io: T, handle: &Handle) -> io::Result<Async<T>> {
        sys::set_nonblocking(io.as_fd().as_raw_fd())?;
        Self::from_nonblocking(io, handle, Ready::EMPTY)
    }

    /// Registers `io`, which is non-blocking already, with `handle`'s
    /// reactor, with `ready` assumed until the fd says otherwise (see
    /// [`Handle::register_assume_ready`]; [`Ready::EMPTY`] assumes nothing).
    ///
    /// For fds created non-blocking (`socket`, `accept4` or `socketpair`
    /// with `SOCK_NONBLOCK`): saves the `fcntl` calls of
    /// [`with_handle`](Async::with_handle). IO on an fd that is in fact
    /// blocking blocks the calling thread.
    pub fn from_nonblocking(io: T, handle: &Handle, ready: Ready) -> io::Result<Async<T>> {
        let reg = handle.register_assume_ready(&io, ready)?;
        Ok(Async { reg, io })
    }

    /// The inner IO object.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The inner IO object, mutably.
    ///
    /// # Safety
    ///
    /// The caller must not close the fd or replace the object with one
    /// owning another fd: the reactor would go on watching the old number.
    pub unsafe fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// Deregisters and returns the IO object (still non-blocking).
    pub fn into_inner(self) -> io::Result<T> {
        let Async { reg, io } = self;
        reg.deregister()?;
        Ok(io)
    }

    /// The source: readiness, polling and waiting.
    pub fn source(&self) -> &Source {
        &self.reg
    }

    /// The registration (the reactor's handle, readiness).
    pub fn registration(&self) -> &Registration {
        &self.reg
    }

    /// Waits until the fd is readable.
    pub async fn readable(&self) -> io::Result<ReadyEvent> {
        self.reg.readable().await
    }

    /// Waits until the fd is writable.
    pub async fn writable(&self) -> io::Result<ReadyEvent> {
        self.reg.writable().await
    }

    /// Polls for read readiness.
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.reg.poll_read_ready(cx)
    }

    /// Polls for write readiness.
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.reg.poll_write_ready(cx)
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for read
    /// readiness in between.
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.reg.poll_io(cx, Interest::READABLE, || op(&self.io))).await
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for write
    /// readiness in between.
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.reg.poll_io(cx, Interest::WRITABLE, || op(&self.io))).await
    }
}

impl<T: AsFd> crate::fasync::AsSource for Async<T> {
    fn as_source(&self) -> &std::sync::Arc<Source> {
        crate::fasync::AsSource::as_source(&self.reg)
    }
}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl<T: AsFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl<T: AsFd + Read + Unpin> futures_io::AsyncRead for Async<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let Async { reg, io } = self.get_mut();
        reg.poll_io(cx, Interest::READABLE, || io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let Async { reg, io } = self.get_mut();
        reg.poll_io(cx, Interest::READABLE, || io.read_vectored(bufs))
    }
}

impl<T: AsFd> futures_io::AsyncRead for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = *self;
        this.reg.poll_io(cx, Interest::READABLE, || (&this.io).read(buf))
    }
}

impl<T: AsFd + Write + Unpin> futures_io::AsyncWrite for Async<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let Async { reg, io } = self.get_mut();
        reg.poll_io(cx, Interest::WRITABLE, || io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let Async { reg, io } = self.get_mut();
        reg.poll_io(cx, Interest::WRITABLE, || io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Async { reg, io } = self.get_mut();
        reg.poll_io(cx, Interest::WRITABLE, || io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T: AsFd> futures_io::AsyncWrite for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = *self;
        this.reg.poll_io(cx, Interest::WRITABLE, || (&this.io).write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = *self;
        this.reg.poll_io(cx, Interest::WRITABLE, || (&this.io).flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
