//! TCP, UDP and Unix sockets on the sockwq reactor: a drop-in for
//! `tokio::net` (same type names, methods and signatures), with futures-io
//! `AsyncRead`/`AsyncWrite` always and tokio's behind the default `tokio`
//! feature.
#![doc(test(attr(deny(warnings))))]

mod addr;
mod io;
mod split;
pub mod tcp;
pub mod udp;
pub mod unix;

pub use addr::{ToSocketAddrs, lookup_host};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixSocket, UnixStream};
