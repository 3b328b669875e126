#!/usr/bin/env bash
# Pod start-up and memory: stockaded vs Debian's containerd + runc, same CRI client (cri_pods),
# same image from the same local registry, one run. For each runtime: RunPodSandbox +
# CreateContainer + StartContainer for N pods in a row, then M pods at once; with every pod
# running, the daemon's RSS and each pod's shim RSS/PSS; then stop and remove everything.
# usage: bench/pods.sh [N] [M] [host|cni] [P]   (as root; installs containerd from Debian)
#   P: the M pods are started P at a time (default: all at once). STOCKADE_BENCH_OUT=DIR keeps
#   each runtime's per-pod latencies (DIR/<runtime>.tsv) and charts them
#   (DIR/pods-latency-<mode>.png, bench/plot_latencies.sh).
#   host: host-network pods (no CNI); cni: pods on a bridge through CNI — stockaded with
#   stockade-bridge, containerd with Debian's bridge + host-local + portmap chain.
set -euo pipefail
cd "$(dirname "$0")/.."
pods=${1:-50}
concurrent=${2:-100}
mode=${3:-host}
parallel=${4:-0}  # the concurrent pods P at a time; 0: all at once
out=${STOCKADE_BENCH_OUT:-}  # where each runtime's latencies (.tsv) and the chart (.png) go
net=
[[ $mode == host ]] && net=--host-network
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

scripts/build.sh release stockaded stockade-shim stockade-puller stockade-bridge cri_pods >/dev/null
command -v containerd >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd

work=$(mktemp -d /tmp/stockade-pods-bench-XXXXXX)
registry=$(scripts/testregistry.sh start "$work/registry")
cleanup() {
  [[ -n ${daemon_pid:-} ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  umount -R "$work/c/root" 2>/dev/null || true
  ip link del stkbench0 2>/dev/null || true
  ip link del stkbenchc0 2>/dev/null || true
  scripts/testregistry.sh stop "$work/registry"
  rm -rf "$work"
}
trap cleanup EXIT
scripts/testimages.py --registry "$registry" >/dev/null 2>&1
image="$registry/stockade-test/busybox:1.0"

wait_socket() { for _ in $(seq 500); do [[ -S $1 ]] && return 0; sleep 0.02; done; return 1; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
anon_kib() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }  # RSS less clean file pages
pss_kib() { awk '$1 == "Pss:" {print $2}' "/proc/$1/smaps_rollup"; }
# memory NAME DAEMON_PID SHIM_PATTERN: daemon RSS, and per shim process median RSS and PSS.
memory() {
  local name=$1 pid=$2 pattern=$3 rss=() pss=()
  for p in $(pgrep -f "$pattern"); do
    rss+=("$(rss_kib "$p")")
    pss+=("$(pss_kib "$p")")
  done
  median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
  sum() { awk '{s+=$1} END {print s}'; }
  printf '%s memory: daemon RSS %.1f MiB (anonymous %.1f MiB) | %d shim processes: median RSS %.2f MiB, PSS %.2f MiB, all shims PSS %.1f MiB\n' \
    "$name" "$(echo "$(rss_kib "$pid") / 1024" | bc -l)" \
    "$(echo "$(anon_kib "$pid") / 1024" | bc -l)" "${#rss[@]}" \
    "$(echo "$(printf '%s\n' "${rss[@]}" | median) / 1024" | bc -l)" \
    "$(echo "$(printf '%s\n' "${pss[@]}" | median) / 1024" | bc -l)" \
    "$(echo "$(printf '%s\n' "${pss[@]}" | sum) / 1024" | bc -l)"
}

# drive NAME SOCKET PID SHIM_PATTERN
drive() {
  local name=$1 socket=$2 pid=$3 pattern=$4
  coproc CLIENT { build/release/bin/cri_pods --socket "$socket" --image "$image" --pods "$pods" \
    --concurrent "$concurrent" --parallel "$parallel" --log-dir "$work/logs-$name" \
    --latencies "${out:-$work}/$name.tsv" ${net:+--host-network}; }
  local client_pid=$CLIENT_PID line ready=
  while read -r line <&"${CLIENT[0]}"; do
    echo "$name $line"
    [[ $line == ready ]] && ready=1 && break
  done
  if [[ -z $ready ]]; then
    echo "$name: the client failed (see above)" >&2
    return 1
  fi
  memory "$name" "$pid" "$pattern"
  echo >&"${CLIENT[1]}"
  while read -r line <&"${CLIENT[0]}"; do echo "$name $line"; done
  wait "$client_pid" || true
}

mkdir -p "$work/s/net.d" "$work/c/net.d"
cat > "$work/s/net.d/10-bench.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "bench", "plugins": [{"type": "stockade-bridge",
 "bridge": "stkbench0", "capabilities": {"portMappings": true},
 "ipam": {"ranges": [{"subnet": "10.230.0.0/16"}], "dataDir": "$work/s/ipam"}}]}
JSON
cat > "$work/c/net.d/10-bench.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "bench", "plugins": [
 {"type": "bridge", "bridge": "stkbenchc0", "isGateway": true, "ipMasq": true,
  "hairpinMode": true, "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.231.0.0/16"}]],
  "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$work/c/ipam"}},
 {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
printf 'cni:\n  conf_dir: %s\n  bin_dirs: [%s]\n' "$work/s/net.d" "$PWD/build/release/bin" \
  > "$work/s/config.yaml"

echo "== stockaded $(build/release/bin/stockaded --version 2>&1 | head -1) ($mode)"
build/release/bin/stockaded --config "$work/s/config.yaml" --socket "$work/s/s.sock" \
  --state-dir "$work/s/state" --run-dir "$work/s/run" --log-level warn 2>"$work/stockaded.log" &
daemon_pid=$!
wait_socket "$work/s/s.sock"
drive stockaded "$work/s/s.sock" "$daemon_pid" "stockade-shim --pod-id"
kill "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=

echo "== containerd $(containerd --version | awk '{print $3}') + runc $(runc --version | awk 'NR==1 {print $3}') ($mode)"
mkdir -p "$work/c/certs.d/$registry"
cat > "$work/c/certs.d/$registry/hosts.toml" <<TOML
server = "http://$registry"
[host."http://$registry"]
  capabilities = ["pull", "resolve"]
TOML
cat > "$work/c/config.toml" <<TOML
version = 2
root = "$work/c/root"
state = "$work/c/state"
[grpc]
  address = "$work/c/c.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$registry/pause:3.9"
  restrict_oom_score_adj = true
[plugins."io.containerd.grpc.v1.cri".cni]
  conf_dir = "$work/c/net.d"
  bin_dir = "/usr/lib/cni"
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "$work/c/certs.d"
TOML
containerd --config "$work/c/config.toml" 2>"$work/containerd.log" &
daemon_pid=$!
wait_socket "$work/c/c.sock"
drive containerd "$work/c/c.sock" "$daemon_pid" "containerd-shim-runc-v2 -namespace k8s.io"
kill "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=

if [[ -n $out ]]; then
  bench/plot_latencies.sh "$out/pods-latency-$mode.png" "stockaded=$out/stockaded.tsv" \
    "containerd=$out/containerd.tsv"
fi
