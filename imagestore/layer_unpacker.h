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
#include "imagestore/unpack_options.h"

namespace stockade {

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
