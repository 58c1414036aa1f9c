//! TCP socket options on streams, listeners and `TcpSocket` (SO_REUSEPORT
//! included), and the fd flags: sockets are non-blocking and close-on-exec.

use sockwq_test_support as support;

use std::time::Duration;

use sockwq_net::{TcpListener, TcpSocket};
use support::{block_on, tcp_pair};

const T: u64 = 30;

#[test]
fn options() {
    block_on(T, async {
        let (client, server) = tcp_pair().await;
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.set_ttl(42).unwrap();
        assert_eq!(client.ttl().unwrap(), 42);
        client.set_quickack(true).unwrap();
        let _ = client.quickack().unwrap();
        #[allow(deprecated)]
        client.set_linger(Some(Duration::from_secs(1))).unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(1)));
        #[allow(deprecated)]
        client.set_linger(None).unwrap();
        assert!(client.take_error().unwrap().is_none());
        assert!(server.local_addr().unwrap().ip().is_loopback());
        // Options tokio leaves to socket2 work through `AsFd`.
        let sock = socket2::SockRef::from(&client);
        sock.set_keepalive(true).unwrap();
        assert!(sock.keepalive().unwrap());

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.set_ttl(7).unwrap();
        assert_eq!(listener.ttl().unwrap(), 7);

        let s = TcpSocket::new_v4().unwrap();
        assert!(!s.reuseaddr().unwrap());
        s.set_reuseaddr(true).unwrap();
        assert!(s.reuseaddr().unwrap());
        s.set_reuseport(true).unwrap();
        assert!(s.reuseport().unwrap());
        s.set_keepalive(true).unwrap();
        assert!(s.keepalive().unwrap());
        s.set_nodelay(true).unwrap();
        assert!(s.nodelay().unwrap());
        s.set_send_buffer_size(1 << 16).unwrap();
        assert!(s.send_buffer_size().unwrap() >= 1 << 16);
        s.set_recv_buffer_size(1 << 16).unwrap();
        assert!(s.recv_buffer_size().unwrap() >= 1 << 16);
        s.set_zero_linger().unwrap();
        assert_eq!(s.linger().unwrap(), Some(Duration::ZERO));
        s.set_tos_v4(0x10).unwrap();
        assert_eq!(s.tos_v4().unwrap(), 0x10);
        assert!(s.take_error().unwrap().is_none());
        s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let bound = s.local_addr().unwrap();
        // SO_REUSEPORT: two listeners on one port.
        let s2 = TcpSocket::new_v4().unwrap();
        s2.set_reuseport(true).unwrap();
        s2.set_reuseaddr(true).unwrap();
        s2.bind(bound).unwrap();
        let l1 = s.listen(16).unwrap();
        let l2 = s2.listen(u32::MAX).unwrap(); // clamped, not an error
        assert_eq!(l1.local_addr().unwrap(), l2.local_addr().unwrap());

        // from_std_stream: a std stream back to a socket (options, then drop).
        let std_stream = std::net::TcpStream::connect(bound).unwrap();
        let sock = TcpSocket::from_std_stream(std_stream);
        sock.set_nodelay(true).unwrap();
        assert!(sock.nodelay().unwrap());
        let _ = format!("{sock:?} {l1:?} {client:?}");
    });
}

#[test]
fn accepted_streams_are_nonblocking_and_cloexec() {
    block_on(T, async {
        let (client, server) = tcp_pair().await;
        for fd in [
            std::os::fd::AsRawFd::as_raw_fd(&client),
            std::os::fd::AsRawFd::as_raw_fd(&server),
        ] {
            // SAFETY: fcntl on a valid fd.
            let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
            // SAFETY: F_GETFD takes no pointer argument; a bad fd yields -1.
            let fdfl = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            assert!(fl & libc::O_NONBLOCK != 0);
            assert!(fdfl & libc::FD_CLOEXEC != 0);
        }
        let _ = std::os::fd::AsFd::as_fd(&server);
        // A blocking socket handed over through from_std_stream is made
        // non-blocking by connect (a blocking connect would stall the thread).
        let blocking = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        assert!(!blocking.nonblocking().unwrap());
        let sock =
            TcpSocket::from_std_stream(std::net::TcpStream::from(std::os::fd::OwnedFd::from(blocking)));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let s = sock.connect(listener.local_addr().unwrap()).await.unwrap();
        assert!(socket2::SockRef::from(&s).nonblocking().unwrap());
    });
}
