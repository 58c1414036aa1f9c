//! Borrowed halves of a [`UnixStream`]: [`ReadHalf`] and [`WriteHalf`]
//! (as `tokio::net::unix::{ReadHalf, WriteHalf}`).
//!
//! Both halves share one registration: the reader arms the read waker
//! slot, the writer the write slot, so the two can wait at once.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;

use sockwq_reactor::{Interest, Ready};

use super::{SocketAddr, UnixStream};
use crate::io::{impl_read_io, impl_write_io};

/// The read half of a [`UnixStream`] split by [`UnixStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a UnixStream);

/// The write half of a [`UnixStream`] split by [`UnixStream::split`].
/// Shutting it down (`poll_close`/`poll_shutdown`) shuts down the write
/// direction of the whole stream.
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a UnixStream);

pub(super) fn split(stream: &mut UnixStream) -> (ReadHalf<'_>, WriteHalf<'_>) {
    (ReadHalf(stream), WriteHalf(stream))
}

impl ReadHalf<'_> {
    /// Waits for any of the requested ready states (see [`UnixStream::ready`]).
    pub async fn ready(&self, interest: impl Into<Interest>) -> io::Result<Ready> {
        self.0.ready(interest).await
    }

    /// Waits until the stream is readable.
    pub async fn readable(&self) -> io::Result<()> {
        self.0.readable().await
    }

    /// See [`UnixStream::try_read`].
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }

    /// See [`UnixStream::try_read_buf`].
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.0.try_read_buf(buf)
    }

    /// See [`UnixStream::try_read_vectored`].
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.0.try_read_vectored(bufs)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl WriteHalf<'_> {
    /// Waits for any of the requested ready states (see [`UnixStream::ready`]).
    pub async fn ready(&self, interest: impl Into<Interest>) -> io::Result<Ready> {
        self.0.ready(interest).await
    }

    /// Waits until the stream is writable.
    pub async fn writable(&self) -> io::Result<()> {
        self.0.writable().await
    }

    /// See [`UnixStream::try_write`].
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    /// See [`UnixStream::try_write_vectored`].
    pub fn try_write_vectored(&self, buf: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(buf)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl_read_io!(['a] ReadHalf<'a>, |this| &this.0.io);
impl_write_io!(['a] WriteHalf<'a>, |this| &this.0.io, |s| s.0.shutdown_std(Shutdown::Write));

impl AsRef<UnixStream> for ReadHalf<'_> {
    fn as_ref(&self) -> &UnixStream {
        self.0
    }
}

impl AsRef<UnixStream> for WriteHalf<'_> {
    fn as_ref(&self) -> &UnixStream {
        self.0
    }
}
