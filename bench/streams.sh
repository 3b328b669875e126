#!/usr/bin/env bash
# Streaming and stats: stockaded vs Debian's containerd + runc, the same CRI client
# (cri_streams, our own SPDY client) and the same image from the same local registry, one run.
# For each runtime: the exec round trip, the first byte of a port-forward, the daemon's RSS
# idle and with K exec sessions open, ListContainerStats with C containers, and crictl's own
# `crictl exec <c> true` (a Go process per call, as an operator sees it).
# usage: bench/streams.sh [EXECS] [CONTAINERS] [OPEN]   (as root; installs containerd)
set -euo pipefail
cd "$(dirname "$0")/.."
execs=${1:-50}
containers=${2:-100}
open=${3:-10}
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

scripts/build.sh release stockaded stockade-shim stockade-puller cri_streams >/dev/null
command -v containerd >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd
command -v crictl >/dev/null || echo "(no crictl on PATH: the crictl exec figures are skipped)"

work=$(mktemp -d /tmp/stockade-streams-bench-XXXXXX)
registry=$(scripts/testregistry.sh start "$work/registry")
cleanup() {
  [[ -n ${daemon_pid:-} ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  umount -R "$work/c/root" 2>/dev/null || true
  scripts/testregistry.sh stop "$work/registry"
  rm -rf "$work"
}
trap cleanup EXIT
scripts/testimages.py --registry "$registry" >/dev/null 2>&1
image="$registry/stockade-test/busybox:1.0"

wait_socket() { for _ in $(seq 500); do [[ -S $1 ]] && return 0; sleep 0.02; done; return 1; }
rss_mib() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# crictl_exec NAME SOCKET: `crictl exec <the sleeper> true`, 20 times.
crictl_exec() {
  command -v crictl >/dev/null || return 0
  local id
  id=$(crictl --runtime-endpoint "unix://$2" ps --name sleeper -q | head -1)
  [[ -n $id ]] || return 0
  local t0 t1 all=()
  for _ in $(seq 20); do
    t0=$(date +%s%N)
    crictl --runtime-endpoint "unix://$2" exec "$id" true
    t1=$(date +%s%N)
    all+=("$(( (t1 - t0) / 1000 ))")
  done
  printf '%s\n' "${all[@]}" | sort -n |
    awk -v n="$1" '{v[NR]=$1} END {printf "%s crictl exec <c> true: n=%d p50 %.1f ms, p90 %.1f ms\n", n, NR, v[int((NR+1)/2)]/1000, v[int(NR*0.9+0.5)]/1000}'
}

# drive NAME SOCKET PID
drive() {
  local name=$1 socket=$2 pid=$3
  echo "$name daemon RSS before: $(rss_mib "$pid") MiB"
  coproc CLIENT { build/release/bin/cri_streams --socket "$socket" --image "$image" \
    --execs "$execs" --containers "$containers" --open "$open" --host-network; }
  local client_pid=$CLIENT_PID line
  while read -r line <&"${CLIENT[0]}"; do
    echo "$name $line"
    if [[ $line == "ready: 0 "* ]]; then
      echo "$name daemon RSS with the pod and its 2 containers: $(rss_mib "$pid") MiB"
      echo >&"${CLIENT[1]}"
    elif [[ $line == ready:* ]]; then
      echo "$name daemon RSS with $open exec sessions open: $(rss_mib "$pid") MiB"
      crictl_exec "$name" "$socket"
      echo >&"${CLIENT[1]}"
    fi
  done
  wait "$client_pid" || echo "$name: the client failed (see above)" >&2
}

mkdir -p "$work/s" "$work/c"
echo "== stockaded $(build/release/bin/stockaded --version 2>&1 | head -1)"
build/release/bin/stockaded --socket "$work/s/s.sock" --state-dir "$work/s/state" \
  --run-dir "$work/s/run" --log-level warn 2>"$work/stockaded.log" &
daemon_pid=$!
wait_socket "$work/s/s.sock"
drive stockaded "$work/s/s.sock" "$daemon_pid"
kill "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=

echo "== containerd $(containerd --version | awk '{print $3}') + runc $(runc --version | awk 'NR==1 {print $3}')"
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
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "$work/c/certs.d"
TOML
containerd --config "$work/c/config.toml" 2>"$work/containerd.log" &
daemon_pid=$!
wait_socket "$work/c/c.sock"
drive containerd "$work/c/c.sock" "$daemon_pid"
kill "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=
