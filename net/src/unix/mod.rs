//! Unix-domain sockets on the sockwq reactor: [`UnixListener`],
//! [`UnixStream`], [`UnixDatagram`] and [`UnixSocket`], with the same API as tokio's
//! (`tokio::net::UnixStream`, `tokio::net::unix::SocketAddr`, ...), and
//! Unix pipes and FIFOs in [`pipe`] (`tokio::net::unix::pipe`).
//!
//! Paths that start with a NUL byte (`"\0name"`) name sockets in Linux's
//! abstract namespace, as in tokio; [`SocketAddr::from_abstract_name`]
//! builds such an address explicitly.
//!
//! Stream sends carry `MSG_NOSIGNAL`: writing to a closed peer is a
//! `BrokenPipe` error, never a `SIGPIPE`.

mod datagram;
mod listener;
pub mod pipe;
mod socket;
mod socketaddr;
mod split;
mod stream;
mod ucred;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use socket::UnixSocket;
pub use socketaddr::SocketAddr;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::UnixStream;
pub use ucred::UCred;

/// A type representing user ID (as in `tokio::net::unix::uid_t`).
#[allow(non_camel_case_types)]
pub type uid_t = u32;

/// A type representing group ID (as in `tokio::net::unix::gid_t`).
#[allow(non_camel_case_types)]
pub type gid_t = u32;

/// A type representing process and process group IDs (as in
/// `tokio::net::unix::pid_t`).
#[allow(non_camel_case_types)]
pub type pid_t = i32;
