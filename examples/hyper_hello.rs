//! A hyper 1.x HTTP/1 server on sockwq sockets, inside `#[tokio::main]`,
//! through `hyper_util::rt::TokioIo`.
//!
//! ```text
//! cargo run --example hyper_hello [PORT]     # PORT 0 (default): any free port
//! curl http://127.0.0.1:PORT/                # 200 OK, "Hello, World!"
//! ```
//!
//! Prints `listening on 127.0.0.1:PORT` and serves until killed.

use std::convert::Infallible;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sockwq::net::TcpListener;

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"Hello, World!\n"))))
}

/// Serves every connection `listener` accepts, each on a task of its own.
pub(crate) async fn serve(listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of fds and the like: back off instead of spinning.
                eprintln!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(hello));
            if let Err(e) = conn.await {
                eprintln!("connection: {e}");
            }
        });
    }
}

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
    serve(listener).await;
    Ok(())
}
