#!/usr/bin/env bash
# Syntax-checks every FreeBSD-only source (*_freebsd.cc) and the portable FreeBSD plans
# against FreeBSD 14's headers, on Linux: clang++ --target=x86_64-unknown-freebsd14.1
# -stdlib=libc++ --sysroot=SYSROOT -fsyntax-only. The sysroot is laid out by hand from a
# FreeBSD 14 source tree (docs/freebsd.md says how); nothing of it is in this repo.
# usage: scripts/freebsd-syntax-check.sh SYSROOT [FILE...]
set -euo pipefail
cd "$(dirname "$0")/.."
sysroot=${1:?usage: $0 SYSROOT [FILE...]}
shift
[[ -f $sysroot/usr/include/sys/jail.h ]] || { echo "no FreeBSD headers in $sysroot" >&2; exit 2; }
cxx=clang++
command -v clang++-16 >/dev/null && cxx=clang++-16  # libc++ 17's <source_location> needs it
# Debian's third-party headers, each through a folder of one link (never all of /usr/include,
# whose glibc headers would shadow FreeBSD's).
isystem=$(mktemp -d)
trap 'rm -rf "$isystem"' EXIT
flags=(--target=x86_64-unknown-freebsd14.1 -stdlib=libc++ "--sysroot=$sysroot" -std=c++20
       -fsyntax-only -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -I.)
for d in absl fmt spdlog yaml-cpp nlohmann google; do
  mkdir -p "$isystem/$d" && ln -s "/usr/include/$d" "$isystem/$d/$d"
  flags+=(-isystem "$isystem/$d")
done
if (($# == 0)); then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard '*_freebsd.cc' \
                         'runtime/freebsd/*.cc' 'cni/bridge/freebsd_plan.cc' \
                         'runtime/shim/shim_server.cc' 'runtime/shim/shim_wire.cc' \
                         'runtime/shim/cri_log.cc' 'runtime/shim/exit_record.cc' \
                         'common/fd_passing.cc' 'runtime/shim_client.cc' \
                         'runtime/shim_jail_backend.cc' | sort -u)
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
