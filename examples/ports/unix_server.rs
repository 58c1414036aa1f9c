//! A Unix-socket server with a small line protocol, one task per
//! connection. On Ctrl-C (SIGINT) or SIGTERM it stops, closes the open
//! connections, removes its socket file and exits.
//!
//! ```text
//! cargo run --example unix_server [PATH]          # sockwq; default $TMPDIR/unix_server.sock
//! cargo run --example unix_server_tokio [PATH]    # the tokio original
//! nc -U /tmp/unix_server.sock                     # in another terminal
//! ```
//!
//! Requests, one per line: `PING` → `PONG`, `ECHO TEXT` → `TEXT`,
//! `SUM N...` → the sum, `QUIT` → `BYE` and the server closes the
//! connection; anything else → `ERR ...`.
//!
//! This program exists twice, as a tokio program
//! (`examples/ports/tokio/unix_server.rs`) and ported to sockwq
//! (`examples/ports/unix_server.rs`): the two files differ only in their
//! `use` lines and the `main` attribute. `tests/ports.rs` checks that, and
//! runs both.

use std::env;
use std::fs;
use std::io;
use std::path::PathBuf;

use sockwq::net::{UnixListener, UnixStream};
use sockwq::signal::unix::{SignalKind, signal};
use sockwq::task::JoinSet;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[sockwq::main]
async fn main() -> io::Result<()> {
    let path = env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| env::temp_dir().join("unix_server.sock"));
    // Listening before the socket exists: a signal sent once the server is
    // reachable is seen, whenever the loop below first waits for it.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let listener = UnixListener::bind(&path)?;
    println!("listening on {}", path.display());

    let mut connections = JoinSet::new();
    let stopped = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _addr)) => {
                    // Forget the connections that are over.
                    while connections.try_join_next().is_some() {}
                    connections.spawn(session(stream));
                }
                Err(e) => break Err(e),
            },
            _ = interrupt.recv() => break Ok("SIGINT"),
            _ = terminate.recv() => break Ok("SIGTERM"),
        }
    };
    drop(listener);
    let removed = fs::remove_file(&path);
    while connections.try_join_next().is_some() {}
    let open = connections.len();
    // Aborts the open sessions (their sockets close) and waits for them.
    connections.shutdown().await;
    let signal = stopped?;
    removed?;
    println!("{signal}: closed {open} connections, removed {}", path.display());
    Ok(())
}

/// Answers requests on one connection until the client closes it or says
/// `QUIT`.
async fn session(stream: UnixStream) -> io::Result<()> {
    // Reads through the buffer, writes straight to the socket.
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let answer = answer(line.trim_end());
        stream.write_all(answer.as_bytes()).await?;
        stream.write_all(b"\n").await?;
        if answer == "BYE" {
            return stream.shutdown().await;
        }
    }
}

/// The protocol.
fn answer(request: &str) -> String {
    let (command, rest) = request.split_once(' ').unwrap_or((request, ""));
    match command {
        "PING" => "PONG".to_owned(),
        "ECHO" => rest.to_owned(),
        "SUM" => match rest
            .split_whitespace()
            .map(str::parse::<i64>)
            .sum::<Result<i64, _>>()
        {
            Ok(sum) => sum.to_string(),
            Err(e) => format!("ERR SUM takes integers: {e}"),
        },
        "QUIT" => "BYE".to_owned(),
        _ => format!("ERR unknown command {command:?}"),
    }
}
