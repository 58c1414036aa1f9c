#[sockwq::test(start_paused = true)]
async fn paused_clock() {}

fn main() {}
