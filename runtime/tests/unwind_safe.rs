//! The runtime's public types cross `catch_unwind`, as tokio's do
//! (`JoinHandle`, `AbortHandle`, `JoinSet`, `Runtime`, `Handle`, `Sleep`,
//! `JoinError` are `UnwindSafe + RefUnwindSafe` in tokio 1.54).

use std::panic::{RefUnwindSafe, UnwindSafe};
fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}
#[test]
fn runtime_types_are_unwind_safe() {
    unwind_safe::<sockwq_runtime::JoinHandle<i32>>();
    unwind_safe::<sockwq_runtime::task::AbortHandle>();
    unwind_safe::<sockwq_runtime::task::JoinSet<i32>>();
    unwind_safe::<sockwq_runtime::Runtime>();
    unwind_safe::<sockwq_runtime::runtime::Handle>();
    unwind_safe::<sockwq_runtime::time::Sleep>();
    unwind_safe::<sockwq_runtime::task::JoinError>();
}
