#!/usr/bin/env bash
# Runs the reactor's and net's test suites under AddressSanitizer (with
# LeakSanitizer) on the nightly toolchain. CI stays on stable; this is a
# developer check for the unsafe parts (token → Source, waker cells,
# grace periods).
#
#   scripts/asan.sh                    # both suites
#   scripts/asan.sh --test churn       # extra arguments go to `cargo test`
#
# std is instrumented too (-Zbuild-std) when the nightly has rust-src;
# without it std comes precompiled and uninstrumented, which still catches
# every bad access made by our code and any heap misuse (ASan replaces
# malloc/free for the whole process).
#
# Left out: the loom model (reactor/tests/loom_state.rs: loom's
# stack-switching generator leaks its coroutine contexts by design, which
# LeakSanitizer reports, and the model checks orderings, not memory
# errors), doctests (rustdoc would need the same flags per target), and the
# #[ignore]d heavy stress variants, as in the normal suite. Builds into
# target/asan, apart from the normal target dir, since every crate is
# compiled with the sanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLCHAIN="${SOCKWQ_ASAN_TOOLCHAIN:-nightly}"
TARGET="$(rustc +"$TOOLCHAIN" -vV | sed -n 's/^host: //p')"

build_std=()
if rustup component list --toolchain "$TOOLCHAIN" --installed 2>/dev/null | grep -q '^rust-src'; then
    build_std=(-Zbuild-std)
    echo "== asan: std instrumented (-Zbuild-std)"
else
    echo "== asan: rust-src not installed for $TOOLCHAIN: std uninstrumented" \
        "(rustup component add rust-src --toolchain $TOOLCHAIN to instrument it)"
fi

export RUSTFLAGS="-Zsanitizer=address -Cforce-frame-pointers=yes ${RUSTFLAGS:-}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/asan}"
# Leak checking on; abort at the first error so a report is never missed.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}"
# The suites' watchdogs allow for a slower build; stress sizes stay at
# their defaults.
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

# Every integration test of the reactor but the loom model, and all of net's.
reactor_tests=()
for f in reactor/tests/*.rs; do
    name="$(basename "$f" .rs)"
    [ "$name" = loom_state ] || reactor_tests+=(--test "$name")
done

set -x
cargo +"$TOOLCHAIN" test "${build_std[@]}" --target "$TARGET" --all-features \
    -p sockwq-reactor --lib "${reactor_tests[@]}" "$@"
cargo +"$TOOLCHAIN" test "${build_std[@]}" --target "$TARGET" --all-features \
    -p sockwq-net --lib --tests "$@"
