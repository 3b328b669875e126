// The half of a pull that talks to registries and unpacks layers: it leaves the manifest (and
// index), the config blob and every layer of an image verified in the content and layer
// stores, and says what it resolved. The image store records the image from there.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "imagestore/digest.h"
#include "imagestore/reference.h"
#include "imagestore/registry_hosts.h"

namespace stockade {

struct FetchedImage {
  Digest top_digest = Digest::FromSha256Hex("");       // what the reference resolved to
  std::vector<Digest> manifest_blobs;                  // the index (if any) and the manifest
  Digest manifest_digest = Digest::FromSha256Hex("");  // the image manifest chosen
};

class ImageFetcher {
 public:
  virtual ~ImageFetcher() = default;
  // `image` names a tag or a digest (not both).
  virtual absl::StatusOr<FetchedImage> Fetch(const ImageReference& image,
                                             const RegistryCredentials& creds) = 0;
};

}  // namespace stockade
