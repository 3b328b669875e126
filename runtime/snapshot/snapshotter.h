// Prepares a container's writable root filesystem from an image's unpacked layers, and removes
// it. Implementations: overlayfs (Linux; the layers are the lower dirs, untouched) and a plain
// copy (anywhere; slower, more disk); ZFS clones on FreeBSD (runtime/freebsd/zfs_snapshotter.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "imagestore/whiteouts.h"

namespace stockade {

struct DiskUsage {
  uint64_t bytes = 0;   // allocated blocks, as du counts them
  uint64_t inodes = 0;  // files, directories, links
};

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;
  virtual std::string Name() const = 0;
  // Makes `<root>/<key>/rootfs` from `layers` (directories, base first) and returns its path.
  // AlreadyExists if `key` is prepared already; on failure nothing is left behind.
  virtual absl::StatusOr<std::string> Prepare(const std::string& key,
                                              const std::vector<std::string>& layers) = 0;
  // Unmounts and deletes `key`'s filesystem; removing an unknown key succeeds.
  virtual absl::Status Remove(const std::string& key) = 0;
  // The keys that exist (for reconciliation after a restart).
  virtual absl::StatusOr<std::vector<std::string>> List() const = 0;
  // What the snapshot's writable part holds: the container's writes (the upper dir of an
  // overlay; the whole copy). NotFound for an unknown key.
  virtual absl::StatusOr<DiskUsage> Usage(const std::string& key) const = 0;
};

// Linux only (snapshotter_overlay_linux.cc).
absl::StatusOr<std::unique_ptr<Snapshotter>> NewOverlaySnapshotter(const std::string& root);
// Any OS; `layer_form` is how the layer directories record their whiteouts.
absl::StatusOr<std::unique_ptr<Snapshotter>> NewCopySnapshotter(const std::string& root,
                                                                WhiteoutMode layer_form);

}  // namespace stockade
