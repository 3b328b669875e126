// Copies one unpacked layer directory on top of a tree, applying its whiteouts in the form the
// unpacker wrote them (imagestore/whiteouts.h): what the copy snapshotter does per layer, and
// the ZFS snapshotter into each clone. Nothing is followed: symlinks are copied as links, and
// an entry of the tree in the way of a layer's entry is replaced, never written through.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "imagestore/whiteouts.h"

namespace stockade {

// `form` is kOverlay (whiteouts are 0/0 devices, opaque dirs carry trusted.overlay.opaque) or
// kMarkers (the OCI marker files); the markers themselves are never copied. Hardlinks within
// the layer stay linked. Owners, modes, times and extended attributes are kept.
absl::Status ApplyLayerDir(const std::string& layer, const std::string& tree, WhiteoutMode form);

}  // namespace stockade
