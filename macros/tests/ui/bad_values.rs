#[sockwq::main(flavor = "single_thread")]
async fn unknown_flavor() {}

#[sockwq::main(flavor = "current_thread", worker_threads = 2)]
async fn workers_on_current_thread() {}

#[sockwq::main(worker_threads = 0)]
async fn zero_workers() {}

#[sockwq::main(worker_threads = "4")]
async fn workers_as_string() {}

#[sockwq::main(flavor = "multi_thread", flavor = "multi_thread")]
async fn flavor_twice() {}

#[sockwq::main(crate = 5)]
async fn crate_not_a_string() {}

fn main() {}
