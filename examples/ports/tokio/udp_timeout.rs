//! UDP request/response: a server that answers each request, and a client
//! that waits for each answer with a timeout and sends the request again
//! when none comes.
//!
//! ```text
//! cargo run --example udp_timeout -- server [ADDR]           # sockwq; default 127.0.0.1:8081
//! cargo run --example udp_timeout -- client ADDR WORD...     # prints one answer per word
//! cargo run --example udp_timeout_tokio -- server [ADDR]     # the tokio original
//! ```
//!
//! A request is `ID TEXT`, its answer `ID TEXT` upper-cased. The client
//! tries each request up to 4 times, waiting 250 ms for the answer each
//! time (`time::timeout`), and skips answers to other requests (a late
//! answer to an earlier try, or to an earlier request). With no server,
//! it gives up and fails.
//!
//! This program exists twice, as a tokio program
//! (`examples/ports/tokio/udp_timeout.rs`) and ported to sockwq
//! (`examples/ports/udp_timeout.rs`): the two files differ only in their
//! `use` lines and the `main` attribute. `tests/ports.rs` checks that, and
//! runs both.

use std::env;
use std::io;
use std::net::SocketAddr;
use std::process;
use std::time::Duration;

use tokio::net::{UdpSocket, lookup_host};
use tokio::time;

/// Tries per request.
const ATTEMPTS: u32 = 4;
/// How long the client waits for an answer before it tries again.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(250);

#[tokio::main]
async fn main() -> io::Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["server"] => server("127.0.0.1:8081").await,
        ["server", addr] => server(addr).await,
        ["client", addr, ref words @ ..] if !words.is_empty() => client(addr, words).await,
        _ => {
            eprintln!("usage: server [ADDR] | client ADDR WORD...");
            process::exit(2);
        }
    }
}

/// Answers every request, forever.
async fn server(addr: &str) -> io::Result<()> {
    let socket = UdpSocket::bind(addr).await?;
    println!("listening on {}", socket.local_addr()?);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (n, peer) = socket.recv_from(&mut buf).await?;
        let request = String::from_utf8_lossy(&buf[..n]);
        let answer = match request.split_once(' ') {
            Some((id, text)) => format!("{id} {}", text.to_uppercase()),
            None => format!("{request} ?"),
        };
        socket.send_to(answer.as_bytes(), peer).await?;
    }
}

/// Sends each word as a request and prints its answer.
async fn client(addr: &str, words: &[&str]) -> io::Result<()> {
    let server = lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
    let local = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let socket = UdpSocket::bind(local).await?;
    for (id, word) in words.iter().enumerate() {
        let request = format!("{id} {word}");
        let mut answer = None;
        for attempt in 1..=ATTEMPTS {
            socket.send_to(request.as_bytes(), server).await?;
            match time::timeout(ANSWER_TIMEOUT, answer_to(&socket, server, id)).await {
                Ok(text) => {
                    answer = Some(text?);
                    break;
                }
                Err(_elapsed) => eprintln!(
                    "request {id}: no answer within {ANSWER_TIMEOUT:?} (try {attempt} of {ATTEMPTS})"
                ),
            }
        }
        match answer {
            Some(text) => println!("{text}"),
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("request {id}: no answer from {server} after {ATTEMPTS} tries"),
                ));
            }
        }
    }
    Ok(())
}

/// Receives until the answer to request `id` arrives from `server`;
/// returns its text.
async fn answer_to(socket: &UdpSocket, server: SocketAddr, id: usize) -> io::Result<String> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (n, from) = socket.recv_from(&mut buf).await?;
        if from != server {
            continue;
        }
        let answer = String::from_utf8_lossy(&buf[..n]);
        if let Some((answer_id, text)) = answer.split_once(' ') {
            if answer_id.parse() == Ok(id) {
                return Ok(text.to_owned());
            }
        }
    }
}
