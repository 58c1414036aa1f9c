//! The hyper and axum examples' servers, on sockwq sockets in a tokio
//! runtime, answer 1,000 requests each from a hyper client.

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use sockwq_test_support::with_watchdog;

#[allow(dead_code)]
#[path = "../examples/hyper_hello.rs"]
mod hyper_hello;

#[allow(dead_code)]
#[path = "../examples/axum_hello.rs"]
mod axum_hello;

const REQUESTS: usize = 1_000;
const CONNS: usize = 4;

/// `REQUESTS` requests over `CONNS` keep-alive connections (half of them on
/// tokio's sockets, half on sockwq's), each answer checked.
async fn client(addr: SocketAddr) -> io::Result<()> {
    let mut conns = tokio::task::JoinSet::new();
    for c in 0..CONNS {
        conns.spawn(async move {
            let mut sender = if c % 2 == 0 {
                let s = tokio::net::TcpStream::connect(addr).await?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
                    .await
                    .map_err(io::Error::other)?;
                tokio::spawn(conn);
                sender
            } else {
                let s = sockwq::net::TcpStream::connect(addr).await?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
                    .await
                    .map_err(io::Error::other)?;
                tokio::spawn(conn);
                sender
            };
            for _ in 0..REQUESTS / CONNS {
                sender.ready().await.map_err(io::Error::other)?;
                let req = Request::builder()
                    .uri("/")
                    .header(hyper::header::HOST, addr.to_string())
                    .body(Empty::<Bytes>::new())
                    .map_err(io::Error::other)?;
                let res = sender.send_request(req).await.map_err(io::Error::other)?;
                assert_eq!(res.status(), StatusCode::OK);
                let body = res
                    .into_body()
                    .collect()
                    .await
                    .map_err(io::Error::other)?
                    .to_bytes();
                assert_eq!(&body[..], b"Hello, World!\n");
            }
            Ok::<usize, io::Error>(REQUESTS / CONNS)
        });
    }
    let mut answered = 0;
    while let Some(r) = conns.join_next().await {
        answered += r.map_err(io::Error::other)??;
    }
    assert_eq!(answered, REQUESTS);
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn hyper_example_answers_1000_requests() {
    with_watchdog(120, || {
        runtime()
            .block_on(async {
                let listener = sockwq::net::TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                tokio::spawn(hyper_hello::serve(listener));
                client(addr).await
            })
            .unwrap();
    });
}

#[test]
fn axum_example_answers_1000_requests() {
    with_watchdog(120, || {
        runtime()
            .block_on(async {
                let listener = sockwq::net::TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                tokio::spawn(
                    async move { axum::serve(axum_hello::Listener(listener), axum_hello::app()).await },
                );
                client(addr).await
            })
            .unwrap();
    });
}
