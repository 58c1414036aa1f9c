//! Drop-in: one program written against `tokio::net`'s UDP and Unix API,
//! compiled twice — once with `tokio::net`, once with `sockwq_net` as
//! `net` — runs under a tokio runtime and gives the same results.
#![cfg(feature = "tokio")]

use std::time::Duration;

macro_rules! program {
    ($name:ident, $($net:tt)+) => {
        mod $name {
            use $($net)+ as net;
            use std::io;
            use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest, ReadBuf};

            pub(crate) async fn udp() -> io::Result<Vec<u8>> {
                let server = net::UdpSocket::bind("127.0.0.1:0").await?;
                let client = net::UdpSocket::bind(("127.0.0.1", 0)).await?;
                client.connect(server.local_addr()?).await?;
                let mut out = Vec::new();
                let srv = async {
                    let mut buf = [0u8; 64];
                    for _ in 0..10 {
                        let (n, from) = server.recv_from(&mut buf).await?;
                        server.send_to(&buf[..n], from).await?;
                    }
                    Ok::<(), io::Error>(())
                };
                let cli = async {
                    let mut buf = [0u8; 64];
                    for i in 0..10u8 {
                        client.send(&[i; 3]).await?;
                        let n = client.recv(&mut buf).await?;
                        out.extend_from_slice(&buf[..n]);
                    }
                    Ok::<(), io::Error>(())
                };
                tokio::try_join!(srv, cli)?;

                // Readiness and try_*, tokio style.
                let mut buf = [0u8; 64];
                let empty = server.try_recv_from(&mut buf).unwrap_err().kind();
                out.push((empty == io::ErrorKind::WouldBlock) as u8);
                client.writable().await?;
                client.try_send(b"try")?;
                loop {
                    let ready = server.ready(Interest::READABLE).await?;
                    if ready.is_readable() {
                        match server.try_recv_from(&mut buf) {
                            Ok((n, _)) => {
                                out.extend_from_slice(&buf[..n]);
                                break;
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                            Err(e) => return Err(e),
                        }
                    }
                }
                // poll_recv_from into a ReadBuf; truncation.
                server.send_to(b"0123456789", client.local_addr()?).await?;
                let mut small = [0u8; 4];
                let mut rb = ReadBuf::new(&mut small);
                let _from = std::future::poll_fn(|cx| client.poll_recv_from(cx, &mut rb)).await?;
                out.extend_from_slice(rb.filled());
                // Options.
                client.set_ttl(17)?;
                out.push(client.ttl()? as u8);
                client.set_broadcast(true)?;
                out.push(client.broadcast()? as u8);
                Ok(out)
            }

            pub(crate) async fn unix_stream(name: &str) -> io::Result<Vec<u8>> {
                let listener = net::UnixListener::bind(name)?;
                let addr: net::unix::SocketAddr = listener.local_addr()?;
                let mut out = addr.as_abstract_name().unwrap_or_default().to_vec();
                let server = tokio::spawn(async move {
                    let (stream, peer) = listener.accept().await?;
                    assert!(peer.is_unnamed());
                    let (mut r, mut w) = stream.into_split();
                    tokio::io::copy(&mut r, &mut w).await?;
                    w.shutdown().await?;
                    Ok::<_, io::Error>(r.reunite(w).is_ok())
                });
                let mut client = net::UnixStream::connect(name).await?;
                let cred = client.peer_cred()?;
                out.push((cred.pid() == Some(std::process::id() as i32)) as u8);
                {
                    let (mut r, mut w) = client.split();
                    let wr = async {
                        w.write_all(b"through the halves").await?;
                        w.shutdown().await
                    };
                    let mut got = Vec::new();
                    let rd = r.read_to_end(&mut got);
                    let (a, b) = tokio::join!(wr, rd);
                    a?;
                    b?;
                    out.extend_from_slice(&got);
                }
                out.push(server.await.expect("server task")? as u8);
                Ok(out)
            }

            pub(crate) async fn unix_datagram() -> io::Result<Vec<u8>> {
                let (a, b) = net::UnixDatagram::pair()?;
                a.send(b"dgram").await?;
                let mut buf = [0u8; 16];
                let n = b.recv(&mut buf).await?;
                let mut out = buf[..n].to_vec();
                let (pa, _pb) = net::UnixStream::pair()?;
                out.push(pa.peer_addr()?.is_unnamed() as u8);
                let n = b
                    .try_io(Interest::READABLE, || b.try_recv(&mut buf))
                    .map_err(|e| e.kind());
                out.push((n == Err(io::ErrorKind::WouldBlock)) as u8);
                Ok(out)
            }
        }
    };
}

program!(with_tokio, tokio::net);
program!(with_sockwq, sockwq_net);

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_program_same_results() {
    tokio::time::timeout(LIMIT, async {
        let t = with_tokio::udp().await.unwrap();
        let s = with_sockwq::udp().await.unwrap();
        assert_eq!(t, s);

        let pid = std::process::id();
        let t = with_tokio::unix_stream(&format!("\0sockwq-dropin-{pid}"))
            .await
            .unwrap();
        let s = with_sockwq::unix_stream(&format!("\0sockwq-dropin-{pid}"))
            .await
            .unwrap();
        assert_eq!(t, s);
        assert!(s.ends_with(b"through the halves\x01"));

        let t = with_tokio::unix_datagram().await.unwrap();
        let s = with_sockwq::unix_datagram().await.unwrap();
        assert_eq!(t, s);
    })
    .await
    .expect("timed out");
}
