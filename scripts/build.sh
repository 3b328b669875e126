#!/usr/bin/env bash
# Installs what is missing, then configures (once) and builds one CMake preset.
# usage: scripts/build.sh [debug|release|asan|fuzz] [ninja target...]
set -euo pipefail
cd "$(dirname "$0")/.."

preset=${1:-release}
shift || true

if [[ ${STOCKADE_DEPS_DONE:-0} != 1 ]]; then
  scripts/install-deps.sh
fi
if [[ ! -f build/$preset/build.ninja ]]; then
  cmake --preset "$preset" >/dev/null
fi
# Two cores: two jobs, so a build never starves the machine of memory or the tests of CPU.
cmake --build --preset "$preset" -j "${STOCKADE_BUILD_JOBS:-2}" ${1:+--target "$@"}
