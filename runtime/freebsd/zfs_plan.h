// The ZFS snapshotter's plan (FreeBSD, when a dataset is configured): a dataset per layer
// chain (the image's first N layers, each a clone of the chain below it with the next layer
// copied on top, then snapshotted @ready) and a clone of the top chain per container, mounted
// as its rootfs. Names and zfs(8) command lines are plain logic, unit-tested on every OS; the
// FreeBSD snapshotter runs them.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stockade::freebsd {

using ZfsCommand = std::vector<std::string>;  // argv, starting with "zfs"

// InvalidArgument for a dataset name zfs(8) would refuse ("pool/a/b": letters, digits, and
// _ - . : / only, no leading or trailing /, no @ or #).
absl::Status CheckDatasetName(const std::string& dataset);

// "<dataset>/layers/<32 hex of SHA-256>" of the chain's layer dirs, base first, so
// images sharing a base share its datasets.
std::string LayerChainDataset(const std::string& dataset, const std::vector<std::string>& layers,
                              size_t count);
std::string ContainerDataset(const std::string& dataset, const std::string& key);

// Making chain `count` (1..layers.size()) when it is missing: the first is created, each
// later one cloned from the chain below it; mounted at `mountpoint` to receive its layer.
ZfsCommand PlanChainCreate(const std::string& dataset, const std::vector<std::string>& layers,
                           size_t count, const std::string& mountpoint);
// After its layer is copied in: read-only, unmounted, and its @ready snapshot.
std::vector<ZfsCommand> PlanChainSeal(const std::string& chain);
// A container's rootfs: a clone of the top chain's @ready at `rootfs`.
ZfsCommand PlanContainerClone(const std::string& dataset, const std::vector<std::string>& layers,
                              const std::string& key, const std::string& rootfs);
// Removing a container's clone (and anything below it); a missing one is for the caller to
// treat as done.
ZfsCommand PlanContainerDestroy(const std::string& dataset, const std::string& key);
// What Usage reads: `written` of the clone is what the container wrote.
ZfsCommand PlanUsageQuery(const std::string& dataset, const std::string& key);
// Whether a chain is complete: lists its @ready snapshot (fails when there is none).
ZfsCommand PlanChainReadyQuery(const std::string& chain);
// A chain left half-made by a crash (no @ready): destroyed before it is made again.
ZfsCommand PlanChainDiscard(const std::string& chain);
// The configured dataset, made when missing (its pool must exist).
ZfsCommand PlanDatasetEnsure(const std::string& dataset);

// zfs(8)'s message for a dataset or snapshot that is not there.
bool IsMissingDatasetError(const absl::Status& status);

}  // namespace stockade::freebsd
