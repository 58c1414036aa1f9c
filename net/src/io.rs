//! [`Evented`]: the core every socket type wraps — the socket and its
//! registration with the reactor — and the read/write paths they share.
//!
//! Stream reads and writes go through `Source::poll_io_drain`: a short read
//! (or write) clears readiness at once, so the common case costs one
//! `recv` (or `send`) per message and no trailing `EAGAIN` syscall. Sends
//! carry `MSG_NOSIGNAL`: writing to a reset peer is an `io::Error`, never a
//! `SIGPIPE`.
//!
//! The public socket types are thin, and written once here: their
//! readiness, `try_*` and connected-datagram methods come from
//! [`evented_methods!`], their `AsyncRead`/`AsyncWrite` impls from
//! [`impl_read_io!`]/[`impl_write_io!`], and `AsFd`/`AsRawFd`/`TryFrom`
//! from [`impl_socket_traits!`]; all forward to [`Evented`].

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut, Read};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use socket2::{SockAddr, SockRef};
use sockwq_reactor::{Handle, Interest, Ready, Registration, Source};

/// A non-blocking socket registered with a reactor.
///
/// It owns the socket, which keeps the registered fd open for as long as
/// the registration lives (the contract of the `unsafe`
/// `Handle::register`): `reg` is declared first, so it is dropped
/// (deregistered) before the socket closes; `into_inner` deregisters
/// before handing the socket back; nothing else hands out the socket by
/// value or mutably.
pub(crate) struct Evented<S: AsFd> {
    reg: Registration,
    sock: S,
}

impl<S: AsFd> fmt::Debug for Evented<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evented")
            .field("fd", &self.sock.as_fd().as_raw_fd())
            .field("readiness", &self.reg.readiness())
            .finish()
    }
}

impl<S: AsFd> Evented<S> {
    /// Sets `O_NONBLOCK` on `sock` and registers it with the current reactor.
    pub(crate) fn new(sock: S) -> io::Result<Evented<S>> {
        Self::with_handle(sock, &Handle::try_current()?)
    }

    /// Sets `O_NONBLOCK` on `sock` and registers it with `handle`'s reactor.
    pub(crate) fn with_handle(sock: S, handle: &Handle) -> io::Result<Evented<S>> {
        SockRef::from(&sock).set_nonblocking(true)?;
        // SAFETY: see `Evented`: it owns `sock` and drops `reg` first.
        let reg = unsafe { handle.register(&sock)? };
        Ok(Evented { reg, sock })
    }

    /// Registers `sock`, which the caller created non-blocking already
    /// (`accept4`/`socket` with `SOCK_NONBLOCK`), with the current reactor:
    /// saves the `fcntl` of [`new`](Evented::new) on every accept/connect.
    pub(crate) fn new_nonblocking(sock: S) -> io::Result<Evented<S>> {
        // SAFETY: see `Evented`: it owns `sock` and drops `reg` first.
        let reg = unsafe { Handle::try_current()?.register(&sock)? };
        Ok(Evented { reg, sock })
    }

    /// Registers a just-accepted (`SOCK_NONBLOCK`) socket, assumed readable
    /// and writable: the first read is tried at once, as tokio does, which
    /// saves a reactor turn per connection when the client's first bytes
    /// are already queued (the usual case) and costs one `EAGAIN` otherwise.
    pub(crate) fn new_accepted(sock: S) -> io::Result<Evented<S>> {
        let ready = sockwq_reactor::Ready::READABLE | sockwq_reactor::Ready::WRITABLE;
        // SAFETY: see `Evented`: it owns `sock` and drops `reg` first.
        let reg = unsafe { Handle::try_current()?.register_assume_ready(&sock, ready)? };
        Ok(Evented { reg, sock })
    }

    pub(crate) fn get_ref(&self) -> &S {
        &self.sock
    }

    pub(crate) fn source(&self) -> &Source {
        &self.reg
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.reg
    }

    pub(crate) fn sock_ref(&self) -> SockRef<'_> {
        SockRef::from(&self.sock)
    }

    /// Deregisters and returns the socket, still non-blocking.
    pub(crate) fn into_inner(self) -> io::Result<S> {
        let Evented { reg, sock } = self;
        reg.deregister()?;
        Ok(sock)
    }

    // ---- readiness ------------------------------------------------------

    /// Waits for any of `interest`; returns what is ready.
    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        Ok(self.reg.ready(interest).await?.ready())
    }

    /// Waits until the socket is readable.
    pub(crate) async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until the socket is writable.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Polls for read readiness (the single-waiter read slot).
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.reg.poll_read_ready(cx).map_ok(drop)
    }

    /// Polls for write readiness (the single-waiter write slot).
    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.reg.poll_write_ready(cx).map_ok(drop)
    }

    /// Waits for a non-blocking `connect` to finish (the socket turns
    /// writable), then reports its outcome from `SO_ERROR`. Uses the
    /// single-waiter write slot: the connecting task is the only one.
    pub(crate) async fn finish_connect(&self) -> io::Result<()> {
        poll_fn(|cx| self.reg.poll_write_ready(cx)).await?;
        match self.sock_ref().take_error()? {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// `tokio`-style `try_io`: runs `f` only if ready for `interest`;
    /// clears that readiness if `f` returns `WouldBlock`.
    pub(crate) fn try_io<R>(&self, interest: Interest, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.reg.try_io(interest, f)
    }

    /// `tokio`-style `async_io`: waits for `interest` and runs `f` until it
    /// does not return `WouldBlock`.
    pub(crate) async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| self.reg.poll_io(cx, interest, &mut f)).await
    }

    /// Polls `f` under `interest` (datagram sockets, accept, ...).
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.reg.poll_io(cx, interest, f)
    }

    // ---- stream reads -------------------------------------------------

    /// Reads from a stream socket into `buf`.
    pub(crate) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let want = buf.len();
        self.reg.poll_io_drain(cx, Interest::READABLE, || {
            let n = (&*self.sock_ref()).read(buf)?;
            Ok((n, n > 0 && n < want))
        })
    }

    /// Reads from a stream socket into a tokio `ReadBuf`'s unfilled part,
    /// which is never zeroed first.
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
        let n = std::task::ready!(self.reg.poll_io_drain(cx, Interest::READABLE, || {
            let n = self.sock_ref().recv(unfilled)?;
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
        let want: usize = bufs.iter().map(|b| b.len()).sum();
        self.reg.poll_io_drain(cx, Interest::READABLE, || {
            let n = (&*self.sock_ref()).read_vectored(bufs)?;
            Ok((n, n > 0 && n < want))
        })
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.reg
            .try_io(Interest::READABLE, || (&*self.sock_ref()).read(buf))
    }

    pub(crate) fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.reg
            .try_io(Interest::READABLE, || (&*self.sock_ref()).read_vectored(bufs))
    }

    /// `try_read` into `buf`'s spare capacity (not zeroed first).
    pub(crate) fn try_read_buf<B: bytes::BufMut + ?Sized>(&self, buf: &mut B) -> io::Result<usize> {
        self.reg.try_io(Interest::READABLE, || self.recv_buf_now(buf))
    }

    /// Receives without removing what it got from the queue (`MSG_PEEK`):
    /// a stream's queued bytes, or the next datagram.
    pub(crate) async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    /// Polls to peek at a socket's queued bytes (`MSG_PEEK`).
    pub(crate) fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.reg
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
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let want = buf.len();
        self.reg.poll_io_drain(cx, Interest::WRITABLE, || {
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
        let want: usize = bufs.iter().map(|b| b.len()).sum();
        self.reg.poll_io_drain(cx, Interest::WRITABLE, || {
            let n = self
                .sock_ref()
                .send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)?;
            Ok((n, n > 0 && n < want))
        })
    }

    /// Writes (or sends a datagram) without waiting, `MSG_NOSIGNAL`.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.reg.try_io(Interest::WRITABLE, || self.send_now(buf))
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.reg.try_io(Interest::WRITABLE, || {
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
        self.async_io(Interest::READABLE, || self.sock_ref().recv(as_uninit(buf)))
            .await
    }

    /// Receives a datagram from the connected peer without waiting.
    pub(crate) fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_io(Interest::READABLE, || self.sock_ref().recv(as_uninit(buf)))
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
            unsafe { recv_into_read_buf(buf, |b| self.sock_ref().recv(b).map(|n| (n, ()))) }
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
    fn send_now(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock_ref().send_with_flags(buf, libc::MSG_NOSIGNAL)
    }

    /// One `recv` into `buf`'s spare capacity, advancing `buf` past it.
    fn recv_buf_now<B: bytes::BufMut + ?Sized>(&self, buf: &mut B) -> io::Result<usize> {
        // SAFETY: the closure is a `recv`, which only writes received bytes
        // and returns how many.
        let (n, ()) = unsafe { recv_into_buf_mut(buf, |b| self.sock_ref().recv(b).map(|n| (n, ()))) }?;
        Ok(n)
    }

    /// One `recvfrom` into `buf`'s spare capacity, advancing `buf` past it.
    fn recv_buf_from_now<B: bytes::BufMut + ?Sized>(&self, buf: &mut B) -> io::Result<(usize, SockAddr)> {
        // SAFETY: the closure is a `recvfrom`, which only writes received
        // bytes and returns how many.
        unsafe { recv_into_buf_mut(buf, |b| self.sock_ref().recv_from(b)) }
    }
}

impl<S: AsFd> AsFd for Evented<S> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

impl<S: AsFd> AsRawFd for Evented<S> {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_fd().as_raw_fd()
    }
}

/// Views an initialized buffer as `MaybeUninit` for socket2's receive calls.
pub(crate) fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and the callee (a
    // socket2 receive) only writes initialized bytes into it, so `buf`
    // stays initialized.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}

/// Runs a receive `f` on `buf`'s unfilled part (never zeroed first) and
/// marks the bytes it wrote as filled; returns `f`'s extra result (say,
/// the sender's address). For tokio-style `poll_recv*`/`poll_peek*`.
///
/// # Safety
///
/// `f` must only write initialized bytes into the slice it gets (a socket
/// receive does) and, on success, return `n` such that it initialized the
/// first `n` bytes.
#[cfg(feature = "tokio")]
pub(crate) unsafe fn recv_into_read_buf<R>(
    buf: &mut tokio::io::ReadBuf<'_>,
    f: impl FnOnce(&mut [MaybeUninit<u8>]) -> io::Result<(usize, R)>,
) -> io::Result<R> {
    // SAFETY: per this function's contract, `f` never de-initializes bytes.
    let unfilled = unsafe { buf.unfilled_mut() };
    let (n, r) = f(unfilled)?;
    // SAFETY: per the contract, `f` initialized the first `n` bytes.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Ok(r)
}

/// Runs a receive `f` on `buf`'s spare capacity (never zeroed first) and
/// advances `buf` past the bytes it wrote; returns the byte count and
/// `f`'s extra result. For tokio's `try_read_buf`/`recv_buf*` methods.
///
/// # Safety
///
/// As [`recv_into_read_buf`]: `f` only writes initialized bytes and, on
/// success, returns `n` such that it initialized the first `n` bytes.
unsafe fn recv_into_buf_mut<B: bytes::BufMut + ?Sized, R>(
    buf: &mut B,
    f: impl FnOnce(&mut [MaybeUninit<u8>]) -> io::Result<(usize, R)>,
) -> io::Result<(usize, R)> {
    // SAFETY: per this function's contract, `f` never de-initializes bytes.
    let dst = unsafe { buf.chunk_mut().as_uninit_slice_mut() };
    let (n, r) = f(dst)?;
    // SAFETY: per the contract, `f` initialized the first `n` bytes of the
    // chunk, which is `buf`'s spare capacity.
    unsafe { buf.advance_mut(n) };
    Ok((n, r))
}

/// Defines public readiness and `try_*` methods (tokio's names, signatures
/// and semantics) on a socket type, each forwarding to the [`Evented`]
/// that `$io` returns (`$this` is `&self` there). Each type lists the
/// methods it offers; each method is written once, in its arm below:
///
/// ```text
/// impl TcpStream {
///     evented_methods!(|this| &this.io; ready, readable, try_read);
/// }
/// ```
macro_rules! evented_methods {
    (|$this:ident| $io:expr; $($method:ident),+ $(,)?) => {
        $( $crate::io::evented_methods!(@$method |$this| $io); )+
    };

    // ---- readiness, every socket type ----
    (@ready |$this:ident| $io:expr) => {
        /// Waits for any of the requested readiness; returns what is ready.
        ///
        /// Takes sockwq's [`Interest`](sockwq_reactor::Interest) or tokio's
        /// `Interest`. Any number of tasks may wait at once. The readiness
        /// may be a false positive: the next `try_*` call may still return
        /// `WouldBlock`.
        pub async fn ready(
            &self,
            interest: impl Into<sockwq_reactor::Interest>,
        ) -> std::io::Result<sockwq_reactor::Ready> {
            let $this = self;
            $io.ready(interest.into()).await
        }
    };
    (@readable |$this:ident| $io:expr) => {
        /// Waits until the socket is readable (data, end of stream or an
        /// error), so that a `try_*` read or receive may succeed.
        pub async fn readable(&self) -> std::io::Result<()> {
            let $this = self;
            $io.readable().await
        }
    };
    (@writable |$this:ident| $io:expr) => {
        /// Waits until the socket is writable, so that a `try_*` write or
        /// send may succeed.
        pub async fn writable(&self) -> std::io::Result<()> {
            let $this = self;
            $io.writable().await
        }
    };
    (@poll_read_ready |$this:ident| $io:expr) => {
        /// Polls for read readiness. On `Pending`, the waker is woken when
        /// the socket becomes readable; only the last task to poll is
        /// guaranteed a wakeup.
        pub fn poll_read_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let $this = self;
            $io.poll_read_ready(cx)
        }
    };
    (@poll_write_ready |$this:ident| $io:expr) => {
        /// Polls for write readiness. On `Pending`, the waker is woken when
        /// the socket becomes writable; only the last task to poll is
        /// guaranteed a wakeup.
        pub fn poll_write_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let $this = self;
            $io.poll_write_ready(cx)
        }
    };
    (@poll_recv_ready |$this:ident| $io:expr) => {
        /// Polls for receive readiness. On `Pending`, the waker is woken
        /// when a datagram can be received; only the last task to poll is
        /// guaranteed a wakeup.
        pub fn poll_recv_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let $this = self;
            $io.poll_read_ready(cx)
        }
    };
    (@poll_send_ready |$this:ident| $io:expr) => {
        /// Polls for send readiness. On `Pending`, the waker is woken when
        /// the socket can send; only the last task to poll is guaranteed a
        /// wakeup.
        pub fn poll_send_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let $this = self;
            $io.poll_write_ready(cx)
        }
    };
    (@try_io |$this:ident| $io:expr) => {
        /// Runs a user IO operation `f` on the socket if it is ready for
        /// `interest`; if `f` returns `WouldBlock`, that readiness is
        /// cleared. Returns `WouldBlock` without calling `f` if not ready
        /// (as tokio's `try_io`).
        ///
        /// `f` should do its IO with raw syscalls on the fd (not with this
        /// type's methods), and return `WouldBlock` only when a syscall did.
        pub fn try_io<R>(
            &self,
            interest: impl Into<sockwq_reactor::Interest>,
            f: impl FnOnce() -> std::io::Result<R>,
        ) -> std::io::Result<R> {
            let $this = self;
            $io.try_io(interest.into(), f)
        }
    };
    (@async_io |$this:ident| $io:expr) => {
        /// Waits for `interest` and runs `f` until it returns anything but
        /// `WouldBlock` (clearing readiness on each `WouldBlock`), as
        /// tokio's `async_io`. Use one interest (readable or writable).
        pub async fn async_io<R>(
            &self,
            interest: impl Into<sockwq_reactor::Interest>,
            f: impl FnMut() -> std::io::Result<R>,
        ) -> std::io::Result<R> {
            let $this = self;
            $io.async_io(interest.into(), f).await
        }
    };

    // ---- stream reads and writes ----
    (@try_read |$this:ident| $io:expr) => {
        /// Tries to read into `buf` without waiting; `WouldBlock` if no
        /// data is queued (and then read readiness is cleared). `Ok(0)`
        /// means end of stream (or an empty `buf`).
        pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            let $this = self;
            $io.try_read(buf)
        }
    };
    (@try_read_vectored |$this:ident| $io:expr) => {
        /// Like [`try_read`](Self::try_read), into several buffers with one
        /// `readv`.
        pub fn try_read_vectored(
            &self,
            bufs: &mut [std::io::IoSliceMut<'_>],
        ) -> std::io::Result<usize> {
            let $this = self;
            $io.try_read_vectored(bufs)
        }
    };
    (@try_read_buf |$this:ident| $io:expr) => {
        /// Like [`try_read`](Self::try_read), appending to a
        /// [`bytes::BufMut`] (its spare capacity is not zeroed first).
        pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
            let $this = self;
            $io.try_read_buf(buf)
        }
    };
    (@try_write |$this:ident| $io:expr) => {
        /// Tries to write `buf` without waiting (`send` with
        /// `MSG_NOSIGNAL`); `WouldBlock` if the send buffer is full (and
        /// then write readiness is cleared). Returns how many bytes were
        /// written.
        pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
            let $this = self;
            $io.try_write(buf)
        }
    };
    (@try_write_vectored |$this:ident| $io:expr) => {
        /// Like [`try_write`](Self::try_write), from several buffers with
        /// one `sendmsg`.
        pub fn try_write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
            let $this = self;
            $io.try_write_vectored(bufs)
        }
    };

    // ---- datagram sends and receives ----
    (@send |$this:ident| $io:expr) => {
        /// Sends a datagram to the connected peer (`MSG_NOSIGNAL`); returns
        /// the bytes sent.
        pub async fn send(&self, buf: &[u8]) -> std::io::Result<usize> {
            let $this = self;
            $io.send(buf).await
        }
    };
    (@poll_send |$this:ident| $io:expr) => {
        /// Polls to send a datagram to the connected peer.
        pub fn poll_send(
            &self,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            let $this = self;
            $io.poll_send(cx, buf)
        }
    };
    (@try_send |$this:ident| $io:expr) => {
        /// Sends a datagram to the connected peer without waiting:
        /// `WouldBlock` if the send buffer is full.
        pub fn try_send(&self, buf: &[u8]) -> std::io::Result<usize> {
            let $this = self;
            // The same `send(2)` as a stream's `try_write`.
            $io.try_write(buf)
        }
    };
    (@recv |$this:ident| $io:expr) => {
        /// Receives a datagram from the connected peer, truncated to
        /// `buf.len()` (the rest of a longer datagram is discarded).
        pub async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            let $this = self;
            $io.recv(buf).await
        }
    };
    (@try_recv |$this:ident| $io:expr) => {
        /// Receives a datagram without waiting: `WouldBlock` if no datagram
        /// is queued.
        pub fn try_recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            let $this = self;
            $io.try_recv(buf)
        }
    };
    (@poll_recv |$this:ident| $io:expr) => {
        /// Polls to receive a datagram into `buf`'s unfilled part, which is
        /// never zeroed first; a datagram longer than the space left is
        /// truncated.
        #[cfg(feature = "tokio")]
        pub fn poll_recv(
            &self,
            cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let $this = self;
            $io.poll_recv(cx, buf)
        }
    };
    (@peek |$this:ident| $io:expr) => {
        /// Receives the next datagram from the connected peer without
        /// removing it from the queue.
        pub async fn peek(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            let $this = self;
            $io.peek(buf).await
        }
    };
    (@try_recv_buf |$this:ident| $io:expr) => {
        /// Receives a datagram into `buf`'s spare capacity (not zeroed
        /// first) without waiting; truncated to that capacity.
        /// `WouldBlock` if no datagram is queued.
        pub fn try_recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
            let $this = self;
            $io.try_read_buf(buf)
        }
    };
    (@recv_buf |$this:ident| $io:expr) => {
        /// Receives a datagram into `buf`'s spare capacity (not zeroed
        /// first); truncated to that capacity.
        pub async fn recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
            let $this = self;
            $io.recv_buf(buf).await
        }
    };
}
pub(crate) use evented_methods;

/// Implements futures-io's and (with the `tokio` feature) tokio's
/// `AsyncRead` for a stream type (or read half) by delegating to the
/// [`Evented`] that `$get` returns (`$this` binds `&Self` there).
macro_rules! impl_read_io {
    ([$($gen:tt)*] $ty:ty, |$this:ident| $get:expr) => {
        impl<$($gen)*> futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $get.poll_read(cx, buf)
            }
            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $get.poll_read_vectored(cx, bufs)
            }
        }

        #[cfg(feature = "tokio")]
        impl<$($gen)*> tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $this = &*self;
                $get.poll_read_buf(cx, buf)
            }
        }
    };
}
pub(crate) use impl_read_io;

/// Implements futures-io's and (with the `tokio` feature) tokio's
/// `AsyncWrite` for a stream type (or write half) by delegating to the
/// [`Evented`] that `$get` returns (`$this` binds `&Self` there). Flushing
/// is a no-op; `poll_close`/`poll_shutdown` run `$shutdown` with
/// `$sd: &mut Self` (a half may record that it shut down). tokio's impl
/// forwards to futures-io's.
macro_rules! impl_write_io {
    ([$($gen:tt)*] $ty:ty, |$this:ident| $get:expr, |$sd:ident| $shutdown:expr) => {
        impl<$($gen)*> futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $get.poll_write(cx, buf)
            }
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $get.poll_write_vectored(cx, bufs)
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $sd = std::pin::Pin::into_inner(self);
                std::task::Poll::Ready($shutdown)
            }
        }

        #[cfg(feature = "tokio")]
        impl<$($gen)*> tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(self, cx, buf)
            }
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncWrite::poll_write_vectored(self, cx, bufs)
            }
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(self, cx)
            }
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                futures_io::AsyncWrite::poll_close(self, cx)
            }
        }
    };
}
pub(crate) use impl_write_io;

/// Implements `AsFd` and `AsRawFd` (the fd of the socket in the type's
/// `io: Evented<_>` field) and `TryFrom<$std>` (as the type's `from_std`)
/// for a socket type.
macro_rules! impl_socket_traits {
    ($ty:ident, $std:ty) => {
        impl TryFrom<$std> for $ty {
            type Error = std::io::Error;

            #[doc = concat!("Same as [`", stringify!($ty), "::from_std`].")]
            fn try_from(socket: $std) -> std::io::Result<$ty> {
                $ty::from_std(socket)
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.io)
            }
        }

        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&self.io)
            }
        }

        /// The socket's reactor source: lets a
        /// [`fasync::Owner`](sockwq_reactor::fasync::Owner) attach to it.
        impl sockwq_reactor::fasync::AsSource for $ty {
            fn as_source(&self) -> &std::sync::Arc<sockwq_reactor::Source> {
                sockwq_reactor::fasync::AsSource::as_source(self.io.registration())
            }
        }
    };
}
pub(crate) use impl_socket_traits;

/// [`impl_read_io!`] and [`impl_write_io!`] together, for a whole stream.
macro_rules! impl_stream_io {
    ([$($gen:tt)*] $ty:ty, |$this:ident| $get:expr, |$sd:ident| $shutdown:expr) => {
        $crate::io::impl_read_io!([$($gen)*] $ty, |$this| $get);
        $crate::io::impl_write_io!([$($gen)*] $ty, |$this| $get, |$sd| $shutdown);
    };
}
pub(crate) use impl_stream_io;

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    /// A minimal stream type over the shared core, as the real ones are built.
    struct Pipe(Evented<UnixStream>);
    impl_stream_io!([] Pipe, |this| &this.0, |s| s.0.get_ref().shutdown(std::net::Shutdown::Write));

    #[test]
    fn stream_core_round_trip_both_trait_families() {
        futures::executor::block_on(async {
            use futures_util::io::{AsyncReadExt, AsyncWriteExt};
            let (a, b) = UnixStream::pair().unwrap();
            let (mut a, mut b) = (Pipe(Evented::new(a).unwrap()), Pipe(Evented::new(b).unwrap()));
            // futures-io, a vectored write, then close (shutdown write).
            let n = a
                .write_vectored(&[IoSlice::new(b"hel"), IoSlice::new(b"lo")])
                .await
                .unwrap();
            assert_eq!(n, 5);
            AsyncWriteExt::close(&mut a).await.unwrap();
            let mut got = Vec::new();
            AsyncReadExt::read_to_end(&mut b, &mut got).await.unwrap();
            assert_eq!(got, b"hello");
            // tokio's traits on the other direction.
            #[cfg(feature = "tokio")]
            {
                tokio::io::AsyncWriteExt::write_all(&mut b, b"world")
                    .await
                    .unwrap();
                let mut buf = [0u8; 5];
                tokio::io::AsyncReadExt::read_exact(&mut a, &mut buf)
                    .await
                    .unwrap();
                assert_eq!(&buf, b"world");
                assert!(tokio::io::AsyncWrite::is_write_vectored(&b));
            }
        });
    }

    #[test]
    fn write_to_closed_peer_is_an_error_not_sigpipe() {
        futures::executor::block_on(async {
            use futures_util::io::AsyncWriteExt;
            let (a, b) = UnixStream::pair().unwrap();
            drop(b);
            let mut a = Pipe(Evented::new(a).unwrap());
            let err = a.write_all(&[0u8; 1024]).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        });
    }
}
