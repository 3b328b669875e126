// Unpacked layers, one directory per diff ID: `<root>/sha256/<hex>`, each usable as an
// overlayfs lower dir. A layer is unpacked into `<root>/tmp-*` and renamed into place only
// when its diff ID has been verified, so a crash never leaves a half layer visible.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "imagestore/content_store.h"
#include "imagestore/digest.h"
#include "imagestore/layer_unpacker.h"
#include "imagestore/manifest.h"
#include "imagestore/reference.h"
#include "imagestore/registry_client.h"

namespace stockade {

class LayerStore {
 public:
  // Creates the directories and removes unfinished unpacks left by a crash.
  static absl::StatusOr<std::unique_ptr<LayerStore>> Open(const std::string& root);

  std::string LayerPath(const Digest& diff_id) const;
  bool Has(const Digest& diff_id) const;
  absl::Status Remove(const Digest& diff_id);
  absl::StatusOr<std::vector<Digest>> List() const;

  // Unpacks a layer whose blob is already in `content`.
  absl::Status UnpackFromContent(const ContentStore& content, const Descriptor& blob,
                                 const Digest& diff_id, const UnpackOptions& options);

  // Downloads a layer blob into `content` and unpacks it while it streams in: the bytes go to
  // the content store's writer and, through a bounded queue, to the unpacker on another
  // thread; both digests (blob and diff ID) are verified before either is published.
  absl::Status FetchAndUnpack(Registry& registry, const ImageReference& image,
                              const RegistryCredentials& creds, ContentStore& content,
                              const Descriptor& blob, const Digest& diff_id,
                              const UnpackOptions& options);

  const std::string& root() const { return root_; }

 private:
  friend class UnpackingBlobSink;
  explicit LayerStore(std::string root) : root_(std::move(root)) {}
  absl::StatusOr<std::string> NewTempDir() const;
  absl::Status Publish(const std::string& temp_dir, const Digest& diff_id) const;

  std::string root_;
};

}  // namespace stockade
