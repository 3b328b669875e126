#!/usr/bin/env bash
# Installs the Debian packages stockade needs to build, run and test, skipping what is present.
# Idempotent: a second run with everything installed does no apt work at all.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config git
  # libraries (all from Debian; see ARCHITECTURE.md "Dependencies")
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libyaml-cpp-dev librocksdb-dev prometheus-cpp-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev
  libarchive-dev libcurl4-openssl-dev libtomlplusplus-dev libisal-dev libseccomp-dev libmnl-dev libnftables-dev libssl-dev zlib1g-dev libzstd-dev libboost1.81-dev libmsgpuck-dev
  libgtest-dev libgmock-dev
  # fuzzing: clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev
  # test and benchmark peers: a local OCI registry and what builds the test images
  docker-registry apache2-utils busybox-static zstd python3 curl openssl
  # pod networking peers: the standard CNI plugins (bridge, host-local, portmap) and the
  # iptables they use
  containernetworking-plugins iptables nftables iproute2 procps
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]}); nothing was built" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: apt-get not found: this script installs Debian 12 packages; install ${missing[*]} by hand" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq; then
  echo "install-deps: apt-get update failed (see above): the package archive in" \
    "/etc/apt/sources.list{,.d} is unreachable or broken. Check the network path (and apt's proxy" \
    "setting, if you need one), then run this again; nothing was built" >&2
  exit 1
fi
unavailable=()
for p in "${missing[@]}"; do
  candidate=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [[ -z $candidate || $candidate == "(none)" ]]; then
    unavailable+=("$p")
  fi
done
if ((${#unavailable[@]} > 0)); then
  echo "install-deps: the configured archive has no package ${unavailable[*]}: stockade needs" \
    "Debian 12 (bookworm) main in /etc/apt/sources.list{,.d}; nothing was built" >&2
  exit 1
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  echo "install-deps: apt-get install failed (see above) for: ${missing[*]}; nothing was built" >&2
  exit 1
fi
