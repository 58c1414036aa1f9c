//! The halves of a split [`UnixStream`] (as tokio's): borrowed
//! ([`ReadHalf`] and [`WriteHalf`], from [`UnixStream::split`]) and owned
//! ([`OwnedReadHalf`] and [`OwnedWriteHalf`], from
//! [`UnixStream::into_split`]). Their methods and `AsyncRead`/`AsyncWrite`
//! impls come from [`crate::split`].
//!
//! Both halves share one registration: the reader arms the read waker
//! slot, the writer the write slot, so the two can wait at once.

use std::sync::Arc;

use super::{SocketAddr, UnixStream};

/// The read half of a [`UnixStream`] split by [`UnixStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a UnixStream);

/// The write half of a [`UnixStream`] split by [`UnixStream::split`].
/// Shutting it down (`poll_close`/`poll_shutdown`) shuts down the write
/// direction of the whole stream.
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a UnixStream);

/// The owned read half of a [`UnixStream`], from [`UnixStream::into_split`].
/// Can move to another task or thread than the write half.
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<UnixStream>,
}

/// The owned write half of a [`UnixStream`], from [`UnixStream::into_split`].
///
/// Dropping it shuts the write direction down (the peer reads EOF), unless
/// [`forget`](OwnedWriteHalf::forget) was called — as in tokio.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<UnixStream>,
    shutdown_on_drop: bool,
}

/// The halves passed to `reunite` came from different streams; both are
/// handed back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

crate::split::impl_split_halves!(UnixStream, SocketAddr);
