//! An axum 0.8 app on a sockwq listener: `axum::serve` takes any type that
//! implements its `Listener` trait, and sockwq's `TcpStream` is a tokio
//! `AsyncRead + AsyncWrite`.
//!
//! ```text
//! cargo run --example axum_hello [PORT]      # PORT 0 (default): any free port
//! curl http://127.0.0.1:PORT/                # 200 OK, "Hello, World!"
//! ```
//!
//! Prints `listening on 127.0.0.1:PORT` and serves until killed.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;

/// A sockwq listener for `axum::serve`.
#[derive(Debug)]
pub(crate) struct Listener(pub(crate) sockwq::net::TcpListener);

impl axum::serve::Listener for Listener {
    type Io = sockwq::net::TcpStream;
    type Addr = SocketAddr;

    /// Accept errors are handled here, as the trait requires: a failed
    /// connection is skipped; anything else (out of fds, say) is reported
    /// and retried after a pause instead of spinning.
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok(conn) => return conn,
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// The app.
pub(crate) fn app() -> Router {
    Router::new().route("/", get(|| async { "Hello, World!\n" }))
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let port = match std::env::args().nth(1) {
        Some(p) => p
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("port {p:?}: {e}")))?,
        None => 0u16,
    };
    let listener = sockwq::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(Listener(listener), app()).await
}
