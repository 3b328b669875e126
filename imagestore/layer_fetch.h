// Layers into a LayerStore: unpacked from a blob already in the content store, or downloaded
// and unpacked while the bytes stream in. The puller's half of the image store: it links
// libarchive, the decompressors and the registry client, which stockaded does not.
#pragma once

#include "absl/status/status.h"
#include "imagestore/content_store.h"
#include "imagestore/digest.h"
#include "imagestore/layer_store.h"
#include "imagestore/layer_unpacker.h"
#include "imagestore/manifest.h"
#include "imagestore/reference.h"
#include "imagestore/registry_client.h"

namespace stockade {

// Unpacks a layer whose blob is already in `content`.
absl::Status UnpackLayerFromContent(LayerStore& layers, const ContentStore& content,
                                    const Descriptor& blob, const Digest& diff_id,
                                    const UnpackOptions& options);

// Downloads a layer blob into `content` and unpacks it while it streams in: the bytes go to
// the content store's writer and, through a bounded queue, to the unpacker on another
// thread; both digests (blob and diff ID) are verified before either is published.
absl::Status FetchAndUnpackLayer(LayerStore& layers, Registry& registry,
                                 const ImageReference& image, const RegistryCredentials& creds,
                                 ContentStore& content, const Descriptor& blob,
                                 const Digest& diff_id, const UnpackOptions& options);

}  // namespace stockade
