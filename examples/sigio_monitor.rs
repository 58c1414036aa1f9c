//! An echo server whose listener and connections are all attached to one
//! fasync channel, and one task that prints every notice as it comes: the
//! kernel's SIGIO/SIGURG semantics, without signals, live.
//!
//! ```text
//! cargo run --example sigio_monitor                        # 127.0.0.1, a free port
//! cargo run --example sigio_monitor -- --addr 127.0.0.1:7000
//! cargo run --example sigio_monitor -- --exit-after 2      # stop after 2 connections closed
//! ```
//!
//! Then, from another terminal, `nc 127.0.0.1 PORT` and type lines: each
//! line is echoed, and the monitor prints what the kernel would have
//! signalled to an `O_ASYNC` owner. For instance:
//!
//! ```text
//! listening on 127.0.0.1:35493
//! #2   fd 6    connection from 127.0.0.1:36980
//! #1   fd 5    POLL_IN  band 0x041 SIGIO    (listener: a connection is pending)
//! #2   fd 6    POLL_IN  band 0x041 SIGIO                  <- a line typed
//! #2   fd 6    POLL_PRI band 0x082 SIGURG   (out-of-band data)
//! #2   fd 6    POLL_IN  band 0x041 SIGIO                  <- the urgent byte
//! #2   fd 6    POLL_IN  band 0x041 SIGIO                  <- the peer's FIN
//! #2   fd 6    closed
//! #3   fd 6    connection from 127.0.0.1:36988
//! #1   fd 5    POLL_IN  band 0x041 SIGIO    (listener: a connection is pending)
//! #3   fd 6    POLL_ERR band 0x008 SIGIO    (an error: a reset?)
//! #3   fd 6    closed
//! ```
//!
//! Two tasks print, so a connection's last notice may come after its
//! `closed` line. `#N` is the socket's `SocketId`: unlike the fd number,
//! which the kernel hands out again after a close (fd 6 above), it is
//! never reused.

use std::io;
use std::net::SocketAddr;

use futures::StreamExt;
use futures::future::Either;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use sockwq::fasync::{self, Code, Notice, Signal, SocketId};
use sockwq::net::{TcpListener, TcpStream};

const HELP: &str = "\
usage: sigio_monitor [--addr ADDR] [--exit-after N]

An echo server on sockwq; one task prints the fasync notices (SIGIO-style)
of the listener and of every connection as they come.

  --addr ADDR       address to listen on (default 127.0.0.1:0, a free port)
  --exit-after N    exit once N connections have closed (default: never)
  --help            this text";

struct Args {
    addr: SocketAddr,
    exit_after: usize,
}

fn parse_args() -> io::Result<Option<Args>> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
    let mut args = Args {
        addr: ([127, 0, 0, 1], 0).into(),
        exit_after: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--help" | "-h" => return Ok(None),
            "--addr" => {
                let v = it.next().ok_or_else(|| bad("--addr needs an address".into()))?;
                args.addr = v.parse().map_err(|e| bad(format!("--addr {v}: {e}")))?;
            }
            "--exit-after" => {
                let v = it
                    .next()
                    .ok_or_else(|| bad("--exit-after needs a number".into()))?;
                args.exit_after = v.parse().map_err(|e| bad(format!("--exit-after {v}: {e}")))?;
            }
            other => return Err(bad(format!("unknown argument {other:?} (try --help)"))),
        }
    }
    Ok(Some(args))
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::In => "POLL_IN",
        Code::Out => "POLL_OUT",
        Code::Err => "POLL_ERR",
        Code::Pri => "POLL_PRI",
        Code::Hup => "POLL_HUP",
        Code::Overflow => "SIGIO (overflow)",
        _ => "?",
    }
}

/// One line per notice, as it comes.
fn print_notice(n: &Notice, listener: SocketId) {
    let (Some(id), Some(fd)) = (n.socket(), n.fd()) else {
        println!(
            "{:<26} notices were dropped (channel full): rescan every socket",
            code_name(n.code())
        );
        return;
    };
    let signal = match n.signal() {
        Signal::Io => "SIGIO",
        Signal::Urg => "SIGURG",
    };
    let why = match n.code() {
        Code::In if id == listener => "  (listener: a connection is pending)",
        Code::Pri => "  (out-of-band data)",
        Code::Out => "  (write space after a write had to wait)",
        Code::Err => "  (an error: a reset?)",
        Code::Hup => "  (hung up in both directions)",
        _ => "",
    };
    let line = format!(
        "#{:<3} fd {:<4} {:<8} band {:#05x} {:<7}{why}",
        id.get(),
        fd,
        code_name(n.code()),
        n.band(),
        signal
    );
    println!("{}", line.trim_end());
}

/// Echoes until the peer closes; the subscription lives as long as the
/// connection.
async fn echo(mut stream: TcpStream, sub: fasync::Subscription) {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    println!("#{:<3} fd {:<4} closed", sub.socket().get(), sub.fd());
}

fn main() -> io::Result<()> {
    let Some(args) = parse_args()? else {
        println!("{HELP}");
        return Ok(());
    };
    sockwq::block_on(async move {
        let listener = TcpListener::bind(args.addr).await?;
        let (owner, mut rx) = fasync::channel(1024);
        let listener_sub = owner.attach(&listener)?;
        let listener_id = listener_sub.socket();
        println!("listening on {}", listener.local_addr()?);

        // The monitor: every notice of every attached socket, live.
        sockwq::spawn(async move {
            while let Some(n) = rx.recv().await {
                print_notice(&n, listener_id);
            }
        });

        // Each connection task reports its end; with --exit-after the accept
        // loop stops once enough have.
        let (done_tx, mut done_rx) = futures::channel::mpsc::unbounded::<()>();
        let mut closed = 0usize;
        let mut conns = Vec::new();
        while args.exit_after == 0 || closed < args.exit_after {
            let accept = std::pin::pin!(listener.accept());
            let (stream, peer) = match futures::future::select(accept, done_rx.next()).await {
                Either::Left((r, _)) => r?,
                Either::Right(_) => {
                    closed += 1;
                    continue;
                }
            };
            let sub = owner.attach(&stream)?;
            println!(
                "#{:<3} fd {:<4} connection from {peer}",
                sub.socket().get(),
                sub.fd()
            );
            let done = done_tx.clone();
            conns.push(sockwq::spawn(async move {
                echo(stream, sub).await;
                let _ = done.unbounded_send(());
            }));
        }
        for c in conns {
            let _ = c.await;
        }
        drop(listener_sub);
        Ok(())
    })
}
