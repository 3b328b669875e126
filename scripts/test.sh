#!/usr/bin/env bash
# Installs what is missing, builds everything (debug preset) and runs the whole test suite:
# unit tests and the integration tests that drive the real stockaded.
# Network safety: every test talks only to loopback; a proxy variable pointing at a dead local
# port makes any accidental outside request fail here instead of leaving the machine. The
# package installer runs first, before those variables exist: apt must reach the archive.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# build.sh would run the installer again; it already ran, and behind the dead proxy it would fail.
export STOCKADE_DEPS_DONE=1

export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9
export https_proxy=$HTTPS_PROXY http_proxy=$HTTP_PROXY
export NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1

preset=${STOCKADE_TEST_PRESET:-debug}

# A short fuzzing run of every parser of untrusted input (clang + libFuzzer), unless skipped.
if [[ ${STOCKADE_SKIP_FUZZ:-0} != 1 ]]; then
  scripts/build.sh fuzz
  ctest --preset fuzz -j 2
fi

scripts/build.sh "$preset"
ctest --preset "$preset" -j 2 "$@"
