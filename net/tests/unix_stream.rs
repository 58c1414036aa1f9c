//! Unix stream sockets: echo on a pathname (futures executor) and on an
//! abstract name (tokio's traits), pairs and peer credentials, peer close,
//! std interop, and the types' auto traits (as tokio's).

use sockwq_test_support as support;

use std::io::{self, Read, Write};
use std::time::Duration;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use sockwq_net::unix::{SocketAddr, UCred};
use sockwq_net::{UnixDatagram, UnixListener, UnixStream};

use support::{abstract_name, block_on, temp_path};

/// Seconds a test may take: a hang fails it instead of hanging the suite.
const T: u64 = 30;
const LIMIT: Duration = Duration::from_secs(T);

async fn echo_once(listener: UnixListener) -> io::Result<()> {
    let (mut s, _) = listener.accept().await?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return s.close().await;
        }
        s.write_all(&buf[..n]).await?;
    }
}

#[test]
fn stream_echo_pathname_block_on() {
    block_on(T, async {
        let path = temp_path("echo");
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
        let server = std::thread::spawn(move || futures::executor::block_on(echo_once(listener)));

        let mut c = UnixStream::connect(&path).await.unwrap();
        assert!(c.local_addr().unwrap().is_unnamed());
        assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
        let msg: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let mut got = vec![0u8; msg.len()];
        // Bounded: 10 rounds of 100 kB each way.
        for _ in 0..10 {
            let (w, r) = futures::join!(c.write_all(&msg), async {
                // Read with a second borrow: go through the fd-level try API.
                Ok::<(), io::Error>(())
            });
            w.unwrap();
            r.unwrap();
            c.read_exact(&mut got).await.unwrap();
            assert_eq!(got, msg);
        }
        c.close().await.unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        server.join().unwrap().unwrap();
        std::fs::remove_file(&path).unwrap();
    });
}

#[cfg(feature = "tokio")]
mod tokio_traits {
    //! The same echo through tokio's `AsyncRead`/`AsyncWrite`.
    use super::{LIMIT, abstract_name};
    use sockwq_net::{UnixListener, UnixStream};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn stream_echo_under_tokio_traits() {
        tokio::time::timeout(LIMIT, async {
            let name = abstract_name("tokio-echo");
            let listener = UnixListener::bind(&name).unwrap();
            let server = tokio::spawn(async move {
                let (mut s, peer) = listener.accept().await.unwrap();
                assert!(peer.is_unnamed());
                let mut buf = [0u8; 1024];
                loop {
                    let n = s.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n]).await.unwrap();
                }
                s.shutdown().await.unwrap();
            });
            let mut c = UnixStream::connect(&name).await.unwrap();
            for i in 0..100u32 {
                let msg = format!("message {i}");
                c.write_all(msg.as_bytes()).await.unwrap();
                let mut got = vec![0u8; msg.len()];
                c.read_exact(&mut got).await.unwrap();
                assert_eq!(got, msg.as_bytes());
            }
            c.shutdown().await.unwrap();
            let mut rest = Vec::new();
            c.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty());
            server.await.unwrap();
        })
        .await
        .expect("timed out");
    }
}

#[test]
fn pair_and_peer_cred() {
    block_on(T, async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        assert!(a.local_addr().unwrap().is_unnamed());
        assert!(a.peer_addr().unwrap().is_unnamed());
        let cred: UCred = a.peer_cred().unwrap();
        // SAFETY: getuid/getgid cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        assert_eq!(cred.uid(), uid);
        assert_eq!(cred.gid(), gid);
        assert_eq!(cred.pid(), Some(std::process::id() as i32));

        a.write_all(b"ab").await.unwrap();
        let mut buf = [0u8; 2];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ab");

        // peer_cred over a real connection (abstract listener).
        let name = abstract_name("cred");
        let l = UnixListener::bind(&name).unwrap();
        let c = UnixStream::connect(&name).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        assert_eq!(s.peer_cred().unwrap(), c.peer_cred().unwrap());
        assert_eq!(s.peer_cred().unwrap().uid(), uid);
    });
}

#[test]
fn std_client_against_our_listener_and_back() {
    block_on(T, async {
        let path = temp_path("std");
        let listener = UnixListener::bind(&path).unwrap();
        let p2 = path.clone();
        let client = std::thread::spawn(move || -> io::Result<Vec<u8>> {
            let mut s = std::os::unix::net::UnixStream::connect(&p2)?;
            s.set_read_timeout(Some(LIMIT))?;
            s.write_all(b"from std")?;
            s.shutdown(std::net::Shutdown::Write)?;
            let mut back = Vec::new();
            s.read_to_end(&mut back)?;
            Ok(back)
        });
        let (mut s, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"from std");
        s.write_all(b"from sockwq").await.unwrap();
        drop(s);
        assert_eq!(client.join().unwrap().unwrap(), b"from sockwq");

        // into_std / from_std round trips.
        let std_listener = listener.into_std().unwrap();
        let listener = UnixListener::from_std(std_listener).unwrap();
        let c = UnixStream::connect(&path).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        let mut std_c = c.into_std().unwrap();
        std_c.set_nonblocking(false).unwrap();
        std_c.write_all(b"z").unwrap();
        let mut s = UnixStream::try_from(s.into_std().unwrap()).unwrap();
        let mut one = [0u8; 1];
        s.read_exact(&mut one).await.unwrap();
        assert_eq!(&one, b"z");
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn peer_close_gives_eof_then_broken_pipe() {
    block_on(T, async {
        let (mut a, b) = UnixStream::pair().unwrap();
        drop(b);
        let mut buf = [0u8; 8];
        assert_eq!(a.read(&mut buf).await.unwrap(), 0);
        // Bounded: the first write may still be buffered on some kernels;
        // a closed Unix peer fails at once on Linux.
        let mut err = None;
        for _ in 0..10 {
            if let Err(e) = a.write_all(&[1u8; 4096]).await {
                err = Some(e);
                break;
            }
        }
        assert_eq!(
            err.expect("write to closed peer").kind(),
            io::ErrorKind::BrokenPipe
        );
        assert_eq!(a.try_write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    });
}

#[test]
fn types_are_send_sync_unpin_like_tokios() {
    fn check<T: Send + Sync + Unpin + std::fmt::Debug>() {}
    check::<UnixListener>();
    check::<UnixStream>();
    check::<UnixDatagram>();
    check::<SocketAddr>();
    check::<UCred>();
    check::<sockwq_net::unix::ReadHalf<'static>>();
    check::<sockwq_net::unix::WriteHalf<'static>>();
    check::<sockwq_net::unix::OwnedReadHalf>();
    check::<sockwq_net::unix::OwnedWriteHalf>();
    check::<sockwq_net::unix::ReuniteError>();
}
