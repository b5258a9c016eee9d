#!/usr/bin/env bash
# make e2e: the node's end-to-end test (scenarios/tests/e2e_k8s.rs) against a real Kubernetes
# 1.20 control plane on loopback, which this script starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/k8s-lib.sh
cargo build -q -p scenarios --bin vcsim-lite
k8s_up
cargo test -p scenarios --test e2e_k8s -- --ignored --test-threads=1
