# Sourced by e2e.sh and k8s_pods_bench.sh: a real Kubernetes 1.20 control plane (etcd,
# kube-apiserver, kube-scheduler) on loopback, from ../shared/k8s. k8s_up starts it (building
# and caching the binaries the first time) and stops it when the calling script exits.
# K8S_OUT: the binary cache (default ~/.cache/vcsim-lite/k8s-1.20.2).

K8S_SCRIPTS=${K8S_SCRIPTS:-../shared/k8s}
K8S_OUT=${K8S_OUT:-$HOME/.cache/vcsim-lite/k8s-1.20.2}

k8s_prereqs() {
  local missing=()
  for p in golang-go etcd-server rsync openssl curl golang-github-modern-go-reflect2-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "k8s: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || return 1
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || return 1
  fi
}

# Builds kube-apiserver and kube-scheduler 1.20.2 (and fetches kubectl) unless cached; at most
# 30 minutes (6-10 on 2 idle cores).
k8s_binaries() {
  [ -d "$K8S_SCRIPTS" ] || { echo "k8s: $K8S_SCRIPTS not found (the control plane scripts)" >&2; return 1; }
  k8s_prereqs || return 1
  if [ ! -x "$K8S_OUT/bin/kube-apiserver" ] || [ ! -x "$K8S_OUT/bin/kube-scheduler" ] \
      || [ ! -x "$K8S_OUT/bin/kubectl" ]; then
    echo "k8s: building kube-apiserver and kube-scheduler 1.20.2 into $K8S_OUT (6-10 min, once)"
    # Each step is checked by hand: callers may run this where `set -e` does not apply.
    timeout 1800 bash "$K8S_SCRIPTS/build-kube.sh" "$K8S_OUT" || return 1
    rm -rf "$K8S_OUT/work"   # the 2 GB build tree; the binaries are all that is needed
  fi
  for b in kube-apiserver kube-scheduler kubectl; do
    [ -x "$K8S_OUT/bin/$b" ] || { echo "k8s: $K8S_OUT/bin/$b is missing" >&2; return 1; }
  done
}

# Starts the control plane in a fresh directory; sets KUBECONFIG and KUBECTL.
k8s_up() {
  k8s_binaries
  if curl -sk -o /dev/null https://127.0.0.1:6443/ 2>/dev/null; then
    echo "k8s: something already listens on 127.0.0.1:6443; stop it first" >&2
    return 1
  fi
  K8S_WORK=$(mktemp -d)
  trap 'bash "$K8S_SCRIPTS/k8s-down.sh" "$K8S_WORK"; rm -rf "$K8S_WORK"' EXIT
  bash "$K8S_SCRIPTS/k8s-up.sh" "$K8S_OUT/bin" "$K8S_WORK"
  export KUBECONFIG=$K8S_WORK/kubeconfig KUBECTL=$K8S_OUT/bin/kubectl
}
