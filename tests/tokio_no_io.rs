//! A tokio runtime built without IO cannot host a sockwq reactor: making a
//! socket there returns an `io::Error` naming `enable_io`, and the runtime
//! itself goes on working.

use sockwq_test_support::with_watchdog;

#[test]
fn a_runtime_without_io_gives_a_clear_error() {
    with_watchdog(60, || {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            for _ in 0..2 {
                let e = sockwq::net::TcpListener::bind("127.0.0.1:0").await.unwrap_err();
                assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
                assert!(e.to_string().contains("enable_io"), "{e}");
            }
            let e = sockwq::reactor::tokio::handle().unwrap_err();
            assert!(e.to_string().contains("enable_io"), "{e}");
            // The runtime is fine.
            assert_eq!(tokio::spawn(async { 7 }).await.unwrap(), 7);
        });
        assert_eq!(sockwq::reactor::tokio::runtimes(), 1);
        drop(rt);
        assert_eq!(
            sockwq::reactor::tokio::runtimes(),
            0,
            "the marker goes with the runtime"
        );

        // The same on multi_thread.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let e = rt
            .block_on(async {
                tokio::spawn(sockwq::net::UdpSocket::bind("127.0.0.1:0"))
                    .await
                    .unwrap()
            })
            .unwrap_err();
        assert!(e.to_string().contains("enable_io"), "{e}");
    });
}
