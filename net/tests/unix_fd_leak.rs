//! Dropping sockets closes them: the `/proc/self/fd` count after many
//! create/use/drop cycles equals the count after a warm-up. One test in
//! its own binary, so no other test opens fds meanwhile.

use sockwq_test_support as support;

use std::io;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use sockwq_net::{UdpSocket, UnixDatagram, UnixListener, UnixStream};

async fn cycle(i: usize) -> io::Result<()> {
    // Listener + connect + accept + one echo, halves split and reunited.
    let name = format!("\0sockwq-fdleak-{}-{i}", std::process::id());
    let l = UnixListener::bind(&name)?;
    let mut c = UnixStream::connect(&name).await?;
    let (s, _) = l.accept().await?;
    c.write_all(b"x").await?;
    let (mut r, w) = s.into_split();
    let mut one = [0u8; 1];
    r.read_exact(&mut one).await?;
    let s = r.reunite(w).expect("same stream");
    drop((s, c, l));
    // Pairs, an into_std round trip, a borrowed split.
    let (mut a, b) = UnixStream::pair()?;
    let (_rh, _wh) = UnixStream::split(&mut a);
    let _std = b.into_std()?;
    // Datagrams, unix and UDP.
    let (d1, d2) = UnixDatagram::pair()?;
    d1.send(b"d").await?;
    d2.recv(&mut one).await?;
    let _u = UnixDatagram::unbound()?;
    let u1 = UdpSocket::bind("127.0.0.1:0").await?;
    let u2 = UdpSocket::bind("127.0.0.1:0").await?;
    u1.send_to(b"u", u2.local_addr()?).await?;
    u2.recv_from(&mut one).await?;
    let _back = UdpSocket::from_std(u1.into_std()?)?;
    // Failed connects must not leak the socket they made.
    assert!(UnixStream::connect("\0sockwq-fdleak-nobody").await.is_err());
    assert!(UnixListener::bind(&name).is_ok());
    Ok(())
}

#[test]
fn dropping_sockets_leaks_no_fds() {
    let (before, after) = support::block_on(60, async {
        // Warm-up: starts the global reactor (epoll + eventfd) and any
        // lazily created state.
        for i in 0..5 {
            cycle(i).await?;
        }
        let before = support::open_fds();
        for i in 5..505 {
            cycle(i).await?;
        }
        Ok::<(usize, usize), io::Error>((before, support::open_fds()))
    })
    .unwrap();
    assert_eq!(before, after, "fd leak: {before} open before, {after} after");
}
