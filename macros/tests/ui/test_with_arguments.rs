#[sockwq::test]
async fn takes_a_fixture(fixture: u8) {
    let _ = fixture;
}

fn main() {}
