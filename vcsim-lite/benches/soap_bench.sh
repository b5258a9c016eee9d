#!/usr/bin/env bash
# The vSphere SOAP endpoint against the peer simulator and against the floor:
#  1. ../shared/peers/bench_pyvmomi.py (pyVmomi task lifecycles over TLS) against
#     `vcsim-lite serve` and simvc, ROUNDS times each, alternating, with the same COUNT;
#  2. soap_round_trips.py: server CPU per pyVmomi-shaped round trip for the sdk_floor example
#     (bare TCP, bare TLS, hyper over TLS) and vcsim-lite, taking turns, with the client back
#     to back and then busy 400 us before each request (pyVmomi's pace).
# Usage: vcsim-lite/benches/soap_bench.sh [COUNT] [ROUNDS]   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-500}
ROUNDS=${2:-2}
PEERS=${PEERS:-.peers}
PY=$PEERS/venv/bin/python
[ -x "$PY" ] && [ -x "$PEERS/bin/simvc" ] || bash ../shared/peers/install.sh "$PEERS"
cargo build --release -q -p scenarios --bin vcsim-lite
cargo build --release -q -p vcsim-lite --example sdk_floor

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
wait_port() { for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
lite() { # lite PORT: starts vcsim-lite serve with its SOAP endpoint on PORT; sets SERVER
  RUST_LOG=warn ./target/release/vcsim-lite serve --listen-portlayer 127.0.0.1:0 \
    --listen-docker 127.0.0.1:0 --listen-sdk 127.0.0.1:"$1" >/dev/null 2>&1 &
  SERVER=$!; PIDS+=("$SERVER"); wait_port "$1"
}
stop() { kill -INT "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round: vcsim-lite"
  lite 18989
  "$PY" ../shared/peers/bench_pyvmomi.py --port 18989 --count "$COUNT" --pid "$SERVER" | grep -E 'ops in'
  stop "$SERVER"
  echo "== round $round: simvc"
  "$PEERS/bin/simvc" -l 127.0.0.1:18990 -tls >/dev/null 2>&1 &
  SERVER=$!; PIDS+=("$SERVER"); wait_port 18990
  "$PY" ../shared/peers/bench_pyvmomi.py --port 18990 --count "$COUNT" --pid "$SERVER" | grep -E 'ops in'
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
done

echo "== server CPU per round trip: the floor and vcsim-lite"
SPECS=()
port=18993
for mode in tcp tls hyper; do
  ./target/release/examples/sdk_floor 127.0.0.1:$port $mode 435 >/dev/null &
  PIDS+=($!); wait_port $port
  proto=https; [ $mode = tcp ] && proto=http
  SPECS+=("floor-$mode:$proto:$port:$!")
  port=$((port + 1))
done
lite $port
SPECS+=("vcsim-lite:https:$port:$SERVER")
echo "-- client back to back"
"$PY" vcsim-lite/benches/soap_round_trips.py "${SPECS[@]}"
echo "-- client busy 400 us before each request, as pyVmomi is"
"$PY" vcsim-lite/benches/soap_round_trips.py "${SPECS[@]}" --count 100 --think-us 400
