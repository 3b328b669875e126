// ImageFetcher in the calling process: the registry client, layers downloaded and unpacked
// in parallel, and one transfer of a blob or layer at a time (a lock file in ingest/), so
// that concurrent pulls of images sharing it fetch it once. The puller
// process runs it; nothing else should (stockaded keeps libcurl and libarchive out of its
// address space by running the puller).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "imagestore/content_store.h"
#include "imagestore/image_fetcher.h"
#include "imagestore/layer_store.h"
#include "imagestore/manifest.h"
#include "imagestore/registry_client.h"
#include "imagestore/unpack_options.h"

namespace stockade {

struct LocalFetchOptions {
  int max_concurrent_downloads = 3;
  UnpackOptions unpack = DefaultUnpackOptions();
  std::vector<Platform> platforms = HostPlatforms();
};

class LocalImageFetcher : public ImageFetcher {
 public:
  LocalImageFetcher(LocalFetchOptions options, std::unique_ptr<Registry> registry,
                    ContentStore& content, LayerStore& layers)
      : options_(std::move(options)),
        registry_(std::move(registry)),
        content_(content),
        layers_(layers) {}

  absl::StatusOr<FetchedImage> Fetch(const ImageReference& image,
                                     const RegistryCredentials& creds) override;

 private:
  struct Resolved;
  absl::StatusOr<Resolved> Resolve(const ImageReference& ref, const RegistryCredentials& creds);
  absl::Status StoreBlob(const Digest& digest, const std::string& bytes);
  absl::Status EnsureBlob(const ImageReference& ref, const Descriptor& blob,
                          const RegistryCredentials& creds);
  absl::Status EnsureLayers(const ImageReference& ref, const ImageManifest& manifest,
                            const ImageConfig& config, const RegistryCredentials& creds);
  absl::Status EnsureLayer(const ImageReference& ref, const Descriptor& blob, const Digest& diff_id,
                           const RegistryCredentials& creds);

  LocalFetchOptions options_;
  std::unique_ptr<Registry> registry_;
  ContentStore& content_;
  LayerStore& layers_;
};

}  // namespace stockade
