//! What every socket type is built from.
//!
//! - [`Evented`] (`evented.rs`): a socket registered with the reactor, and
//!   the read, write, send and receive paths the socket types share.
//! - `buf.rs`: receiving into caller buffers that are not initialized
//!   (tokio's `ReadBuf`, `bytes::BufMut`) without zeroing them.
//! - [`evented_methods!`] (`methods.rs`): the public readiness, `try_*` and
//!   connected-datagram methods, each written once with tokio's name,
//!   signature and docs, forwarding to an [`Evented`].
//! - [`impl_stream_io!`] and friends (`traits.rs`): the `AsyncRead`/
//!   `AsyncWrite` impls (futures-io, and tokio's with the `tokio` feature)
//!   and `AsFd`/`AsRawFd`/`TryFrom`/`AsSource`.

mod buf;
mod evented;
mod methods;
mod traits;

#[cfg(feature = "tokio")]
pub(crate) use buf::recv_into_read_buf;
pub(crate) use buf::{as_uninit, iov_max, iov_max_mut, total_len};
pub(crate) use evented::Evented;
pub(crate) use methods::evented_methods;
pub(crate) use traits::{impl_read_io, impl_socket_traits, impl_stream_io, impl_write_io};
