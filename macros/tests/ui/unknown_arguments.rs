#[sockwq::main(unhandled_panic = "shutdown_runtime")]
async fn first() {}

#[sockwq::main(multi_thread)]
async fn second() {}

#[sockwq::test(flavor)]
async fn third() {}

fn main() {}
