// The ZFS snapshotter (FreeBSD, when storage.zfs_dataset is set): each chain of an image's
// first N layers is a dataset, a clone of the chain below it with the Nth layer directory
// copied in (ApplyLayerDir), sealed read-only with an @ready snapshot, so images that share
// base layers share their blocks; a container's rootfs is a clone of its top chain, and what it
// wrote is the clone's `written`. The zfs(8) command lines come from zfs_plan.h; the runner is
// given, so the logic is tested on every OS against an emulation of zfs(8).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "imagestore/whiteouts.h"
#include "runtime/freebsd/zfs_plan.h"
#include "runtime/snapshot/snapshotter.h"

namespace stockade::freebsd {

// Runs one zfs(8) command: its stdout, or an error carrying its stderr.
using ZfsRunner = std::function<absl::StatusOr<std::string>(const ZfsCommand&)>;

struct ZfsSnapshotterOptions {
  std::string dataset;     // "zroot/stockade": made by the operator, or by us under its pool
  std::string root;        // <state_dir>/snapshots: the <key>/rootfs mountpoints
  std::string build_root;  // <state_dir>/zfs-chains: where a chain is mounted while it is built
  WhiteoutMode layer_form = WhiteoutMode::kMarkers;
};

// InvalidArgument for a bad dataset name; FailedPrecondition, naming the fix, when zfs(8)
// cannot list the dataset's pool.
absl::StatusOr<std::unique_ptr<Snapshotter>> NewZfsSnapshotter(const ZfsSnapshotterOptions& options,
                                                               ZfsRunner run);

// zfs(8) itself through RunCommand.
ZfsRunner SystemZfsRunner();

}  // namespace stockade::freebsd
