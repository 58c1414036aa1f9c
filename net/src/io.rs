//! [`Evented`]: the core every socket type wraps — the socket and its
//! registration with the reactor — and the read/write paths they share.
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
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use socket2::SockRef;
use sockwq_reactor::{Handle, Interest, Ready, Registration, Source};

/// A non-blocking socket registered with a reactor.
pub(crate) struct Evented<S: AsFd> {
    // Declared first: dropped (deregistered) before the socket closes.
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
        let reg = handle.register(&sock)?;
        Ok(Evented { reg, sock })
    }

    /// Registers `sock`, which the caller created non-blocking already
    /// (`accept4`/`socket` with `SOCK_NONBLOCK`), with the current reactor:
    /// saves the `fcntl` of [`new`](Evented::new) on every accept/connect.
    pub(crate) fn new_nonblocking(sock: S) -> io::Result<Evented<S>> {
        let reg = Handle::try_current()?.register(&sock)?;
        Ok(Evented { reg, sock })
    }

    pub(crate) fn get_ref(&self) -> &S {
        &self.sock
    }

    pub(crate) fn source(&self) -> &Source {
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

    /// Waits for any of `interest`; returns what is ready.
    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        Ok(self.reg.ready(interest).await?.ready())
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

    #[cfg(feature = "tokio")]
    /// Reads from a stream socket into possibly uninitialized memory
    /// (tokio's `ReadBuf`): the buffer is never zeroed first.
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let want = buf.len();
        self.reg.poll_io_drain(cx, Interest::READABLE, || {
            let n = self.sock_ref().recv(buf)?;
            Ok((n, n > 0 && n < want))
        })
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

    /// Peeks at a stream socket's queued bytes.
    pub(crate) fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.reg
            .poll_io(cx, Interest::READABLE, || self.sock_ref().peek(as_uninit(buf)))
    }

    // ---- stream writes ------------------------------------------------

    /// Writes `buf` with `MSG_NOSIGNAL`.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let want = buf.len();
        self.reg.poll_io_drain(cx, Interest::WRITABLE, || {
            let n = self.sock_ref().send_with_flags(buf, libc::MSG_NOSIGNAL)?;
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

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.reg.try_io(Interest::WRITABLE, || {
            self.sock_ref().send_with_flags(buf, libc::MSG_NOSIGNAL)
        })
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.reg.try_io(Interest::WRITABLE, || {
            self.sock_ref().send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
        })
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

/// Reads into a tokio `ReadBuf`'s unfilled part without zeroing it.
#[cfg(feature = "tokio")]
pub(crate) fn poll_read_buf<S: AsFd>(
    ev: &Evented<S>,
    cx: &mut Context<'_>,
    buf: &mut tokio::io::ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    // SAFETY: we only hand the unfilled part to `recv`, which writes bytes
    // and never de-initializes any.
    let unfilled = unsafe { buf.unfilled_mut() };
    match ev.poll_read_uninit(cx, unfilled) {
        Poll::Ready(Ok(n)) => {
            // SAFETY: `recv` initialized the first `n` bytes of the unfilled part.
            unsafe { buf.assume_init(n) };
            buf.advance(n);
            Poll::Ready(Ok(()))
        }
        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        Poll::Pending => Poll::Pending,
    }
}

/// Runs a receive `f` on `buf`'s unfilled part (never zeroed first) and
/// marks the bytes it wrote as filled; returns `f`'s extra result (say,
/// the sender's address). For datagram sockets' tokio-style `poll_recv*`.
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
pub(crate) unsafe fn recv_into_buf_mut<B: bytes::BufMut + ?Sized, R>(
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

/// Implements futures-io's and (with the `tokio` feature) tokio's
/// `AsyncRead`/`AsyncWrite` for a stream type by delegating to the
/// [`Evented`] that `$get` returns.
///
/// `$ty` is the type (with lifetime generics if any), `$self` binds
/// `&Self` inside `$get`, and `$shutdown` shuts the write half down
/// (`poll_close` / `poll_shutdown`).
macro_rules! impl_stream_io {
    ([$($gen:tt)*] $ty:ty, |$this:ident| $get:expr, |$sd:ident| $shutdown:expr) => {
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
                let $sd = &*self;
                std::task::Poll::Ready($shutdown)
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
                $crate::io::poll_read_buf($get, cx, buf)
            }
        }

        #[cfg(feature = "tokio")]
        impl<$($gen)*> tokio::io::AsyncWrite for $ty {
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
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $sd = &*self;
                std::task::Poll::Ready($shutdown)
            }
        }
    };
}
pub(crate) use impl_stream_io;

/// Implements only the read side of [`impl_stream_io!`] (futures-io
/// `AsyncRead` and, with the `tokio` feature, tokio's) — for read halves.
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
                $crate::io::poll_read_buf($get, cx, buf)
            }
        }
    };
}
pub(crate) use impl_read_io;

/// Implements only the write side of [`impl_stream_io!`] (futures-io
/// `AsyncWrite` and, with the `tokio` feature, tokio's) — for write halves.
/// `$shutdown` runs with `$sd: &mut Self` (a half may record that it shut
/// down).
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
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $sd = std::pin::Pin::into_inner(self);
                std::task::Poll::Ready($shutdown)
            }
        }
    };
}
pub(crate) use impl_write_io;

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
            tokio::io::AsyncWriteExt::write_all(&mut b, b"world")
                .await
                .unwrap();
            let mut buf = [0u8; 5];
            tokio::io::AsyncReadExt::read_exact(&mut a, &mut buf)
                .await
                .unwrap();
            assert_eq!(&buf, b"world");
            assert!(tokio::io::AsyncWrite::is_write_vectored(&b));
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
