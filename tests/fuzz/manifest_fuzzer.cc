// Registry answers: manifests, indexes, image configs and auth challenges, all untrusted.
#include <cstdint>
#include <string>

#include "imagestore/manifest.h"
#include "imagestore/registry_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  stockade::ClassifyManifest("", body).IgnoreError();
  stockade::ClassifyManifest("application/json", body).IgnoreError();
  absl::StatusOr<stockade::ImageIndex> index = stockade::ParseImageIndex(body);
  if (index.ok()) {
    stockade::SelectPlatform(*index, stockade::PlatformsFor("FreeBSD", "amd64")).IgnoreError();
  }
  absl::StatusOr<stockade::ImageManifest> manifest = stockade::ParseImageManifest(body);
  if (manifest.ok()) {
    for (const auto& layer : manifest->layers) {
      stockade::CompressionOfLayer(layer.media_type).IgnoreError();
    }
  }
  stockade::ParseImageConfig(body).IgnoreError();
  stockade::ParseAuthChallenge(body);
  return 0;
}
