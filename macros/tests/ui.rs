//! Misuse of #[sockwq::main] / #[sockwq::test] is a compile error that says
//! what is wrong (one trybuild run over tests/ui/*.rs; the expected
//! messages are the .stderr files next to them). `TRYBUILD=overwrite`
//! regenerates them after an intended change.

#[test]
fn misuse_is_a_clear_compile_error() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
