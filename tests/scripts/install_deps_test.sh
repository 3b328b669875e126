#!/usr/bin/env bash
# scripts/install-deps.sh against stub dpkg-query, id, apt-get and apt-cache on PATH: what it
# says and its exit code for a missing package as non-root, an unreachable archive, a package
# the archive lacks, a failed install, and nothing missing (no apt call at all).
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
stubs=$(mktemp -d)
trap 'rm -rf "$stubs"' EXIT
failures=0

# stub <name> <body>
stub() {
  printf '#!/bin/sh\n%s\n' "$2" >"$stubs/$1"
  chmod +x "$stubs/$1"
}

# expect <case> <exit code> <text in stderr>
expect() {
  local name=$1 want_rc=$2 want_text=$3 out rc
  out=$(PATH="$stubs:$PATH" "$repo/scripts/install-deps.sh" 2>&1)
  rc=$?
  if [[ $rc -ne $want_rc || $out != *"$want_text"* ]]; then
    echo "FAIL $name: exit $rc (want $want_rc), output: $out"
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

# One package (zstd) is missing; everything else is installed.
stub dpkg-query 'for last; do :; done; [ "$last" = zstd ] && exit 1; echo "install ok installed"'
stub id 'echo 1000'
stub apt-get 'echo "apt-get must not run" >&2; exit 99'
expect non-root 1 "run as root (or: sudo apt-get install zstd)"

stub id 'echo 0'
stub apt-get '[ "$1" = update ] && { echo "E: Failed to fetch" >&2; exit 100; }; exit 0'
expect unreachable-archive 1 "apt-get update failed"

stub apt-get 'exit 0'
stub apt-cache 'echo "  Candidate: (none)"'
expect not-in-archive 1 "the configured archive has no package zstd"

stub apt-cache 'echo "  Candidate: 1.5.4"'
stub apt-get '[ "$1" = update ] && exit 0; echo "E: broken" >&2; exit 100'
expect install-fails 1 "apt-get install failed (see above) for: zstd"

stub apt-get '[ "$1" = update ] && exit 0; exit 0'
expect installs 0 "installing zstd"

stub dpkg-query 'echo "install ok installed"'
stub apt-get 'echo "apt-get must not run" >&2; exit 99'
expect nothing-missing 0 ""

exit $((failures > 0))
