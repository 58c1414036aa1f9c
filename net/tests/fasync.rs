//! fasync notices on `sockwq::net` sockets (they implement `AsSource`).

mod support;

use futures_util::StreamExt;
use sockwq_net::{TcpListener, TcpStream, UdpSocket, UnixStream};
use sockwq_reactor::fasync::{self, Code};

#[test]
fn net_sockets_attach_and_report() {
    support::block_on(30, async {
        let (owner, mut rx) = fasync::channel(64);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _l = owner.attach(&listener).unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        // The pending connection: POLL_IN on the listener.
        let n = rx.next().await.unwrap();
        assert_eq!(
            (n.code(), n.fd()),
            (Code::In, Some(std::os::fd::AsRawFd::as_raw_fd(&listener)))
        );
        let (server, _) = listener.accept().await.unwrap();
        let _s = owner.attach(&server).unwrap();
        client.try_write(b"x").unwrap();
        loop {
            let n = rx.next().await.unwrap();
            if n.fd() == Some(std::os::fd::AsRawFd::as_raw_fd(&server)) {
                assert_eq!(n.code(), Code::In);
                break;
            }
        }
        // UDP and Unix sockets attach the same way.
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let _u = owner.attach(&udp).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let _a = owner.attach(&a).unwrap();
        drop(b);
        loop {
            let n = rx.next().await.unwrap();
            if n.fd() == Some(std::os::fd::AsRawFd::as_raw_fd(&a)) && n.code() == Code::Hup {
                break;
            }
        }
    });
}
