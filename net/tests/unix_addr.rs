//! Unix socket addresses: abstract names (bind, connect, addresses seen on
//! both ends, in use, freed), and bad input (missing paths, empty and
//! too-long names, unnamed addresses, stale socket files) as clear errors.

use sockwq_test_support as support;

use std::io;

use sockwq_net::unix::SocketAddr;
use sockwq_net::{UnixDatagram, UnixListener, UnixStream};

use support::{abstract_name, block_on, temp_path};

/// Seconds a test may take: a hang fails it instead of hanging the suite.
const T: u64 = 30;

#[test]
fn abstract_namespace_bind_connect_and_addresses() {
    block_on(T, async {
        let name = abstract_name("abs");
        let listener = UnixListener::bind(&name).unwrap();
        let local = listener.local_addr().unwrap();
        assert_eq!(local.as_abstract_name(), Some(name.as_bytes()[1..].as_ref()));
        assert!(local.as_pathname().is_none() && !local.is_unnamed());

        // Via an explicit address, too.
        let addr = SocketAddr::from_abstract_name(&name.as_bytes()[1..]).unwrap();
        let (c1, c2) = futures::join!(UnixStream::connect(&name), UnixStream::connect_addr(&addr));
        let (c1, c2) = (c1.unwrap(), c2.unwrap());
        let (s1, _) = listener.accept().await.unwrap();
        let (s2, _) = listener.accept().await.unwrap();
        for c in [&c1, &c2] {
            let peer = c.peer_addr().unwrap();
            assert_eq!(peer.as_abstract_name(), Some(name.as_bytes()[1..].as_ref()));
        }
        for s in [&s1, &s2] {
            assert_eq!(
                s.local_addr().unwrap().as_abstract_name(),
                Some(name.as_bytes()[1..].as_ref())
            );
        }

        // A second bind to the same abstract name is refused.
        let err = UnixListener::bind(&name).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        // The name is free again once the listener is gone.
        drop(listener);
        let again = UnixListener::bind(&name).unwrap();
        drop(again);
    });
}

#[test]
fn bad_input_is_a_clear_error() {
    block_on(T, async {
        let missing = temp_path("missing");
        let e = UnixStream::connect(&missing).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let e = UnixStream::connect("").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let long = "/tmp/".to_string() + &"x".repeat(300);
        assert_eq!(
            UnixListener::bind(&long).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            UnixDatagram::bind(&long).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let e = UnixStream::connect(abstract_name("nobody")).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        // A datagram socket is not a listener.
        let name = abstract_name("notlistening");
        let _d = UnixDatagram::bind(&name).unwrap();
        assert!(UnixStream::connect(&name).await.is_err());
        // Unnamed addresses cannot be bound or connected to.
        let (a, _b) = UnixStream::pair().unwrap();
        let unnamed = a.local_addr().unwrap();
        assert_eq!(
            UnixListener::bind_addr(&unnamed).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            UnixStream::connect_addr(&unnamed).await.unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        // A stale socket file: AddrInUse (as tokio; remove it first).
        let path = temp_path("stale");
        drop(UnixListener::bind(&path).unwrap());
        assert_eq!(
            UnixListener::bind(&path).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
        std::fs::remove_file(&path).unwrap();
    });
}
