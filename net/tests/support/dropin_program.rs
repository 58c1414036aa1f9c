// A small tokio program written against `tokio::net`, included twice by
// `tcp_dropin.rs`: once with `use tokio::net;`, once with
// `use sockwq_net as net;`. Nothing below names sockwq. (No inner
// attributes or `//!` docs here: the file is pasted with `include!`.)

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Interest};
use tokio::task::JoinHandle;

/// A line server: answers each line upper-cased, "quit" ends the session.
pub(crate) async fn start_server() -> io::Result<(SocketAddr, JoinHandle<io::Result<()>>)> {
    // The TcpSocket path, as a tokio server with options would do it.
    let socket = net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind("127.0.0.1:0".parse().unwrap())?;
    let listener: net::TcpListener = socket.listen(1024)?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        loop {
            let (socket, _peer) = listener.accept().await?;
            tokio::spawn(async move {
                let _ = handle(socket).await;
            });
        }
    });
    Ok((addr, server))
}

async fn handle(mut socket: net::TcpStream) -> io::Result<()> {
    socket.set_nodelay(true)?;
    let (rd, mut wr) = socket.split();
    let mut lines = BufReader::new(rd).lines();
    while let Some(line) = lines.next_line().await? {
        if line == "quit" {
            break;
        }
        wr.write_all(line.to_uppercase().as_bytes()).await?;
        wr.write_all(b"\n").await?;
    }
    wr.shutdown().await
}

/// Plain echo: `copy` on borrowed halves.
pub(crate) async fn start_echo() -> io::Result<SocketAddr> {
    let listener = net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut rd, mut wr) = s.split();
                let _ = tokio::io::copy(&mut rd, &mut wr).await;
            });
        }
    });
    Ok(addr)
}

/// Talks to the line server with owned halves on two tasks, then reunites.
async fn lines_client(addr: SocketAddr) -> io::Result<Vec<String>> {
    let stream = net::TcpStream::connect(addr).await?;
    assert_eq!(stream.peer_addr()?, addr);
    let (rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        for w in ["hello", "drop-in", "world"] {
            wr.write_all(format!("{w}\n").as_bytes()).await?;
        }
        Ok::<_, io::Error>(wr)
    });
    let mut lines = BufReader::new(rd).lines();
    let mut out = Vec::new();
    for _ in 0..3 {
        match lines.next_line().await? {
            Some(l) => out.push(l),
            None => break,
        }
    }
    let wr = writer.await.map_err(io::Error::other)??;
    let rd = lines.into_inner().into_inner();
    let mut stream = rd.reunite(wr).map_err(io::Error::other)?;
    stream.write_all(b"quit\n").await?;
    let mut rest = String::new();
    stream.read_to_string(&mut rest).await?; // the server shut down: EOF
    out.push(format!("eof:{}", rest.len()));
    Ok(out)
}

/// The readiness idiom from tokio's docs: writable + try_write, readable +
/// try_read, peek, ready with a combined tokio Interest.
async fn readiness_client(addr: SocketAddr) -> io::Result<Vec<String>> {
    let stream = net::TcpStream::connect(addr).await?;
    let mut out = Vec::new();
    let r = stream.ready(Interest::READABLE | Interest::WRITABLE).await?;
    out.push(format!("writable:{}", r.is_writable()));
    let msg = b"ping 0123456789\n";
    let mut sent = 0;
    for _ in 0..1000 {
        if sent == msg.len() {
            break;
        }
        stream.writable().await?;
        match stream.try_write(&msg[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    let mut peeked = [0u8; 4];
    let n = stream.peek(&mut peeked).await?;
    out.push(format!("peek:{}", String::from_utf8_lossy(&peeked[..n])));
    let mut got = Vec::new();
    for _ in 0..1000 {
        if got.ends_with(b"\n") {
            break;
        }
        stream.readable().await?;
        let mut buf = [0u8; 64];
        match stream.try_read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    out.push(String::from_utf8_lossy(&got).trim_end().to_string());
    Ok(out)
}

/// Errors behave the same: refused connect, bad address, address in use.
async fn error_cases() -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    let dead = {
        let l = net::TcpListener::bind("127.0.0.1:0").await?;
        l.local_addr()?
    };
    out.push(format!(
        "refused:{:?}",
        net::TcpStream::connect(dead).await.unwrap_err().kind()
    ));
    out.push(format!(
        "bad:{:?}",
        net::TcpStream::connect("not an address")
            .await
            .unwrap_err()
            .kind()
    ));
    let l = net::TcpListener::bind("127.0.0.1:0").await?;
    out.push(format!(
        "inuse:{:?}",
        net::TcpListener::bind(l.local_addr()?).await.unwrap_err().kind()
    ));
    let resolved = net::lookup_host(("localhost", 80)).await?.count() > 0;
    out.push(format!("lookup:{resolved}"));
    Ok(out)
}

/// Many clients at once against the echo server, with std interop.
async fn echo_clients(addr: SocketAddr) -> io::Result<usize> {
    let mut tasks = Vec::new();
    for i in 0..50u8 {
        tasks.push(tokio::spawn(async move {
            let mut s = net::TcpStream::connect(addr).await?;
            let msg = vec![i; 1000 + i as usize];
            s.write_all(&msg).await?;
            let mut back = vec![0u8; msg.len()];
            s.read_exact(&mut back).await?;
            assert_eq!(back, msg);
            Ok::<_, io::Error>(back.len())
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(io::Error::other)??;
    }
    // A std stream converted in, and back out.
    let std_stream = std::net::TcpStream::connect(addr)?;
    std_stream.set_nonblocking(true)?;
    let mut s = net::TcpStream::from_std(std_stream)?;
    s.write_all(b"std").await?;
    let mut back = [0u8; 3];
    s.read_exact(&mut back).await?;
    let std_again = s.into_std()?;
    assert_eq!(std_again.peer_addr()?, addr);
    Ok(total + back.len())
}

/// Runs the whole program; returns a transcript to compare across builds.
pub(crate) async fn exercise() -> Vec<String> {
    let (addr, server) = start_server().await.unwrap();
    let mut t = lines_client(addr).await.unwrap();
    let echo = start_echo().await.unwrap();
    t.extend(readiness_client(echo).await.unwrap());
    t.extend(error_cases().await.unwrap());
    t.push(format!("echoed:{}", echo_clients(echo).await.unwrap()));
    server.abort();
    t
}
