//! Writes to a closed peer are `BrokenPipe` errors, never a `SIGPIPE`.
//!
//! Rust's runtime ignores `SIGPIPE` at startup, which would hide a missing
//! `MSG_NOSIGNAL`; this binary (one test, its own process) restores the
//! default action first, so a `SIGPIPE` would kill it and fail the run.

use sockwq_test_support as support;

use std::io;

use futures_util::io::AsyncWriteExt;
use sockwq_net::UnixStream;

#[test]
fn writes_to_closed_peer_raise_no_sigpipe() {
    // SAFETY: installing the default disposition for SIGPIPE; no handler
    // code runs, and this process has no other signal setup to disturb.
    let prev = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(prev, libc::SIG_ERR);

    support::block_on(30, async {
        // AsyncWrite path.
        let (mut a, b) = UnixStream::pair()?;
        drop(b);
        let e = a.write_all(&[0u8; 4096]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        // try_write and try_write_vectored paths.
        assert_eq!(a.try_write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        let e = a.try_write_vectored(&[io::IoSlice::new(b"x")]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        // Owned write half, vectored.
        let (c, d) = UnixStream::pair()?;
        drop(d);
        let (_r, mut w) = c.into_split();
        let e = w.write_vectored(&[io::IoSlice::new(b"yz")]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        // Peer that shut down its read side only.
        let (e1, e2) = UnixStream::pair()?;
        socket2::SockRef::from(&e2).shutdown(std::net::Shutdown::Read)?;
        let (_r, w) = e1.into_split();
        w.writable().await?;
        assert_eq!(w.try_write(b"q").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        Ok::<(), io::Error>(())
    })
    .unwrap();
}
