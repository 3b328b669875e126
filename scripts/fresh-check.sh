#!/usr/bin/env bash
# Proves the README's test command on a fresh Debian 12: builds a minimal Debian tree with
# debootstrap (minbase, plus git), clones this repository's committed HEAD into it, and runs
# `./scripts/test.sh` exactly as the README gives it, with the tree as the root of a new mount
# namespace (not a chroot: there user namespaces are refused and / is no mount point, so root
# tests would fail for reasons no real machine has). Prints the exit code and ctest's summary.
#
# usage: scripts/fresh-check.sh [TREE]    (default /var/tmp/stockade-fresh; remade every run)
# Only what is committed is checked: commit first. Needs root and the host's Debian archive.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tree=${1:-/var/tmp/stockade-fresh}
log=$tree.log

if [[ $(id -u) -ne 0 ]]; then
  echo "fresh-check: run as root (debootstrap, mounts and the root tests need it)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "fresh-check: installing debootstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi
if [[ -n $(git -C "$repo" status --porcelain --untracked-files=no) ]]; then
  echo "fresh-check: warning: uncommitted changes are not checked (the tree gets HEAD)" >&2
fi

# The archive the host uses (its deb822 or one-line sources), so the tree installs the same way.
mirror=$({ grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list \
  /etc/apt/sources.list.d/ 2>/dev/null || true; } | head -n 1 | awk '{print $2}')
mirror=${mirror:-http://deb.debian.org/debian}

if [[ -e $tree ]]; then
  if findmnt -rn -o TARGET | grep -q "^$tree/"; then
    echo "fresh-check: $tree still has mounts (a check in progress?); unmount them first" >&2
    exit 1
  fi
  rm -rf --one-file-system "$tree"
fi
start=$(date +%s)
echo "fresh-check: debootstrap bookworm (minbase + git) from $mirror into $tree" >&2
debootstrap --variant=minbase --include=git,ca-certificates bookworm "$tree" "$mirror" \
  >"$log" 2>&1 || { echo "fresh-check: debootstrap failed, see $log" >&2; exit 1; }

# The host's apt sources and settings, name resolution for the archive, and the clone.
rm -f "$tree/etc/apt/sources.list"
cp -a /etc/apt/sources.list /etc/apt/sources.list.d "$tree/etc/apt/" 2>/dev/null || true
grep -lrE 'Check-Valid-Until|Check-Date' /etc/apt/apt.conf.d/ 2>/dev/null |
  xargs -r cp -t "$tree/etc/apt/apt.conf.d/"
# Only Debian's own archives: a fresh Debian 12 has no third-party lists or keys.
grep -rlE 'nodesource|google|docker' "$tree/etc/apt/sources.list.d/" 2>/dev/null | xargs -r rm -f
cp /etc/resolv.conf "$tree/etc/resolv.conf"
git clone -q "$repo" "$tree/root/stockade"

echo "fresh-check: running ./scripts/test.sh in the fresh tree (log: $log)" >&2
set +e
unshare --mount --propagation private --fork env -i TREE="$tree" CI="${CI:-}" bash -c '
  set -e
  mount --bind "$TREE" "$TREE"
  mount -t proc proc "$TREE/proc"
  mount --rbind /sys "$TREE/sys" && mount --make-rslave "$TREE/sys"
  mount --rbind /dev "$TREE/dev" && mount --make-rslave "$TREE/dev"
  mount -t tmpfs -o mode=0755 tmpfs "$TREE/run"
  cd "$TREE" && mkdir -p .old-root && pivot_root . .old-root
  umount -l /.old-root && rmdir /.old-root
  cd /root/stockade
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
  [ -n "$CI" ] && export CI
  exec ./scripts/test.sh
' >>"$log" 2>&1
rc=$?
set -e
elapsed=$(($(date +%s) - start))
summary=$(grep -E 'tests passed|tests failed' "$log" | tail -n 1)
echo "fresh-check: exit code $rc after $((elapsed / 60)) min $((elapsed % 60)) s"
echo "fresh-check: ${summary:-no ctest summary (see $log)}"
if ((rc != 0)); then
  grep -E '^\s*[0-9]+ - .*\((Failed|Timeout|Subprocess|SEGFAULT|Not Run)' "$log" | head -n 30
fi
exit "$rc"
