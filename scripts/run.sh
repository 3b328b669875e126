#!/usr/bin/env bash
# Installs what is missing, builds stockaded (release) and runs it in the foreground with its
# built-in defaults. Extra arguments go to stockaded (e.g. --config /etc/stockade/config.yaml).
#
# Quick start networking: when no config file is in play and the CNI config dir
# (/etc/cni/net.d) holds no network config, the daemon is started with the repo's
# stockade-bridge conflist and the plugin just built, from a directory under /run. Nothing is
# written under /etc; a node with its own CNI config (or a config file) is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

scripts/build.sh release stockaded stockade-shim stockade-puller stockade-bridge
socket=/run/stockade/stockade.sock
config_given=0
for ((i = 1; i <= $#; i++)); do
  case "${!i}" in
    --socket) j=$((i + 1)); socket=${!j} ;;
    --socket=*) socket=${!i#--socket=} ;;
    --config | --config=*) config_given=1 ;;
  esac
done

args=("$@")
network_line="  pods off the host network use the CNI config in /etc/cni/net.d"
has_cni_config() {
  compgen -G "$1/*.conflist" >/dev/null || compgen -G "$1/*.conf" >/dev/null ||
    compgen -G "$1/*.json" >/dev/null
}
if ((config_given == 0)) && [[ ! -e /etc/stockade/config.yaml ]] &&
  ! has_cni_config /etc/cni/net.d; then
  quick=/run/stockade-quickstart
  mkdir -p "$quick/net.d"
  cp deploy/cni/10-stockade-bridge.conflist "$quick/net.d/"
  cat >"$quick/config.yaml" <<CONFIG
# Written by scripts/run.sh: /etc/cni/net.d has no network config, so pods use stockade-bridge.
cni:
  conf_dir: $quick/net.d
  bin_dirs: ["$repo/build/release/bin", "/opt/cni/bin", "/usr/lib/cni"]
CONFIG
  args=(--config "$quick/config.yaml" "${args[@]}")
  network_line="  no CNI config in /etc/cni/net.d: pods get stockade-bridge (bridge stockade0, 10.88.0.0/16,
           fd88::/64) from $quick/config.yaml; a config in /etc/cni/net.d takes over at the next start"
fi

cat >&2 <<MSG
stockaded is starting on unix://$socket (Ctrl-C stops it)
  crictl:  crictl --runtime-endpoint unix://$socket version   (or deploy/crictl.yaml)
  kubelet: --container-runtime-endpoint=unix://$socket        (see deploy/kubelet-config.yaml)
$network_line
MSG
exec build/release/bin/stockaded "${args[@]}"
