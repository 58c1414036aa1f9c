//! `UnixSocket`, as `tokio::net::UnixSocket`: a stream socket that binds,
//! listens and connects, a datagram socket, the errors tokio gives for the
//! wrong kind, and no leaked fd on any path.

use sockwq_test_support as support;

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::sync::{Mutex, MutexGuard};

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use sockwq_net::{UnixDatagram, UnixSocket, UnixStream};

use support::{abstract_name, block_on, open_fds, temp_path};

/// Seconds a test may take: a hang fails it instead of hanging the suite.
const T: u64 = 30;

/// The tests here count the process's open fds: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn stream_socket_binds_listens_and_connects() {
    let _serial = serial();
    block_on(T, async {
        let path = temp_path("unixsocket-stream");
        let server = UnixSocket::new_stream().unwrap();
        server.bind(&path).unwrap();
        let listener = server.listen(16).unwrap();
        assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));

        let client = UnixSocket::new_stream().unwrap();
        let client_name = abstract_name("unixsocket-client");
        client.bind(&client_name).unwrap();
        let mut client = client.connect(&path).await.unwrap();
        let (mut accepted, peer) = listener.accept().await.unwrap();
        assert_eq!(peer.as_abstract_name(), Some(&client_name.as_bytes()[1..]));

        for i in 0..100u32 {
            let msg = format!("message {i}");
            client.write_all(msg.as_bytes()).await.unwrap();
            let mut buf = vec![0u8; msg.len()];
            accepted.read_exact(&mut buf).await.unwrap();
            accepted.write_all(&buf).await.unwrap();
            let mut back = vec![0u8; msg.len()];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(back, msg.as_bytes());
        }
        drop(client);
        let mut rest = Vec::new();
        assert_eq!(accepted.read_to_end(&mut rest).await.unwrap(), 0);
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn datagram_socket_sends_and_receives() {
    let _serial = serial();
    block_on(T, async {
        let a_name = abstract_name("unixsocket-dgram-a");
        let a = UnixSocket::new_datagram().unwrap();
        a.bind(&a_name).unwrap();
        let a = a.datagram().unwrap();
        let b = UnixDatagram::unbound().unwrap();
        b.connect(&a_name).unwrap();
        for i in 0..100u32 {
            let msg = i.to_be_bytes();
            b.send(&msg).await.unwrap();
            let mut buf = [0u8; 8];
            let (n, from) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &msg);
            assert!(from.is_unnamed());
        }
    });
}

#[test]
fn the_wrong_kind_is_an_error_as_in_tokio() {
    let _serial = serial();
    block_on(T, async {
        let before = open_fds();
        let e = UnixSocket::new_datagram().unwrap().listen(1).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Other);
        assert_eq!(e.to_string(), "listen cannot be called on a datagram socket");

        let e = UnixSocket::new_datagram()
            .unwrap()
            .connect(abstract_name("unixsocket-nobody"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Other);
        assert_eq!(e.to_string(), "connect cannot be called on a datagram socket");

        let e = UnixSocket::new_stream().unwrap().datagram().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Other);
        assert_eq!(e.to_string(), "datagram cannot be called on a stream socket");
        assert_eq!(open_fds(), before, "a refused socket's fd leaked");
    });
}

#[test]
fn connect_and_bind_errors() {
    let _serial = serial();
    block_on(T, async {
        let before = open_fds();
        let missing = temp_path("unixsocket-missing");
        let e = UnixSocket::new_stream()
            .unwrap()
            .connect(&missing)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");

        // Bound but not listening: refused.
        let name = abstract_name("unixsocket-not-listening");
        let bound = UnixSocket::new_stream().unwrap();
        bound.bind(&name).unwrap();
        let e = UnixSocket::new_stream()
            .unwrap()
            .connect(&name)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");

        // The name is taken.
        let e = UnixSocket::new_stream().unwrap().bind(&name).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
        drop(bound);

        let e = UnixSocket::new_stream().unwrap().bind("").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        let long = "x".repeat(200);
        let e = UnixSocket::new_datagram().unwrap().bind(&long).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert_eq!(open_fds(), before, "an fd leaked on an error path");
    });
}

#[test]
fn not_a_socket_is_an_error_not_a_panic() {
    let _serial = serial();
    block_on(T, async {
        let file = std::fs::File::open("/dev/null").unwrap();
        // SAFETY: the fd is open and ours (taken out of the File).
        let not_socket = unsafe { UnixSocket::from_raw_fd(file.into_raw_fd()) };
        let e = not_socket.listen(1).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOTSOCK), "{e}");
    });
}

#[test]
fn a_blocking_fd_connects_without_blocking_the_thread() {
    let _serial = serial();
    block_on(T, async {
        let name = abstract_name("unixsocket-blocking");
        let listener = sockwq_net::UnixListener::bind(&name).unwrap();
        // A blocking socket made elsewhere, handed over by fd.
        let std_sock = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
        assert!(!std_sock.nonblocking().unwrap());
        // SAFETY: the fd is open and ours.
        let socket = unsafe { UnixSocket::from_raw_fd(std_sock.into_raw_fd()) };
        let fd = socket.as_raw_fd();
        let stream: UnixStream = socket.connect(&name).await.unwrap();
        assert_eq!(stream.as_raw_fd(), fd);
        let (_accepted, _) = listener.accept().await.unwrap();
        assert!(socket2::SockRef::from(&stream).nonblocking().unwrap());
    });
}

#[test]
fn debug_shows_the_fd_and_type() {
    let _serial = serial();
    let s = UnixSocket::new_stream().unwrap();
    let shown = format!("{s:?}");
    assert!(shown.contains("UnixSocket"), "{shown}");
    assert!(shown.contains(&s.as_raw_fd().to_string()), "{shown}");
}
