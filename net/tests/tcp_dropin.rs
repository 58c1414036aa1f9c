//! Drop-in: one tokio program (`support/dropin_program.rs`), written
//! against `tokio::net`, compiled twice — once with `tokio::net`, once with
//! `sockwq_net as net` — and run under tokio runtimes. Both builds must
//! produce the same transcript.
#![cfg(feature = "tokio")] // drives sockwq sockets through tokio's AsyncRead/AsyncWrite

use sockwq_test_support as support;

mod with_tokio {
    use tokio::net;
    include!("support/dropin_program.rs");
}

mod with_sockwq {
    use sockwq_net as net;
    include!("support/dropin_program.rs");
}

fn expected() -> Vec<String> {
    [
        "HELLO",
        "DROP-IN",
        "WORLD",
        "eof:0",
        "writable:true",
        "peek:ping",
        "ping 0123456789",
        "refused:ConnectionRefused",
        "bad:InvalidInput",
        "inuse:AddrInUse",
        "lookup:true",
        "echoed:51228",
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn program_on_tokio_net_multi_thread() {
    let t = support::timeout(60, with_tokio::exercise()).await;
    assert_eq!(t, expected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn program_on_sockwq_net_multi_thread() {
    let t = support::timeout(60, with_sockwq::exercise()).await;
    assert_eq!(t, expected());
}

#[tokio::test(flavor = "current_thread")]
async fn program_on_sockwq_net_current_thread() {
    let t = support::timeout(60, with_sockwq::exercise()).await;
    assert_eq!(t, expected());
}

#[tokio::test(flavor = "current_thread")]
async fn both_builds_agree() {
    let a = support::timeout(60, with_tokio::exercise()).await;
    let b = support::timeout(60, with_sockwq::exercise()).await;
    assert_eq!(a, b);
}
