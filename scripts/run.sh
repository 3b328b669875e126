#!/usr/bin/env bash
# Installs what is missing, builds stockaded (release) and runs it in the foreground with its
# built-in defaults. Extra arguments go to stockaded (e.g. --config /etc/stockade/config.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh release stockaded stockade-shim stockade-bridge
socket=/run/stockade/stockade.sock
for ((i = 1; i <= $#; i++)); do
  case "${!i}" in
    --socket) j=$((i + 1)); socket=${!j} ;;
    --socket=*) socket=${!i#--socket=} ;;
  esac
done
cat >&2 <<MSG
stockaded is starting on unix://$socket (Ctrl-C stops it)
  crictl:  crictl --runtime-endpoint unix://$socket version   (or deploy/crictl.yaml)
  kubelet: --container-runtime-endpoint=unix://$socket        (see deploy/kubelet-config.yaml)
  pods off the host network need a CNI config: see deploy/cni/README.md
  (stockade-bridge is build/release/bin/stockade-bridge)
MSG
exec build/release/bin/stockaded "$@"
