//! A TCP echo server that shuts down gracefully: on Ctrl-C (SIGINT) it
//! stops accepting, lets the open connections finish, and exits.
//!
//! ```text
//! cargo run --example graceful_shutdown [ADDR]     # default 127.0.0.1:8080
//! nc 127.0.0.1 8080                                # in another terminal: lines echo back
//! ```
//!
//! Press Ctrl-C in the server's terminal: new connections are refused, the
//! `nc` session still echoes, and the server exits once it is closed.
//! (`tests/graceful_shutdown.rs` runs [`serve`] and sends the SIGINT.)

use std::future::Future;
use std::io;
use std::pin::pin;

use sockwq::net::{TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[sockwq::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!("echo server on {}; Ctrl-C stops it", listener.local_addr()?);
    let served = serve(listener, sockwq::signal::ctrl_c()).await?;
    println!("shut down after serving {served} connections");
    Ok(())
}

/// Echoes on every connection `listener` accepts until `shutdown`
/// completes (or accepting fails); then stops accepting (closes the
/// listener) and waits for the open connections to end. Returns how many
/// connections it served.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = io::Result<()>>,
) -> io::Result<usize> {
    let mut shutdown = pin!(shutdown);
    let mut connections = Vec::new();
    let mut served = 0;
    let stopped = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _peer)) => {
                    served += 1;
                    connections.retain(|c: &sockwq::JoinHandle<()>| !c.is_finished());
                    connections.push(sockwq::spawn(echo(socket)));
                }
                Err(e) => break Err(e),
            },
            signalled = &mut shutdown => break signalled,
        }
    };
    // Stop accepting: from here on, connecting is refused.
    drop(listener);
    println!(
        "shutting down: waiting for {} open connections",
        connections.len()
    );
    for c in connections {
        // A connection task that panicked is no reason to stop waiting.
        let _ = c.await;
    }
    stopped.map(|()| served)
}

/// Echoes until the peer closes its side (or an error).
async fn echo(mut socket: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = socket.read(&mut buf).await {
        if socket.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}
