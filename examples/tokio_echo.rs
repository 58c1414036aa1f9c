//! A `#[tokio::main]` echo server on sockwq sockets: the tokio runtime
//! drives its own sockwq reactor, no setup needed.
//!
//! ```text
//! cargo run --example tokio_echo [PORT]      # PORT 0 (default): any free port
//! curl http://127.0.0.1:PORT/                # 200 OK
//! nc 127.0.0.1 PORT                          # anything else is echoed back
//! ```
//!
//! Prints `listening on 127.0.0.1:PORT` and serves until killed.

use std::io;
use std::time::Duration;

use sockwq::net::{TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nhello\n";

#[tokio::main]
async fn main() -> io::Result<()> {
    let port = match std::env::args().nth(1) {
        Some(p) => p
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("port {p:?}: {e}")))?,
        None => 0u16,
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                tokio::spawn(async move {
                    if let Err(e) = serve(socket).await {
                        eprintln!("connection: {e}");
                    }
                });
            }
            Err(e) => {
                // Out of fds and the like: back off instead of spinning.
                eprintln!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// An HTTP `GET /` gets a 200 (so that `curl` can check the server is
/// up); any other first bytes are echoed, and so is the rest of the stream.
async fn serve(mut socket: TcpStream) -> io::Result<()> {
    let mut first = [0u8; 4096];
    let n = socket.read(&mut first).await?;
    if first[..n].starts_with(b"GET / ") {
        socket.write_all(HELLO).await?;
        return socket.shutdown().await;
    }
    socket.write_all(&first[..n]).await?;
    let (mut reader, mut writer) = socket.split();
    tokio::io::copy(&mut reader, &mut writer).await?;
    Ok(())
}
