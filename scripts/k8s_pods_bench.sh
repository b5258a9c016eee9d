#!/usr/bin/env bash
# make bench-k8s: pods per second from `kubectl apply` of N pods (default 500) to all Running on
# the vcsim-lite node, against a real Kubernetes 1.20 control plane on loopback; then the node's
# CPU and memory while it holds them, and the time to delete them all.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}
# BOUND=1: the pods name the node themselves (no scheduler in the path), which measures the node
# alone; by default the real scheduler binds them, as users' pods are.
BOUND=${BOUND:-0}
. scripts/k8s-lib.sh
cargo build --release -q -p scenarios --bin vcsim-lite
BIN=target/release/vcsim-lite
k8s_up
W=$K8S_WORK
K="$KUBECTL"

$BIN serve --no-sdk --listen-portlayer 127.0.0.1:22377 --listen-docker 127.0.0.1:22375 \
  >"$W/serve.out" 2>"$W/serve.log" &
SERVE=$!
printf 'portlayer-server: 127.0.0.1:22377\npersona-server: 127.0.0.1:22375\nmax-pods: %d\n' \
  $((N > 110 ? N * 2 : 220)) >"$W/provider.yaml"
$BIN kubelet --node-name vcsim-bench --config "$W/provider.yaml" >/dev/null 2>"$W/kubelet.log" &
NODE=$!
trap 'kill $NODE $SERVE 2>/dev/null; bash "$K8S_SCRIPTS/k8s-down.sh" "$W"; rm -rf "$W"' EXIT
for _ in $(seq 1 100); do
  $K get node vcsim-bench -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null \
    | grep -q True && break
  sleep 0.2
done
$K create namespace bench >/dev/null

for i in $(seq 1 "$N"); do
  cat <<POD
apiVersion: v1
kind: Pod
metadata: {name: p$i, namespace: bench}
spec:
$( [ "$BOUND" = 1 ] && echo "  nodeName: vcsim-bench" )
  tolerations: [{key: virtual-kubelet.io/provider, operator: Exists}]
  containers:
  - name: main
    image: busybox
    command: [sleep, "3600"]
    resources: {requests: {cpu: 10m, memory: 16Mi}}
---
POD
done >"$W/pods.yaml"

cpu() { # user+system CPU seconds of a process
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"
}
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
now() { date +%s.%N; }
count() { $K get pods -n bench --no-headers 2>/dev/null | grep -c "$1" || true; }

node_cpu0=$(cpu $NODE); serve_cpu0=$(cpu $SERVE)
t0=$(now)
$K apply -f "$W/pods.yaml" >/dev/null
t_apply=$(now)
while [ "$(count ' Running ')" -lt "$N" ]; do sleep 0.5; done
t1=$(now)
node_cpu1=$(cpu $NODE); serve_cpu1=$(cpu $SERVE)
sleep 30
node_cpu2=$(cpu $NODE); serve_cpu2=$(cpu $SERVE)
node_rss=$(rss $NODE); serve_rss=$(rss $SERVE)
t2=$(now)
$K delete pods --all -n bench --wait=false >/dev/null
while [ "$($K get pods -n bench --no-headers 2>/dev/null | wc -l)" -gt 0 ]; do sleep 0.5; done
t3=$(now)
vms=$(curl -s "http://127.0.0.1:22377/containers/list?all=true" | { grep -o "\"containerId\"" || true; } | wc -l)

awk -v n="$N" -v t0="$t0" -v ta="$t_apply" -v t1="$t1" -v t2="$t2" -v t3="$t3" \
    -v nc0="$node_cpu0" -v nc1="$node_cpu1" -v nc2="$node_cpu2" \
    -v sc0="$serve_cpu0" -v sc1="$serve_cpu1" -v sc2="$serve_cpu2" \
    -v bound="$([ "$BOUND" = 1 ] && echo "their own nodeName" || echo "kube-scheduler")" -v nr="$node_rss" -v sr="$serve_rss" -v vms="$vms" 'BEGIN {
  printf "pods:                           %d (bound by %s)\n", n, bound

  printf "kubectl apply returned after:   %.1f s\n", ta - t0
  printf "apply -> all Running:           %.1f s  (%.0f pods/s)\n", t1 - t0, n / (t1 - t0)
  printf "node CPU while starting them:   %.2f s (%.1f ms per pod); serve: %.2f s\n", nc1 - nc0, 1000 * (nc1 - nc0) / n, sc1 - sc0
  printf "node CPU holding them (30 s):   %.1f%% of a core; serve: %.1f%%\n", 100 * (nc2 - nc1) / 30, 100 * (sc2 - sc1) / 30
  printf "node RSS holding them:          %s MiB; serve (the world): %s MiB\n", nr, sr
  printf "delete all -> none left:        %.1f s  (%.0f pods/s)\n", t3 - t2, n / (t3 - t2)
  printf "pod VMs left in the world:      %d\n", vms
}'
