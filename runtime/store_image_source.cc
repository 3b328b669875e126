#include "runtime/store_image_source.h"

#include "absl/strings/str_cat.h"
#include "imagestore/image_store.h"
#include "imagestore/manifest.h"

namespace stockade {
namespace {

class StoreImageSource final : public ContainerImageSource {
 public:
  explicit StoreImageSource(const ImageStore& images) : images_(images) {}

  absl::StatusOr<ContainerImage> Find(const std::string& image) override {
    absl::StatusOr<ImageInfo> info = images_.Get(image);
    if (absl::IsNotFound(info.status())) {
      return absl::NotFoundError(
          absl::StrCat("image \"", image, "\" is not on this node: pull it first"));
    }
    if (!info.ok()) return info.status();
    absl::StatusOr<std::string> config_json = images_.ConfigJson(*info);
    if (!config_json.ok()) return config_json.status();
    absl::StatusOr<ImageConfig> config = ParseImageConfig(*config_json);
    if (!config.ok()) return config.status();
    absl::StatusOr<std::vector<std::string>> layers = images_.LayerPaths(*info);
    if (!layers.ok()) return layers.status();
    ContainerImage out;
    out.id = info->id;
    out.name = info->repo_tags.empty() ? "" : info->repo_tags.front();
    out.ref = info->repo_digests.empty() ? info->id : info->repo_digests.front();
    out.layers = *std::move(layers);
    out.entrypoint = config->entrypoint;
    out.cmd = config->cmd;
    out.env = config->env;
    out.working_dir = config->working_dir;
    out.user = config->user;
    out.stop_signal = config->stop_signal;
    out.os = config->os;
    return out;
  }

 private:
  const ImageStore& images_;
};

}  // namespace

std::unique_ptr<ContainerImageSource> NewStoreImageSource(const ImageStore& images) {
  return std::make_unique<StoreImageSource>(images);
}

}  // namespace stockade
