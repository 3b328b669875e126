// The node's images: pulls (de-duplicated; the fetching and unpacking is the ImageFetcher's,
// in stockaded a puller process), the records kubelet sees through the CRI ImageService
// (RepoTags, RepoDigests, size, user), removal and garbage collection of blobs and layers no
// image uses any more.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "imagestore/content_store.h"
#include "imagestore/image_fetcher.h"
#include "imagestore/layer_store.h"
#include "imagestore/manifest.h"
#include "imagestore/single_flight.h"
#include "state/state_store.h"

namespace stockade {

struct ImageStoreOptions {
  std::string root;                        // content/ and layers/ live here
  std::vector<std::string> pinned_images;  // references kubelet should not garbage-collect
  // Layer directories that garbage collection must keep although no image names them (the
  // lower layers of containers whose image was removed). Unset: none.
  std::function<std::set<std::string>()> layer_dirs_in_use;
};

// What the CRI needs to know about one image.
struct ImageInfo {
  std::string id;  // sha256:<config digest hex>
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  uint64_t size_bytes = 0;
  bool pinned = false;
  std::string user;  // the config's User, e.g. "1000", "app", "1000:1000"
  std::vector<std::string> diff_ids;
  std::string manifest_digest;
};

struct ImageFsUsage {
  std::string mountpoint;
  uint64_t used_bytes = 0;
  uint64_t inodes_used = 0;
};

class ImageStore {
 public:
  // `fetcher` fills the stores under `options.root` (content/, layers/), which Open creates.
  static absl::StatusOr<std::unique_ptr<ImageStore>> Open(const ImageStoreOptions& options,
                                                          StateStore& state,
                                                          std::unique_ptr<ImageFetcher> fetcher);

  // Pulls `reference` (normalised the Docker way); concurrent pulls of the same reference
  // share one download. Returns the image; its id is what kubelet's PullImage wants.
  absl::StatusOr<ImageInfo> Pull(const std::string& reference, const RegistryCredentials& creds);

  // By id ("sha256:<hex>" or a unique hex prefix), tag or digest reference. NotFound if absent.
  absl::StatusOr<ImageInfo> Get(const std::string& id_or_reference) const;
  // All images, or only those `reference` names.
  std::vector<ImageInfo> List(const std::string& reference_filter = "") const;
  // Removes the image and every name it has, then collects what no image needs. Removing what
  // is not there succeeds.
  absl::Status Remove(const std::string& id_or_reference);
  // The image config as stored (for verbose ImageStatus).
  absl::StatusOr<std::string> ConfigJson(const ImageInfo& image) const;
  absl::StatusOr<ImageFsUsage> Usage() const;
  // Deletes blobs and layer dirs that no image record refers to.
  absl::Status CollectGarbage();

  // The unpacked layer directories of an image, base first (for snapshotters).
  absl::StatusOr<std::vector<std::string>> LayerPaths(const ImageInfo& image) const;

 private:
  ImageStore(ImageStoreOptions options, StateStore& state, std::unique_ptr<ImageFetcher> fetcher,
             std::unique_ptr<ContentStore> content, std::unique_ptr<LayerStore> layers)
      : options_(std::move(options)),
        state_(state),
        fetcher_(std::move(fetcher)),
        content_(std::move(content)),
        layers_(std::move(layers)) {}

  absl::StatusOr<ImageInfo> DoPull(const std::string& reference, const RegistryCredentials& creds);
  absl::Status Record(const struct ImageReference& ref, const FetchedImage& fetched,
                      const ImageManifest& manifest, const ImageConfig& config, ImageInfo& out);
  std::optional<std::string> FindIdLocked(const std::string& id_or_reference) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  bool IsPinned(const ImageInfo& image) const;

  ImageStoreOptions options_;
  StateStore& state_;
  std::unique_ptr<ImageFetcher> fetcher_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<LayerStore> layers_;

  mutable absl::Mutex mu_;
  std::map<std::string, ImageInfo> images_ ABSL_GUARDED_BY(mu_);  // by id
  // Serialises record changes and garbage collection against each other.
  absl::Mutex write_mu_;

  // In-flight pulls, so concurrent callers of one reference share one.
  SingleFlight pulls_;
  // Held shared by every pull, exclusively by garbage collection (which skips when it cannot).
  absl::Mutex collect_mu_;
};

// The CRI's uid/username split of an image config's User ("1000" -> uid 1000; "app" ->
// username "app"; "1000:1000" -> uid 1000; "" -> neither).
struct ImageUser {
  std::optional<int64_t> uid;
  std::string username;
};
ImageUser ParseImageUser(const std::string& user);

}  // namespace stockade
