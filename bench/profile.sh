#!/usr/bin/env bash
# Where the milliseconds of RunPodSandbox, CreateContainer and StartContainer go: stockaded
# (release) with debug logs, N host-network pods in a row through cri_pods, then the median of
# each step the core marks ("steps=" in its "pod sandbox ready", "container created" and
# "container started" lines; runtime/step_times.h). Add `cni` for pods on stockade-bridge.
# usage: bench/profile.sh [N] [host|cni]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
pods=${1:-50}
mode=${2:-host}
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
scripts/build.sh release stockaded stockade-shim stockade-puller stockade-bridge cri_pods >/dev/null
work=$(mktemp -d /tmp/stockade-profile-XXXXXX)
registry=$(scripts/testregistry.sh start "$work/registry")
cleanup() {
  [[ -n ${sd_pid:-} ]] && kill "$sd_pid" 2>/dev/null && wait "$sd_pid" 2>/dev/null
  scripts/testregistry.sh stop "$work/registry"
  ip link del stkprof0 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
scripts/testimages.py --registry "$registry" >/dev/null
mkdir -p "$work/net.d"
cat > "$work/net.d/10-profile.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "profile", "plugins": [{"type": "stockade-bridge",
 "bridge": "stkprof0", "ipam": {"ranges": [{"subnet": "10.232.0.0/16"}], "dataDir": "$work/ipam"}}]}
JSON
printf 'cni:\n  conf_dir: %s\n  bin_dirs: [%s]\n' "$work/net.d" "$PWD/build/release/bin" \
  > "$work/config.yaml"
build/release/bin/stockaded --config "$work/config.yaml" --socket "$work/s.sock" \
  --state-dir "$work/state" --run-dir "$work/run" --log-level debug 2>"$work/stockaded.log" &
sd_pid=$!
for _ in $(seq 500); do [[ -S $work/s.sock ]] && break; sleep 0.02; done
flags=()
[[ $mode == host ]] && flags+=(--host-network)
echo | build/release/bin/cri_pods --socket "$work/s.sock" \
  --image "$registry/stockade-test/busybox:1.0" --pods "$pods" --concurrent 0 \
  --log-dir "$work/logs" "${flags[@]}" | grep sequential
kill "$sd_pid"; wait "$sd_pid" || true; sd_pid=
# Skip the untimed warm-up pod's lines, then the median of each step of each call.
python3 - "$work/stockaded.log" "$pods" <<'PY'
import re, statistics, sys
log, pods = open(sys.argv[1]).read().splitlines(), int(sys.argv[2])
for message, call in [("pod sandbox ready", "RunPodSandbox"), ("container created", "CreateContainer"),
                      ("container started", "StartContainer")]:
    runs = [dict((k, float(v)) for k, v in re.findall(r"([A-Za-z][\w-]*)=([0-9.]+)ms", line))
            for line in log if message in line][-pods:]
    if not runs:
        continue
    steps = list(runs[0])
    def quantile(step, q):
        values = sorted(r.get(step, 0.0) for r in runs)
        return values[min(len(values) - 1, int(q * len(values)))]
    medians = {s: statistics.median(r.get(s, 0.0) for r in runs) for s in steps}
    print("%s (median of %d): %s | sum %.2f ms" % (call, len(runs), "  ".join(
        "%s %.2f" % (s, medians[s]) for s in steps), sum(medians.values())))
    print("%s (p90): %s" % (call, "  ".join("%s %.2f" % (s, quantile(s, 0.9)) for s in steps)))
PY
