//! TCP: [`TcpListener`], [`TcpStream`] and [`TcpSocket`] on the sockwq
//! reactor, with the same names, methods and signatures as `tokio::net`'s,
//! plus the split halves ([`ReadHalf`]/[`WriteHalf`] borrowed,
//! [`OwnedReadHalf`]/[`OwnedWriteHalf`] owned) that `tokio::net::tcp`
//! exports.
//!
//! Every socket is registered once with the reactor, edge-triggered, for
//! both directions: no `epoll_ctl` happens on the data path. (So there is
//! no `EPOLLEXCLUSIVE` listener variant either: exclusive wakeups are a
//! property of a registration, and a sockwq registration serves every
//! interest at once.)
//!
//! An echo server, as with tokio (swap `tokio::net` for `sockwq_net`):
//!
#![cfg_attr(feature = "tokio", doc = "```no_run")]
#![cfg_attr(not(feature = "tokio"), doc = "```ignore")]
//! use sockwq_net::TcpListener;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:8080").await?;
//!     loop {
//!         let (mut socket, _peer) = listener.accept().await?;
//!         tokio::spawn(async move {
//!             let mut buf = vec![0u8; 4096];
//!             while let Ok(n @ 1..) = socket.read(&mut buf).await {
//!                 if socket.write_all(&buf[..n]).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         });
//!     }
//! }
//! ```

mod listener;
mod socket;
mod split;
mod stream;

pub use listener::{Incoming, TcpListener};
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::TcpStream;
