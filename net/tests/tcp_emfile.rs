//! Accept under `EMFILE`: with `RLIMIT_NOFILE` exhausted, `accept` returns
//! the error to the caller (no busy loop inside, no hang), and the listener
//! works again once fds are freed: the pending connections were not lost.
//! (A test binary of its own: the rlimit is process-wide.)

use sockwq_test_support as support;

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use futures_util::StreamExt;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use sockwq_net::TcpListener;

fn max_open_fd() -> i32 {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .max()
        .unwrap_or(2)
}

/// Opens `/dev/null` until `EMFILE` (bounded by the lowered limit).
fn exhaust_fds(limit: usize) -> Vec<OwnedFd> {
    let mut fillers = Vec::new();
    for _ in 0..limit {
        match std::fs::File::open("/dev/null") {
            Ok(f) => fillers.push(OwnedFd::from(f)),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                return fillers;
            }
        }
    }
    panic!("could not exhaust fds under a limit of {limit}");
}

fn connect_blocking(sock: &socket2::Socket, addr: SocketAddr) {
    // Completes through the listen backlog; needs no new fd.
    sock.connect(&addr.into()).unwrap();
}

#[test]
fn accept_returns_emfile_and_recovers() {
    support::block_on(60, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Client sockets made before the fds run out.
        let new_client = || socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let clients: Vec<_> = (0..3).map(|_| new_client()).collect();

        let saved = support::nofile_limit();
        let limit = max_open_fd() as u64 + 32;
        support::set_nofile_limit(libc::rlimit {
            rlim_cur: limit,
            rlim_max: saved.rlim_max,
        });
        let mut fillers = exhaust_fds(limit as usize);

        for c in &clients {
            connect_blocking(c, addr);
        }

        // Every accept attempt reports EMFILE to the caller and returns.
        for _ in 0..3 {
            let err = listener.accept().await.unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
        }
        let err = listener.incoming().next().await.unwrap().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE));
        let err = futures_util::future::poll_fn(|cx| listener.poll_accept(cx))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::Error::from_raw_os_error(libc::EMFILE).kind());

        // Free a few fds: the queued connections are accepted (the
        // listener's readiness was kept, so no new event is needed).
        fillers.truncate(fillers.len() - 4);
        let mut accepted = Vec::new();
        for _ in 0..clients.len() {
            let (s, peer) = listener.accept().await.unwrap();
            assert!(
                clients
                    .iter()
                    .any(|c| c.local_addr().unwrap().as_socket() == Some(peer))
            );
            accepted.push(s);
        }

        // Restore the limit; the connections work.
        drop(fillers);
        support::set_nofile_limit(saved);
        for (s, c) in accepted.iter_mut().zip(&clients) {
            s.write_all(b"ok").await.unwrap();
            let mut buf = [0u8; 2];
            let mut c = c;
            std::io::Read::read_exact(&mut c, &mut buf).unwrap();
            assert_eq!(&buf, b"ok");
        }
        // And the listener keeps accepting new connections.
        let late = std::net::TcpStream::connect(addr).unwrap();
        let (mut s, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, late.local_addr().unwrap());
        drop(late);
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        assert!(listener.as_raw_fd() >= 0);
    });
}
