//! Borrowed halves of a [`TcpStream`]: [`ReadHalf`] and [`WriteHalf`].
//!
//! Both halves borrow the stream, so they cannot move to another task;
//! they are free (no `Arc`, no lock). For halves that can, see
//! [`TcpStream::into_split`].

use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

use sockwq_reactor::{Interest, Ready};

use super::TcpStream;
use crate::io::{impl_read_io, impl_write_io};

/// The read half of a [`TcpStream`], from [`TcpStream::split`].
///
/// Implements `AsyncRead` (futures-io, and tokio's with the `tokio`
/// feature).
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of a [`TcpStream`], from [`TcpStream::split`].
///
/// Implements `AsyncWrite` (futures-io, and tokio's with the `tokio`
/// feature); `poll_shutdown`/`poll_close` shut down the write direction of
/// the whole stream.
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

pub(crate) fn split(stream: &mut TcpStream) -> (ReadHalf<'_>, WriteHalf<'_>) {
    (ReadHalf(&*stream), WriteHalf(&*stream))
}

impl ReadHalf<'_> {
    /// Attempts to receive data without removing it from the queue; see
    /// [`TcpStream::poll_peek`].
    #[cfg(feature = "tokio")]
    pub fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.0.poll_peek(cx, buf)
    }

    /// Attempts to receive data without removing it from the queue; see
    /// [`TcpStream::poll_peek`].
    #[cfg(not(feature = "tokio"))]
    pub fn poll_peek(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.poll_peek(cx, buf)
    }

    /// Receives data without removing it from the queue; see
    /// [`TcpStream::peek`].
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.0.io.poll_peek(cx, buf)).await
    }

    /// Waits for any of the requested readiness; see [`TcpStream::ready`].
    pub async fn ready(&self, interest: impl Into<Interest>) -> io::Result<Ready> {
        self.0.ready(interest).await
    }

    /// Waits until the stream is readable; see [`TcpStream::readable`].
    pub async fn readable(&self) -> io::Result<()> {
        self.0.readable().await
    }

    /// Tries to read without waiting; see [`TcpStream::try_read`].
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }

    /// Tries a vectored read without waiting; see
    /// [`TcpStream::try_read_vectored`].
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.0.try_read_vectored(bufs)
    }

    /// Tries to read into a `BufMut` without waiting; see
    /// [`TcpStream::try_read_buf`].
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.0.try_read_buf(buf)
    }

    /// Returns the remote address of the stream.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// Returns the local address of the stream.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl WriteHalf<'_> {
    /// Waits for any of the requested readiness; see [`TcpStream::ready`].
    pub async fn ready(&self, interest: impl Into<Interest>) -> io::Result<Ready> {
        self.0.ready(interest).await
    }

    /// Waits until the stream is writable; see [`TcpStream::writable`].
    pub async fn writable(&self) -> io::Result<()> {
        self.0.writable().await
    }

    /// Tries to write without waiting; see [`TcpStream::try_write`].
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    /// Tries a vectored write without waiting; see
    /// [`TcpStream::try_write_vectored`].
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    /// Returns the remote address of the stream.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// Returns the local address of the stream.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl_read_io!(['a] ReadHalf<'a>, |this| &this.0.io);
impl_write_io!(['a] WriteHalf<'a>, |this| &this.0.io, |s| s.0.shutdown_std(Shutdown::Write));

impl AsRef<TcpStream> for ReadHalf<'_> {
    fn as_ref(&self) -> &TcpStream {
        self.0
    }
}

impl AsRef<TcpStream> for WriteHalf<'_> {
    fn as_ref(&self) -> &TcpStream {
        self.0
    }
}
