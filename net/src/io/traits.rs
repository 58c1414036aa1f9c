//! The trait impls every socket type shares: `AsyncRead`/`AsyncWrite`
//! (futures-io, and tokio's with the `tokio` feature) for streams and their
//! halves, and `AsFd`/`AsRawFd`/`TryFrom`/`AsSource` for every socket.

/// Implements futures-io's and (with the `tokio` feature) tokio's
/// `AsyncRead` for a stream type (or read half) by delegating to the
/// [`Evented`](super::Evented) that `$get` returns (`$this` binds `&Self`
/// there).
macro_rules! impl_read_io {
    ([$($gen:tt)*] $ty:ty, |$this:ident| $get:expr) => {
        impl<$($gen)*> futures_io::AsyncRead for $ty {
            #[inline]
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
            #[inline]
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
/// [`Evented`](super::Evented) that `$get` returns (`$this` binds `&Self`
/// there). Flushing is a no-op; `poll_close`/`poll_shutdown` run
/// `$shutdown` with `$sd: &mut Self` (a half may record that it shut
/// down). tokio's impl forwards to futures-io's.
macro_rules! impl_write_io {
    ([$($gen:tt)*] $ty:ty, |$this:ident| $get:expr, |$sd:ident| $shutdown:expr) => {
        impl<$($gen)*> futures_io::AsyncWrite for $ty {
            #[inline]
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
            #[inline]
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
                std::os::fd::AsRawFd::as_raw_fd(&std::os::fd::AsFd::as_fd(&self.io))
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
    use std::io::{self, IoSlice};
    use std::os::unix::net::UnixStream;

    use crate::io::Evented;

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
