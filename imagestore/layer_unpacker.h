// Extracts one image layer (an uncompressed tar stream) into a directory with libarchive,
// computing its diff ID on the way. No entry may land outside the directory: absolute names,
// "..", writes through symlinks and hardlinks to outside targets are refused. OCI whiteouts
// become overlayfs whiteouts (so the directory can be an overlay lower dir), stay as the OCI
// marker files (for snapshotters that copy layers), or are applied.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "imagestore/byte_source.h"
#include "imagestore/digest.h"
#include "imagestore/whiteouts.h"

namespace stockade {

struct UnpackOptions {
  WhiteoutMode whiteouts = WhiteoutMode::kOverlay;
  bool restore_owners = false;       // chown to the tar's numeric uid/gid (root only)
  bool allow_device_nodes = false;   // create char/block devices (root only); else skipped
  uint64_t max_bytes = 64ull << 30;  // uncompressed tar bytes (a tar bomb guard)
  uint64_t max_entries = 4u << 20;
};

// Options for the running process: owners and device nodes when running as root.
UnpackOptions DefaultUnpackOptions();

struct UnpackResult {
  Digest diff_id = Digest::FromSha256Hex("");
  uint64_t bytes = 0;  // uncompressed
  uint64_t entries = 0;
  uint64_t skipped_devices = 0;
};

// `dest` must exist. On error, `dest` holds a partial tree the caller must remove.
absl::StatusOr<UnpackResult> UnpackLayer(ByteSource& tar_stream, const std::string& dest,
                                         const UnpackOptions& options);

}  // namespace stockade
