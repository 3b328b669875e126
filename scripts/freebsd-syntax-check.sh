#!/usr/bin/env bash
# Syntax-checks every FreeBSD-only source (*_freebsd.cc) and the portable FreeBSD plans
# against FreeBSD 14's headers, on Linux: clang++ --target=x86_64-unknown-freebsd14.1
# -stdlib=libc++ --sysroot=SYSROOT -fsyntax-only. The sysroot is laid out by hand from a
# FreeBSD 14 source tree (docs/freebsd.md says how); nothing of it is in this repo.
# With --generated BUILD_DIR (a Linux build's dir, for the protoc output), every portable
# source the FreeBSD build compiles is checked too: the daemon, the Nomad driver, the image
# store, the core, CNI, streaming.
# usage: scripts/freebsd-syntax-check.sh SYSROOT [--generated BUILD_DIR] [FILE...]
set -euo pipefail
cd "$(dirname "$0")/.."
sysroot=${1:?usage: $0 SYSROOT [--generated BUILD_DIR] [FILE...]}
shift
generated=""
if [[ ${1:-} == --generated ]]; then
  generated=${2:?--generated needs a build dir}
  shift 2
  [[ -f $generated/proto/gen/stockade/v1/records.pb.h ]] ||
    { echo "no generated headers in $generated (build it first)" >&2; exit 2; }
fi
[[ -f $sysroot/usr/include/sys/jail.h ]] || { echo "no FreeBSD headers in $sysroot" >&2; exit 2; }
cxx=clang++
command -v clang++-16 >/dev/null && cxx=clang++-16  # libc++ 17's <source_location> needs it
# Debian's third-party headers, each through a folder of one link (never all of /usr/include,
# whose glibc headers would shadow FreeBSD's).
isystem=$(mktemp -d)
trap 'rm -rf "$isystem"' EXIT
flags=(--target=x86_64-unknown-freebsd14.1 -stdlib=libc++ "--sysroot=$sysroot" -std=c++20
       -fsyntax-only -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -I.)
expose() {  # expose NAME PATH...: a folder holding links to just these headers
  local name=$1
  shift
  mkdir -p "$isystem/$name"
  for p in "$@"; do [[ -e $p ]] && ln -sf "$p" "$isystem/$name/"; done
  flags+=(-isystem "$isystem/$name")
}
for d in absl fmt spdlog yaml-cpp nlohmann google toml++ grpc grpcpp grpc++ rocksdb prometheus \
         boost; do
  expose "$d" "/usr/include/$d"
done
arch=/usr/include/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
expose zlib /usr/include/zlib.h /usr/include/zconf.h
expose zstd /usr/include/zstd.h /usr/include/zstd_errors.h
expose archive /usr/include/archive.h /usr/include/archive_entry.h
expose msgpuck /usr/include/msgpuck.h
expose curl "$arch/curl"
# OpenSSL's headers are split between /usr/include/openssl and the arch's dir: merge them.
mkdir -p "$isystem/openssl/openssl"
ln -sf /usr/include/openssl/* "$arch"/openssl/* "$isystem/openssl/openssl/"
flags+=(-isystem "$isystem/openssl")
if [[ -n $generated ]]; then
  flags+=(-I "$generated/proto/gen" -I "$generated/proto/nomad-gen")
fi
if (($# == 0)); then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard '*_freebsd.cc' \
                         'runtime/freebsd/*.cc' 'cni/bridge/freebsd_plan.cc' \
                         'runtime/shim/shim_server.cc' 'runtime/shim/shim_wire.cc' \
                         'runtime/shim/cri_log.cc' 'runtime/shim/exit_record.cc' \
                         'common/fd_passing.cc' 'runtime/shim_client.cc' \
                         'runtime/shim_jail_backend.cc' | sort -u)
  if [[ -n $generated ]]; then
    mapfile -t -O "${#files[@]}" files < <(git ls-files --cached --others --exclude-standard \
        'common/*.cc' 'state/*.cc' 'imagestore/*.cc' 'runtime/*.cc' 'runtime/config/*.cc' \
        'runtime/metrics/*.cc' 'runtime/snapshot/*.cc' 'node/*.cc' 'cri/*.cc' 'cri/*/*.cc' \
        'streaming/*.cc' 'nomad-driver/*.cc' 'cni/*.cc' 'cni/bridge/*.cc' |
      grep -v -e '_linux\.cc$' -e '_freebsd\.cc$' -e '^runtime/linux/' -e 'netlink' | sort -u)
  fi
  mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u)
else
  files=("$@")
fi
failed=0
for f in "${files[@]}"; do
  if out=$("$cxx" "${flags[@]}" "$f" 2>&1); then
    echo "ok    $f"
  else
    echo "FAIL  $f"
    printf '%s\n' "$out" | sed 's/^/      /'
    failed=$((failed + 1))
  fi
done
echo "$((${#files[@]} - failed)) of ${#files[@]} files compile against FreeBSD 14's headers"
((failed == 0))
