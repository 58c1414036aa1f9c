//! The main job: an echo server on sockwq, exercised by a bounded load
//! over loopback, printing a results table.
//!
//! ```text
//! cargo run --release --example echo            # 50 connections x 2,000 round trips
//! cargo run --release --example echo -- 10 500  # connections, round trips each
//! ```
//!
//! The server is built from the reactor's pieces alone (`Async` around std
//! sockets, one thread per connection running `futures::executor::block_on`,
//! all sharing the global reactor thread), so it shows that sockwq IO runs
//! under any executor.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use sockwq::reactor::{Async, Handle};

const MSG: usize = 64;

async fn serve(listener: Async<TcpListener>) -> io::Result<()> {
    loop {
        let (stream, _) = listener.read_with(|l| l.accept()).await?;
        thread::spawn(move || {
            futures::executor::block_on(async {
                let mut s = Async::new(stream)?;
                let mut buf = [0u8; 4096];
                loop {
                    let n = s.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<(), io::Error>(());
                    }
                    s.write_all(&buf[..n]).await?;
                }
            })
        });
    }
}

fn main() -> io::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let conns = args.first().copied().unwrap_or(50).max(1);
    let rounds = args.get(1).copied().unwrap_or(2_000).max(1);

    let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
    let addr = listener.get_ref().local_addr()?;
    thread::spawn(move || futures::executor::block_on(serve(listener)));

    let start = Instant::now();
    let clients: Vec<_> = (0..conns)
        .map(|c| {
            thread::spawn(move || -> io::Result<Vec<Duration>> {
                futures::executor::block_on(async {
                    let mut s = Async::new(TcpStream::connect(addr)?)?;
                    s.get_ref().set_nodelay(true)?;
                    let mut lat = Vec::with_capacity(rounds);
                    let mut msg = [0u8; MSG];
                    let mut back = [0u8; MSG];
                    for r in 0..rounds {
                        msg.fill((c + r) as u8);
                        let t = Instant::now();
                        s.write_all(&msg).await?;
                        s.read_exact(&mut back).await?;
                        lat.push(t.elapsed());
                        if back != msg {
                            return Err(io::Error::other("echo mismatch"));
                        }
                    }
                    Ok(lat)
                })
            })
        })
        .collect();
    let mut lat = Vec::with_capacity(conns * rounds);
    for c in clients {
        lat.extend(c.join().map_err(|_| io::Error::other("client panicked"))??);
    }
    let elapsed = start.elapsed();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    let msgs = lat.len() as f64;
    println!("sockwq echo server on {addr} (global reactor thread, thread per connection)");
    println!();
    println!("| connections | round trips | msg bytes | msgs/s | p50 µs | p99 µs |");
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {conns} | {} | {MSG} | {:.0} | {:.1} | {:.1} |",
        lat.len(),
        msgs / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
    );
    let _ = Handle::global();
    Ok(())
}
