//! A line chat server: every line a client sends goes to every other
//! client, prefixed with the sender's name.
//!
//! ```text
//! cargo run --example chat [ADDR]          # sockwq; default 127.0.0.1:8080
//! cargo run --example chat_tokio [ADDR]    # the tokio original
//! nc 127.0.0.1 8080                        # in other terminals: first line is your name
//! ```
//!
//! One task per client reads its lines (`BufReader::lines`) and, at the
//! same time, the messages of the others from a `tokio::sync::broadcast`
//! channel (runtime-agnostic, so the sockwq port keeps it).
//!
//! This program exists twice, as a tokio program
//! (`examples/ports/tokio/chat.rs`) and ported to sockwq
//! (`examples/ports/chat.rs`): the two files differ only in their `use`
//! lines and the `main` attribute. `tests/ports.rs` checks that, and runs
//! both.

use std::env;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::task;

/// A chat line and the client it came from (not sent back to it).
type Message = (SocketAddr, String);

#[tokio::main]
async fn main() -> io::Result<()> {
    let addr = env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let (messages, _) = broadcast::channel::<Message>(1024);
    loop {
        let (stream, peer) = listener.accept().await?;
        let messages = messages.clone();
        task::spawn(async move {
            if let Err(e) = client(stream, peer, messages).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// Serves one client until it disconnects: its first line is its name,
/// every later line is sent to the others, and the others' lines are
/// written to it.
async fn client(stream: TcpStream, peer: SocketAddr, messages: broadcast::Sender<Message>) -> io::Result<()> {
    // Subscribed before the welcome: a client that has read it sees every
    // message sent from then on.
    let mut inbox = messages.subscribe();
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    writer.write_all(b"* welcome; your name?\n").await?;
    let Some(name) = lines.next_line().await? else {
        return Ok(());
    };
    let name = name.trim().to_owned();
    let _ = messages.send((peer, format!("* {name} joined")));
    writer.write_all(format!("* hello {name}\n").as_bytes()).await?;
    loop {
        // Both branches are cancel-safe: a line or a message that is not
        // taken this time is there the next time.
        tokio::select! {
            line = lines.next_line() => match line? {
                Some(line) => {
                    let _ = messages.send((peer, format!("{name}: {line}")));
                }
                None => break,
            },
            message = inbox.recv() => match message {
                Ok((from, _)) if from == peer => {}
                Ok((_, text)) => {
                    writer.write_all(text.as_bytes()).await?;
                    writer.write_all(b"\n").await?;
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    writer.write_all(format!("* missed {n} messages\n").as_bytes()).await?;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    let _ = messages.send((peer, format!("* {name} left")));
    Ok(())
}
