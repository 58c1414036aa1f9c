//! TCP, UDP and Unix sockets on the sockwq reactor: a drop-in for
//! `tokio::net` (same type names, methods and signatures), with futures-io
//! `AsyncRead`/`AsyncWrite` always and tokio's behind the default `tokio`
//! feature.
#![doc(test(attr(deny(warnings))))]

// Module list (owners keep to their own files; add `pub use` lines below
// with small, targeted edits only).
mod addr;
mod io;
mod split;
pub mod tcp;
pub mod udp;
pub mod unix;

pub use addr::{ToSocketAddrs, lookup_host};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
