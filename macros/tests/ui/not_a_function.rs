#[sockwq::main]
struct Server;

fn main() {}
