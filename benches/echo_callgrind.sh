#!/usr/bin/env bash
# Server instructions per echoed message, by callgrind: each server runs under
# valgrind twice, loaded by echo_bench with 2,000 and then 12,000 messages of
# 64 B over 50 connections (ping-pong); the difference of the two totals over
# the 10,000 extra messages cancels start-up, accepts and shutdown.
#
#   bash benches/echo_callgrind.sh [KIND ...]        (default: sockwq tokio-ct mio)
#
# Output files: target/callgrind/KIND-N.out (open with callgrind_annotate).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then kinds=("$@"); else kinds=(sockwq tokio-ct mio); fi
cargo build --release --example echo_server --example echo_bench -q
bin=target/release/examples
out=target/callgrind
mkdir -p "$out"
total() { # the Ir total a callgrind output file records
  awk '/^(summary|totals):/ { print $2; exit }' "$1"
}
for kind in "${kinds[@]}"; do
  declare -A ir=()
  for n in 2000 12000; do
    file="$out/$kind-$n.out"
    log="$out/$kind-$n.log"
    rm -f "$file"
    taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$file" \
      "$bin/echo_server" --runtime "$kind" --addr 127.0.0.1:0 >"$log" 2>&1 &
    vg=$!
    addr=""
    for _ in $(seq 600); do
      addr=$(sed -n 's/^listening on //p' "$log")
      [ -n "$addr" ] && break
      sleep 0.1
    done
    [ -n "$addr" ] || { echo "$kind: no 'listening on' line; see $log" >&2; kill "$vg"; exit 1; }
    "$bin/echo_bench" --target "$addr" --conns 50 --messages "$n" --rounds 1 >"$out/$kind-$n.bench" 2>&1 \
      || { echo "$kind: echo_bench failed; see $out/$kind-$n.bench" >&2; kill "$vg"; exit 1; }
    kill -TERM "$vg"
    wait "$vg" || true
    ir[$n]=$(total "$file")
  done
  per=$(( (ir[12000] - ir[2000]) / 10000 ))
  printf '%-12s %14s Ir (2,000 msgs) %14s Ir (12,000 msgs) %6s instructions per message\n' \
    "$kind" "${ir[2000]}" "${ir[12000]}" "$per"
  unset ir
done
