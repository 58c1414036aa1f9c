//! The halves of a split [`TcpStream`]: borrowed ([`ReadHalf`] and
//! [`WriteHalf`], from [`TcpStream::split`]) and owned ([`OwnedReadHalf`]
//! and [`OwnedWriteHalf`], from [`TcpStream::into_split`]). Their methods
//! and `AsyncRead`/`AsyncWrite` impls come from [`crate::split`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::TcpStream;

/// The read half of a [`TcpStream`], from [`TcpStream::split`].
///
/// Implements `AsyncRead` (futures-io, and tokio's with the `tokio`
/// feature). Both borrowed halves borrow the stream, so they cannot move to
/// another task; they are free (no `Arc`, no lock). For halves that can,
/// see [`TcpStream::into_split`].
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of a [`TcpStream`], from [`TcpStream::split`].
///
/// Implements `AsyncWrite` (futures-io, and tokio's with the `tokio`
/// feature); `poll_shutdown`/`poll_close` shut down the write direction of
/// the whole stream.
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

/// The owned read half of a [`TcpStream`], from [`TcpStream::into_split`].
///
/// Implements `AsyncRead` (futures-io, and tokio's with the `tokio`
/// feature). Reading and writing from two tasks needs no lock: each half
/// uses its own direction of the reactor's per-socket state.
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<TcpStream>,
}

/// The owned write half of a [`TcpStream`], from [`TcpStream::into_split`].
///
/// Implements `AsyncWrite` (futures-io, and tokio's with the `tokio`
/// feature). Dropping it shuts down the write direction of the stream
/// (as `poll_shutdown` does), unless [`forget`](OwnedWriteHalf::forget) is
/// called.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<TcpStream>,
    shutdown_on_drop: bool,
}

/// Returned by [`OwnedReadHalf::reunite`] and [`OwnedWriteHalf::reunite`]
/// when the halves come from different streams; gives both back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

crate::split::impl_split_halves!(TcpStream, SocketAddr);

/// TCP's read halves can also peek (as tokio's; its Unix ones cannot).
macro_rules! peek_methods {
    () => {
        /// Attempts to receive data without removing it from the queue; see
        /// [`TcpStream::poll_peek`].
        #[cfg(feature = "tokio")]
        pub fn poll_peek(
            &mut self,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<io::Result<usize>> {
            AsRef::<TcpStream>::as_ref(self).poll_peek(cx, buf)
        }

        /// Attempts to receive data into a slice without removing it from
        /// the queue; see [`TcpStream::poll_peek_slice`].
        pub fn poll_peek_slice(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
            AsRef::<TcpStream>::as_ref(self).poll_peek_slice(cx, buf)
        }

        /// Receives data without removing it from the queue; see
        /// [`TcpStream::peek`].
        pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            AsRef::<TcpStream>::as_ref(self).peek(buf).await
        }
    };
}

impl ReadHalf<'_> {
    peek_methods!();
}

impl OwnedReadHalf {
    peek_methods!();
}
