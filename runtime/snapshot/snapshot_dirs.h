// The directory bookkeeping every snapshotter shares: `<root>/<key>/` per snapshot, keys
// validated so that none can name a path outside the root.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/remove_tree.h"
#include "runtime/snapshot/snapshotter.h"

namespace stockade {

// A key is [A-Za-z0-9_.-]{1,128}, not "." or "..".
absl::Status ValidateSnapshotKey(const std::string& key);
absl::StatusOr<std::vector<std::string>> ListSnapshotKeys(const std::string& root);
// Creates `<root>/<key>`; AlreadyExists if it is there.
absl::StatusOr<std::string> CreateSnapshotDir(const std::string& root, const std::string& key);
// du of the tree at `path`, a snapshot's own directory (not crossing into other filesystems;
// walked through descriptors, links never followed, so a container's writes cannot steer it);
// NotFound when it is not there.
absl::StatusOr<DiskUsage> TreeUsage(const std::string& path);

}  // namespace stockade
