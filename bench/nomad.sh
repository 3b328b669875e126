#!/usr/bin/env bash
# nomad-driver-stockade's idle RSS and StartTask-to-running latency (bench/nomad_driver.cc), and
# for the same core's other front end in the same run, stockaded's RunPodSandbox + Create +
# StartContainer of the same image (bench/cri_pods.cc, host network).
# usage: bench/nomad.sh [N]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=${1:-20}
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
scripts/build.sh release nomad-driver-stockade stockaded stockade-shim stockade-puller nomad_driver_bench cri_pods >/dev/null

work=$(mktemp -d /tmp/stockade-nomad-bench-XXXXXX)
registry=$(scripts/testregistry.sh start "$work/registry")
cleanup() {
  [[ -n ${daemon_pid:-} ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  scripts/testregistry.sh stop "$work/registry"
  rm -rf "$work"
}
trap cleanup EXIT
scripts/testimages.py --registry "$registry" >/dev/null 2>&1
image="$registry/stockade-test/busybox:1.0"

echo "== nomad-driver-stockade"
build/release/bin/nomad_driver_bench --image "$image" --dir "$work/nomad" --tasks "$tasks"

echo "== stockaded (CRI), same core, same image"
build/release/bin/stockaded --socket "$work/cri.sock" --state-dir "$work/cri-state" \
  --run-dir "$work/cri-run" --log-level warn 2>"$work/stockaded.log" &
daemon_pid=$!
for _ in $(seq 500); do [[ -S $work/cri.sock ]] && break; sleep 0.02; done
build/release/bin/cri_pods --socket "$work/cri.sock" --image "$image" --pods "$tasks" \
  --concurrent 1 --log-dir "$work/cri-logs" --host-network </dev/null | grep -v '^ready' || true
