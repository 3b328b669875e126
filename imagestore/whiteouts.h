// How an unpacked layer directory records what it deletes from the layers below it: the
// contract between the unpacker (imagestore/layer_unpacker.h) and the snapshotters that stack
// layer directories (runtime/snapshot/). Header only.
#pragma once

#include "absl/strings/string_view.h"

namespace stockade {

// OCI whiteout markers within one path component.
inline constexpr absl::string_view kWhiteoutPrefix = ".wh.";
inline constexpr absl::string_view kOpaqueWhiteout = ".wh..wh..opq";

enum class WhiteoutMode {
  kOverlay,  // ".wh.x" -> char device 0/0 "x"; ".wh..wh..opq" -> trusted.overlay.opaque=y
  // ".wh.x" and ".wh..wh..opq" kept as empty regular files, for a snapshotter that copies
  // layers and applies them (FreeBSD: no overlayfs, and no device nodes outside devfs).
  kMarkers,
  kApply,  // delete what they hide in the destination (layers extracted on top of each other)
};

}  // namespace stockade
