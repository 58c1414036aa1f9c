//! #[sockwq::main] and #[sockwq::test] with each flavour and argument, as
//! tokio code would use them.

use std::io;
use std::thread;
use std::time::Duration;

fn thread_name() -> String {
    thread::current().name().unwrap_or("").to_owned()
}

/// Bounds a test body (these tests only spawn and join).
async fn bounded<F: Future>(fut: F) -> F::Output {
    sockwq::time::timeout(Duration::from_secs(10), fut)
        .await
        .expect("the test did not finish within 10 s")
}

// current_thread (the default of `test`): the test thread runs spawned
// tasks itself, with a reactor of its own.
#[sockwq::test]
async fn test_defaults_to_current_thread() {
    let me = thread_name();
    let spawned = bounded(sockwq::spawn(async { thread_name() })).await.unwrap();
    assert_eq!(spawned, me);
    // A !Send local task works, as on tokio's current_thread (with a LocalSet).
    let rc = std::rc::Rc::new(1);
    assert_eq!(sockwq::spawn_local(async move { *rc }).await.unwrap(), 1);
}

#[sockwq::test(flavor = "current_thread")]
async fn test_current_thread_explicit() -> io::Result<()> {
    let l = sockwq::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?;
    let (client, accepted) =
        bounded(async { tokio::join!(sockwq::net::TcpStream::connect(addr), l.accept()) }).await;
    assert_eq!(client?.local_addr()?, accepted?.1);
    Ok(())
}

#[sockwq::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_multi_thread_runs_tasks_on_workers() {
    let names: Vec<String> = bounded(async {
        let hs: Vec<_> = (0..4).map(|_| sockwq::spawn(async { thread_name() })).collect();
        let mut names = Vec::new();
        for h in hs {
            names.push(h.await.unwrap());
        }
        names
    })
    .await;
    let mut distinct = names.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct, ["sockwq-worker-0", "sockwq-worker-1"], "{names:?}");
}

#[sockwq::test(flavor = "multi_thread")]
async fn test_multi_thread_default_workers() {
    let name = bounded(sockwq::spawn(async { thread_name() })).await.unwrap();
    assert!(name.starts_with("sockwq-worker-"), "{name}");
}

#[sockwq::test(crate = "sockwq")]
async fn test_crate_path() {
    assert_eq!(bounded(sockwq::spawn(async { 5 })).await.unwrap(), 5);
}

mod renamed {
    // The runtime under another name, as `crate = "..."` is for.
    pub(crate) use sockwq as rt;
}

#[sockwq::test(crate = "renamed::rt", flavor = "multi_thread", worker_threads = 1)]
async fn test_crate_path_renamed() {
    assert_eq!(bounded(sockwq::spawn(async { 6 })).await.unwrap(), 6);
}

// `?` converts errors as in the async fn.
#[sockwq::test]
async fn test_question_mark_converts_errors() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = "42".parse()?;
    assert_eq!(n, 42);
    Ok(())
}

// #[sockwq::main] on any function: it becomes a synchronous one. `main`'s
// default flavour is multi_thread.
#[sockwq::main]
async fn main_default() -> String {
    bounded(sockwq::spawn(async { thread_name() })).await.unwrap()
}

#[sockwq::main(flavor = "current_thread")]
async fn main_current_thread() -> (String, String) {
    (
        thread_name(),
        bounded(sockwq::spawn(async { thread_name() })).await.unwrap(),
    )
}

#[sockwq::main(worker_threads = 1)]
async fn main_early_return(fail: bool) -> Result<u32, String> {
    if fail {
        return Err("early".into());
    }
    Ok(7)
}

#[test]
fn main_attribute_makes_a_sync_function() {
    assert!(main_default().starts_with("sockwq-worker-"));
    let (me, spawned) = main_current_thread();
    assert_eq!(me, spawned);
    assert_eq!(main_early_return(false), Ok(7));
    assert_eq!(main_early_return(true), Err("early".into()));
}
