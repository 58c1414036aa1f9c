//! A sockwq `block_on` where it would block a thread that drives tasks — a
//! sockwq task, another `block_on`, a tokio runtime — panics and says why.

use sockwq_test_support as support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use sockwq_runtime::{JoinError, Runtime, block_on, spawn_blocking};

use support::with_watchdog;

fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p.downcast::<&str>().map(|s| s.to_string()).unwrap_or_default(),
    }
}

fn panic_message(e: JoinError) -> String {
    assert!(e.is_panic(), "{e}");
    message(e.into_panic())
}

#[track_caller]
fn assert_says_why(msg: &str, inside: &str) {
    assert!(msg.contains("block_on called inside"), "{msg}");
    assert!(msg.contains(inside), "{msg}");
    assert!(msg.contains("would block"), "{msg}");
    assert!(msg.contains("`.await` the future"), "{msg}");
}

#[test]
fn block_on_in_a_worker_task_panics_with_why() {
    with_watchdog(10, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let other = Arc::new(Runtime::builder().worker_threads(1).build().unwrap());
        let free = rt
            .block_on(rt.spawn(async { block_on(async { 1 }) }))
            .unwrap_err();
        assert_says_why(&panic_message(free), "a sockwq runtime");
        let o = other.clone();
        let method = rt
            .block_on(rt.spawn(async move { o.block_on(async { 1 }) }))
            .unwrap_err();
        assert_says_why(&panic_message(method), "a sockwq runtime");
        // The worker survived and runs the next task.
        assert_eq!(rt.block_on(rt.spawn(async { 2 })).unwrap(), 2);
    });
}

#[test]
fn block_on_inside_block_on_panics_with_why() {
    with_watchdog(10, || {
        let p = catch_unwind(|| block_on(async { block_on(async { 1 }) })).unwrap_err();
        assert_says_why(&message(p), "a sockwq runtime");
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let p = catch_unwind(AssertUnwindSafe(|| rt.block_on(async { block_on(async { 1 }) }))).unwrap_err();
        assert_says_why(&message(p), "a sockwq runtime");
    });
}

/// Blocking is what the blocking pool is for.
#[test]
fn block_on_in_spawn_blocking_is_fine() {
    with_watchdog(10, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let v = rt.block_on(rt.spawn(async { spawn_blocking(|| block_on(async { 3 })).await }));
        assert_eq!(v.unwrap().unwrap(), 3);
    });
}

#[cfg(feature = "tokio")]
#[test]
fn block_on_inside_tokio_panics_with_why() {
    with_watchdog(10, || {
        let ct = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let p = catch_unwind(AssertUnwindSafe(|| ct.block_on(async { block_on(async { 1 }) }))).unwrap_err();
        assert_says_why(&message(p), "a tokio runtime");
        let mt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let e = mt
            .block_on(mt.spawn(async { block_on(async { 1 }) }))
            .unwrap_err();
        assert!(e.is_panic());
        assert_says_why(&message(e.into_panic()), "a tokio runtime");
        // Outside tokio's context, on the same thread, it is fine again.
        drop((ct, mt));
        assert_eq!(block_on(async { 4 }), 4);
    });
}
