#!/usr/bin/env bash
# PullImage of a four-layer image from a local registry: stockaded vs Debian's containerd, same
# registry, same CRI client, one run; then one layer's unpack throughput against `tar -xzf` and
# `gzip -dc`. Images (bench/make_pull_image.py): `big`, ~550 MB gzip of 760 files of 1 MiB;
# `docs`, the hard case, ~28k files (four copies of /usr/share/doc plus large text files).
# usage: bench/pull.sh [runs] [big|docs]   (as root; installs containerd from Debian if missing)
# The image is generated once and kept with its registry under $STOCKADE_BENCH_CACHE
# (default /var/tmp/stockade-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
kind=${2:-big}
cache=${STOCKADE_BENCH_CACHE:-/var/tmp/stockade-bench}
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

scripts/build.sh release stockaded stockade-shim stockade-puller cri_pull unpack_bench >/dev/null
command -v containerd >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd

mkdir -p "$cache"
registry=$(scripts/testregistry.sh start "$cache/registry")
work=$(mktemp -d /tmp/stockade-pull-bench-XXXXXX)
cleanup() {
  [[ -n ${sd_pid:-} ]] && kill "$sd_pid" 2>/dev/null && wait "$sd_pid" 2>/dev/null
  [[ -n ${ct_pid:-} ]] && kill "$ct_pid" 2>/dev/null && wait "$ct_pid" 2>/dev/null
  umount -R "$work/c/root" 2>/dev/null || true
  scripts/testregistry.sh stop "$cache/registry"
  rm -rf "$work"
}
trap cleanup EXIT

if ! curl -sf --noproxy '*' -o /dev/null -H "Accept: application/vnd.oci.image.manifest.v1+json" \
    "http://$registry/v2/bench/$kind/manifests/1.0" || [[ ! -f $cache/$kind-layer0.tar.gz ]]; then
  echo "generating the benchmark image (once)..." >&2
  bench/make_pull_image.py --registry "$registry" --kind "$kind" \
    --layer-out "$cache/$kind-layer0.tar.gz"
fi
image="$registry/bench/$kind:1.0"
layer0="$cache/$kind-layer0.tar.gz"

wait_socket() { for _ in $(seq 500); do [[ -S $1 ]] && return 0; sleep 0.02; done; return 1; }

echo "== stockaded ($image, $runs runs)"
build/release/bin/stockaded --socket "$work/s/s.sock" --state-dir "$work/s/state" \
  --run-dir "$work/s/run" --log-level warn 2>"$work/stockaded.log" &
sd_pid=$!
wait_socket "$work/s/s.sock"
sd=$(build/release/bin/cri_pull --socket "$work/s/s.sock" --image "$image" --runs "$runs" | tee -a /dev/stderr | awk '/median/ {print $2}')
kill "$sd_pid"; wait "$sd_pid" || true; sd_pid=

echo "== containerd $(containerd --version | awk '{print $3}') ($image, $runs runs)"
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
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "$work/c/certs.d"
TOML
containerd --config "$work/c/config.toml" 2>"$work/containerd.log" &
ct_pid=$!
wait_socket "$work/c/c.sock"
ct=$(build/release/bin/cri_pull --socket "$work/c/c.sock" --image "$image" --runs "$runs" | tee -a /dev/stderr | awk '/median/ {print $2}')
kill "$ct_pid"; wait "$ct_pid" || true; ct_pid=

echo "== one layer ($(du -m "$layer0" | cut -f1) MB gzip)"
rm -rf "$work/u1" "$work/u2" && mkdir -p "$work/u1" "$work/u2"
# sync before each step: the previous step's writeback must not be billed to the next one.
sync; t0=$(date +%s.%N); gzip -dc "$layer0" >/dev/null; t1=$(date +%s.%N)
sync; t1=$(date +%s.%N); tar -xzf "$layer0" -C "$work/u1"; t2=$(date +%s.%N)
sync
echo "gzip -dc: $(echo "$t1 - $t0" | bc -l | cut -c1-5) s   tar -xzf: $(echo "$t2 - $t1" | bc -l | cut -c1-5) s"
build/release/bin/unpack_bench "$layer0" "$work/u2"

printf '\nPullImage median: stockaded %s s, containerd %s s, ratio %.2fx\n' "$sd" "$ct" \
  "$(echo "$ct / $sd" | bc -l)"
