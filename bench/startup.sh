#!/usr/bin/env bash
# Start-up and idle footprint: stockaded vs Debian's containerd, same machine, one run.
# For each runtime and run: exec -> first Version answer (cri_startup), then, with no client
# process left mapping shared libraries, resident memory (RSS, PSS and private/USS) after
# idling, and SIGTERM -> exit.
# usage: bench/startup.sh [runs] [idle-seconds]   (as root; installs containerd from Debian)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
idle=${2:-3}

scripts/build.sh release stockaded stockade-shim stockade-puller cri_startup >/dev/null
if ! command -v containerd >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd
fi

work=$(mktemp -d /tmp/stockade-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
kib() { awk -v k="$2" '$1 == k":" {s += $2} END {print s+0}' "/proc/$1/smaps_rollup"; }

# measure NAME SOCKET CMD...: prints one line of medians over $runs runs.
measure() {
  local name=$1 socket=$2
  shift 2
  local ready=() rss=() pss=() uss=() stop=() version=""
  for ((r = 0; r < runs; r++)); do
    read -r pid ms ver < <(build/release/bin/cri_startup --socket "$socket" -- "$@")
    version=$ver
    sleep "$idle"
    ready+=("$ms")
    rss+=("$(kib "$pid" Rss)")
    pss+=("$(kib "$pid" Pss)")
    uss+=("$(($(kib "$pid" Private_Clean) + $(kib "$pid" Private_Dirty)))")
    local t0 t1
    t0=$(date +%s%N)
    kill -TERM "$pid"
    # The daemon was re-parented when cri_startup exited: wait for it to leave the process
    # table or become a zombie (our shell is not its parent and cannot reap it).
    while [[ -e /proc/$pid ]] && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; do
      sleep 0.001
    done
    t1=$(date +%s%N)
    stop+=("$(((t1 - t0) / 1000))")
  done
  printf '%-11s %-28s exec->Version %6.1f ms | idle RSS %5.1f MiB  PSS %5.1f MiB  USS %5.1f MiB | SIGTERM->exit %6.1f ms\n' \
    "$name" "$version" "$(printf '%s\n' "${ready[@]}" | median)" \
    "$(echo "$(printf '%s\n' "${rss[@]}" | median) / 1024" | bc -l)" \
    "$(echo "$(printf '%s\n' "${pss[@]}" | median) / 1024" | bc -l)" \
    "$(echo "$(printf '%s\n' "${uss[@]}" | median) / 1024" | bc -l)" \
    "$(echo "$(printf '%s\n' "${stop[@]}" | median) / 1000" | bc -l)"
}

echo "medians of $runs runs, ${idle}s idle before the memory sample"
# stockaded with its defaults, on private paths; metrics on as by default (port 0 here).
printf 'metrics:\n  address: "127.0.0.1:0"\n' > "$work/stockaded.yaml"
measure stockaded "$work/s/stockade.sock" \
  build/release/bin/stockaded --config "$work/stockaded.yaml" --socket "$work/s/stockade.sock" \
  --state-dir "$work/s/state" --run-dir "$work/s/run"

# containerd with its defaults (CRI plugin on), on private paths and a private socket.
cat > "$work/containerd.toml" <<TOML
version = 2
root = "$work/c/root"
state = "$work/c/state"
[grpc]
  address = "$work/c/containerd.sock"
[plugins."io.containerd.grpc.v1.cri".cni]
  conf_dir = "$work/c/net.d"
TOML
measure containerd "$work/c/containerd.sock" containerd --config "$work/containerd.toml"
