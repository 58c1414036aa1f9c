//! The split halves of a stream type, written once for [`TcpStream`] and
//! [`UnixStream`].
//!
//! Each stream module declares its own half types (as tokio's: one set in
//! `tcp`, one in `unix`) and invokes [`impl_split_halves!`] to give them
//! their behaviour:
//!
//! - `ReadHalf<'a>(&'a Stream)` and `WriteHalf<'a>(&'a Stream)`, the
//!   borrowed halves: free, no `Arc`;
//! - `OwnedReadHalf { inner: Arc<Stream> }` and `OwnedWriteHalf { inner:
//!   Arc<Stream>, shutdown_on_drop: bool }`, the owned halves: dropping the
//!   write half shuts down the write direction unless it was shut down
//!   already or [`forget`](crate::tcp::OwnedWriteHalf::forget) was called;
//! - `ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf)`.
//!
//! The halves of one stream share its registration: the reader arms the
//! read waker slot, the writer the write slot, so the two wait at once
//! without a lock. Each half is also the stream's socket for fasync
//! (`AsSource`): a channel attached through a half gets the socket's notices.
//!
//! [`TcpStream`]: crate::tcp::TcpStream
//! [`UnixStream`]: crate::unix::UnixStream

/// Implements the split halves declared in the invoking module (see the
/// [module docs](self)) for the stream type `$stream`, whose addresses are
/// `$addr`. `$stream` must have an `io: Evented<_>` field and
/// `shutdown_std`, `peer_addr` and `local_addr` methods. Also defines the
/// module's `split` and `split_owned` functions, which the stream's `split`
/// and `into_split` call.
macro_rules! impl_split_halves {
    ($stream:ident, $addr:ty) => {
        pub(super) fn split(stream: &mut $stream) -> (ReadHalf<'_>, WriteHalf<'_>) {
            (ReadHalf(&*stream), WriteHalf(&*stream))
        }

        pub(super) fn split_owned(stream: $stream) -> (OwnedReadHalf, OwnedWriteHalf) {
            let inner = std::sync::Arc::new(stream);
            let read = OwnedReadHalf { inner: inner.clone() };
            let write = OwnedWriteHalf {
                inner,
                shutdown_on_drop: true,
            };
            (read, write)
        }

        fn reunite(read: OwnedReadHalf, mut write: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
            if !std::sync::Arc::ptr_eq(&read.inner, &write.inner) {
                return Err(ReuniteError(read, write));
            }
            write.shutdown_on_drop = false;
            drop(write);
            // The two halves held the only two references, and `write` is gone.
            match std::sync::Arc::try_unwrap(read.inner) {
                Ok(stream) => Ok(stream),
                Err(_) => unreachable!("a stream's halves hold the only references to it"),
            }
        }

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl std::error::Error for ReuniteError {}

        impl ReadHalf<'_> {
            $crate::io::evented_methods!(|this| &this.0.io;
                ready, readable, try_read, try_read_vectored, try_read_buf,
            );
            $crate::split::impl_split_halves!(@addrs $stream, $addr);
        }

        impl WriteHalf<'_> {
            $crate::io::evented_methods!(|this| &this.0.io;
                ready, writable, try_write, try_write_vectored,
            );
            $crate::split::impl_split_halves!(@addrs $stream, $addr);
        }

        impl OwnedReadHalf {
            /// Puts the halves back together into the original stream;
            /// fails (giving both back) if they are from different streams.
            pub fn reunite(self, other: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
                reunite(self, other)
            }

            $crate::io::evented_methods!(|this| &this.inner.io;
                ready, readable, try_read, try_read_vectored, try_read_buf,
            );
            $crate::split::impl_split_halves!(@addrs $stream, $addr);
        }

        impl OwnedWriteHalf {
            /// Puts the halves back together into the original stream;
            /// fails (giving both back) if they are from different streams.
            pub fn reunite(self, other: OwnedReadHalf) -> Result<$stream, ReuniteError> {
                reunite(other, self)
            }

            /// Drops the write half without shutting down the write direction.
            pub fn forget(mut self) {
                self.shutdown_on_drop = false;
                drop(self);
            }

            $crate::io::evented_methods!(|this| &this.inner.io;
                ready, writable, try_write, try_write_vectored,
            );
            $crate::split::impl_split_halves!(@addrs $stream, $addr);

            /// Shuts down the write direction; after success, drop does not
            /// do it again.
            fn shutdown_write(&mut self) -> std::io::Result<()> {
                let res = self.inner.shutdown_std(std::net::Shutdown::Write);
                if res.is_ok() {
                    self.shutdown_on_drop = false;
                }
                res
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    // Errors (e.g. ENOTCONN after the peer vanished) are moot here.
                    let _ = self.inner.shutdown_std(std::net::Shutdown::Write);
                }
            }
        }

        $crate::io::impl_read_io!(['a] ReadHalf<'a>, |this| &this.0.io);
        $crate::io::impl_write_io!(['a] WriteHalf<'a>, |this| &this.0.io, |s| {
            s.0.shutdown_std(std::net::Shutdown::Write)
        });
        $crate::io::impl_read_io!([] OwnedReadHalf, |this| &this.inner.io);
        $crate::io::impl_write_io!([] OwnedWriteHalf, |this| &this.inner.io, |s| s.shutdown_write());

        $crate::split::impl_split_halves!(@source $stream, ReadHalf<'_>);
        $crate::split::impl_split_halves!(@source $stream, WriteHalf<'_>);
        $crate::split::impl_split_halves!(@source $stream, OwnedReadHalf);
        $crate::split::impl_split_halves!(@source $stream, OwnedWriteHalf);

        impl AsRef<$stream> for ReadHalf<'_> {
            fn as_ref(&self) -> &$stream {
                self.0
            }
        }

        impl AsRef<$stream> for WriteHalf<'_> {
            fn as_ref(&self) -> &$stream {
                self.0
            }
        }

        impl AsRef<$stream> for OwnedReadHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl AsRef<$stream> for OwnedWriteHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }
    };

    // A half is its stream's socket for fasync: a channel attached through
    // either half (or the stream) sees the socket's notices.
    (@source $stream:ident, $half:ty) => {
        /// The stream's reactor source: a
        /// [`fasync::Owner`](sockwq_reactor::fasync::Owner) can attach
        /// through a half.
        impl sockwq_reactor::fasync::AsSource for $half {
            fn as_source(&self) -> &std::sync::Arc<sockwq_reactor::Source> {
                sockwq_reactor::fasync::AsSource::as_source(AsRef::<$stream>::as_ref(self))
            }
        }
    };

    // Every half's address getters, through `AsRef` to the stream.
    (@addrs $stream:ident, $addr:ty) => {
        /// Returns the remote address of the stream.
        pub fn peer_addr(&self) -> std::io::Result<$addr> {
            AsRef::<$stream>::as_ref(self).peer_addr()
        }

        /// Returns the local address of the stream.
        pub fn local_addr(&self) -> std::io::Result<$addr> {
            AsRef::<$stream>::as_ref(self).local_addr()
        }
    };
}
pub(crate) use impl_split_halves;
