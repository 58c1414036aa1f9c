#[sockwq::main]
fn main() {}
