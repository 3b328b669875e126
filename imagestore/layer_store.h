// Unpacked layers, one directory per diff ID: `<root>/sha256/<hex>`, each usable as an
// overlayfs lower dir. A layer is unpacked into `<root>/tmp-*` and renamed into place only
// when its diff ID has been verified, so a crash never leaves a half layer visible. The
// unpacking itself (libarchive, the registry) is in layer_fetch.h, which only the puller links.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "imagestore/digest.h"

namespace stockade {

class LayerStore {
 public:
  // Creates the directories and removes unfinished unpacks left by a crash.
  static absl::StatusOr<std::unique_ptr<LayerStore>> Open(const std::string& root);
  // The store another process opened, for an unpacker of its own (the puller): nothing is
  // removed, and this unpacker's temp dirs carry `temp_tag` so that its owner can remove them
  // (RemoveTemps) if it dies.
  static absl::StatusOr<std::unique_ptr<LayerStore>> Attach(const std::string& root,
                                                            const std::string& temp_tag);
  // Removes the temp dirs of the unpacker that was given `temp_tag`, in the store at `root`.
  static void RemoveTemps(const std::string& root, const std::string& temp_tag);

  std::string LayerPath(const Digest& diff_id) const;
  bool Has(const Digest& diff_id) const;
  absl::Status Remove(const Digest& diff_id);
  absl::StatusOr<std::vector<Digest>> List() const;

  // For unpackers (layer_fetch.h): a new, empty temp dir on the store's filesystem, and the
  // rename that publishes it as the layer `diff_id` once verified (a layer another pull
  // published first wins, and the temp dir is removed).
  absl::StatusOr<std::string> NewTempDir() const;
  absl::Status Publish(const std::string& temp_dir, const Digest& diff_id) const;

  const std::string& root() const { return root_; }

 private:
  LayerStore(std::string root, std::string temp_prefix)
      : root_(std::move(root)), temp_prefix_(std::move(temp_prefix)) {}

  std::string root_;
  std::string temp_prefix_;  // of temp dir names: "tmp-" or "tmp-<tag>-"
};

}  // namespace stockade
