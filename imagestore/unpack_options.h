// How a layer is unpacked: the whiteout form, owners, device nodes and the tar-bomb guards.
// Shared by the image store (which chooses them) and the puller process (which unpacks).
#pragma once

#include <cstdint>

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

}  // namespace stockade
