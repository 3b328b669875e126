#!/usr/bin/env bash
# Every figure of the performance targets in one run, stockaded and Debian's containerd side by
# side: pod start on the host network (20 in a row; 20 more, 10 at a time) and on a bridge
# through CNI, the monitor processes' PSS per pod, the daemons' RSS with those pods, PullImage
# of the many-small-files image, start-up and idle memory. Each script's own output is kept;
# the table at the end is read from it.
# usage: bench/all.sh [OUT_DIR]   (as root; installs containerd from Debian if missing)
#   OUT_DIR (default: a new /tmp/stockade-bench-all-*) gets each script's log, the latency
#   charts (host/pods-latency-host.png, cni/pods-latency-cni.png) and summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d /tmp/stockade-bench-all-XXXXXX)}
mkdir -p "$out/host" "$out/cni"

STOCKADE_BENCH_OUT="$out/host" bench/pods.sh 20 20 host 10 2>&1 | tee "$out/pods-host.log"
STOCKADE_BENCH_OUT="$out/cni" bench/pods.sh 20 20 cni 10 2>&1 | tee "$out/pods-cni.log"
bench/pull.sh 3 docs 2>&1 | tee "$out/pull.log"
bench/startup.sh 5 3 2>&1 | tee "$out/startup.log"

python3 - "$out" <<'PY' | tee "$out/summary.txt"
import re
import sys

out = sys.argv[1]


def read(name):
    with open(f"{out}/{name}") as f:
        return f.read()


def find(text, pattern, runtime):
    """The first number that `pattern` (with {r} for the runtime's name) captures, or None."""
    m = re.search(pattern.format(r=re.escape(runtime)), text, re.MULTILINE)
    return float(m.group(1)) if m else None


host, cni, pull, startup = (read(n) for n in
                            ("pods-host.log", "pods-cni.log", "pull.log", "startup.log"))
rows = []


def row(measure, target, unit, pattern_of_runtime):
    s, c = (pattern_of_runtime(r) for r in ("stockaded", "containerd"))
    ratio = f"{c / s:.1f}x" if s and c else ""
    fmt = lambda v: "-" if v is None else f"{v:.2f} {unit}"
    rows.append((measure, fmt(s), fmt(c), ratio, target))


def per_pod_pss(text, r):
    total = find(text, r"^{r} memory: .* all shims PSS ([0-9.]+) MiB", r)
    pods = find(text, r"^{r} stop\+remove of ([0-9]+) pods", r)
    return total / pods if total and pods else None


row("pod + container, host network, 20 in a row, p50", "<= 15 ms", "ms",
    lambda r: find(host, r"^{r} sequential: .*pod\+container ([0-9.]+) ms", r))
row("20 pods, 10 at a time, all running after", "<= 150 ms", "ms",
    lambda r: find(host, r"^{r} concurrent: all [0-9]+ pods running after ([0-9.]+) ms", r))
row("RunPodSandbox on a bridge (CNI), 20 in a row, p50", "<= 15 ms", "ms",
    lambda r: find(cni, r"^{r} sequential: .*p50 RunPodSandbox ([0-9.]+) ms", r))
row("pod + container on a bridge (CNI), p50", "", "ms",
    lambda r: find(cni, r"^{r} sequential: .*pod\+container ([0-9.]+) ms", r))
row("monitor processes' PSS per pod (host run)", "<= 0.5 MiB", "MiB",
    lambda r: per_pod_pss(host, r))
row("daemon RSS with the host run's pods", "<= 15 MB with 20", "MiB",
    lambda r: find(host, r"^{r} memory: daemon RSS ([0-9.]+) MiB", r))
row("  of it anonymous (not clean file pages)", "", "MiB",
    lambda r: find(host, r"^{r} memory: daemon RSS [0-9.]+ MiB \(anonymous ([0-9.]+) MiB\)", r))
row("stop + remove of the host run's pods", "", "ms",
    lambda r: find(host, r"^{r} stop\+remove of [0-9]+ pods: ([0-9.]+) ms", r))
row("PullImage, docs image (23.5k files), median of 3", ">= 3x", "s",
    lambda r: find(pull, r"^PullImage median: .*{r} ([0-9.]+) s", r))
row("exec -> first Version answer", "", "ms",
    lambda r: find(startup, r"^{r}\s.*exec->Version\s+([0-9.]+) ms", r))
row("idle RSS after start-up", "", "MiB",
    lambda r: find(startup, r"^{r}\s.*idle RSS\s+([0-9.]+) MiB", r))

pods = find(host, r"^stockaded stop\+remove of ([0-9]+) pods", "stockaded")
print(f"\nSummary (host run: {pods and int(pods)} pods running when memory was read)")
widths = [max(len(r[i]) for r in rows + [("measure", "stockaded", "containerd", "ratio",
                                          "target")]) for i in range(5)]
header = ("measure", "stockaded", "containerd", "ratio", "target")
for r in [header] + rows:
    print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
PY
echo "logs, charts and summary: $out"
