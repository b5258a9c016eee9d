#!/usr/bin/env bash
# Port Layer API over loopback: GET container info with wrk, and full container lifecycles with
# the http_load example, against `vcsim-lite serve` (release build) on a spare port.
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${PORT:-23770}
DOCKER_PORT=${DOCKER_PORT:-23750}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
command -v wrk >/dev/null || { echo "http_bench: wrk is not installed (apt-get install wrk)"; exit 1; }
cargo build --release -q -p scenarios --bin vcsim-lite \
  && cargo build --release -q -p vcsim-lite --example http_load
./target/release/vcsim-lite serve --speed 0 --listen-portlayer 127.0.0.1:$PORT --listen-docker 127.0.0.1:$DOCKER_PORT >/tmp/vcsim-bench-serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf 127.0.0.1:$PORT/_ping >/dev/null && break; sleep 0.1; done
# Commit the first container so its info exists.
CREATED=$(curl -sf -XPOST 127.0.0.1:$PORT/containers -d '{"name":"info"}')
ID=$(echo "$CREATED" | sed -E 's/.*"id":"([0-9a-f]+)".*/\1/')
HANDLE=$(echo "$CREATED" | sed -E 's/.*"handle":"([0-9a-f]+)".*/\1/')
curl -sf -XPUT 127.0.0.1:$PORT/containers/$HANDLE >/dev/null
echo "== wrk: GET /containers/info/<id>, 2 threads, 32 connections, ${SECONDS_PER_RUN}s"
wrk -t2 -c32 -d${SECONDS_PER_RUN}s http://127.0.0.1:$PORT/containers/info/$ID | sed -n '1,8p'
echo "== http_load: full lifecycles (9 requests each), 16 connections, ${SECONDS_PER_RUN}s"
./target/release/examples/http_load 127.0.0.1:$PORT 16 $SECONDS_PER_RUN
