// ListImages, StreamImages and ImageStatus: the node's images as kubelet sees them.
#include "cri/image_service.h"
#include "imagestore/image_store.h"
#include "nlohmann/json.hpp"

namespace stockade {
namespace {

void ToCriImage(const ImageInfo& info, runtime::v1::Image& out) {
  out.set_id(info.id);
  for (const std::string& t : info.repo_tags) out.add_repo_tags(t);
  for (const std::string& d : info.repo_digests) out.add_repo_digests(d);
  out.set_size(info.size_bytes);
  out.set_pinned(info.pinned);
  const ImageUser user = ParseImageUser(info.user);
  if (user.uid) out.mutable_uid()->set_value(*user.uid);
  out.set_username(user.username);
  out.mutable_spec()->set_image(info.id);
}

}  // namespace

absl::Status ImageServiceImpl::DoListImages(const runtime::v1::ListImagesRequest& request,
                                            runtime::v1::ListImagesResponse& response) {
  for (const ImageInfo& info : images_.List(request.filter().image().image())) {
    ToCriImage(info, *response.add_images());
  }
  return absl::OkStatus();
}

absl::Status ImageServiceImpl::DoStreamImages(
    const runtime::v1::StreamImagesRequest& request,
    grpc::ServerWriter<runtime::v1::StreamImagesResponse>& writer) {
  // One message per batch of images keeps each under the gRPC message limit.
  constexpr size_t kBatch = 500;
  std::vector<ImageInfo> all = images_.List(request.filter().image().image());
  for (size_t i = 0; i < all.size() || i == 0; i += kBatch) {
    runtime::v1::StreamImagesResponse batch;
    for (size_t j = i; j < std::min(all.size(), i + kBatch); ++j) {
      ToCriImage(all[j], *batch.add_images());
    }
    if (!writer.Write(batch)) return absl::CancelledError("the client went away");
    if (all.empty()) break;
  }
  return absl::OkStatus();
}

absl::Status ImageServiceImpl::DoImageStatus(const runtime::v1::ImageStatusRequest& request,
                                             runtime::v1::ImageStatusResponse& response) {
  const std::string& image = request.image().image();
  if (image.empty()) return absl::InvalidArgumentError("image.image must name an image");
  absl::StatusOr<ImageInfo> info = images_.Get(image);
  // An absent image is an empty answer, not an error: kubelet then pulls it.
  if (absl::IsNotFound(info.status())) return absl::OkStatus();
  if (!info.ok()) return info.status();
  ToCriImage(*info, *response.mutable_image());
  if (request.verbose()) {
    nlohmann::json verbose;
    absl::StatusOr<std::string> config = images_.ConfigJson(*info);
    verbose["imageSpec"] =
        config.ok() ? nlohmann::json::parse(*config, nullptr, false) : nlohmann::json();
    verbose["manifestDigest"] = info->manifest_digest;
    verbose["diffIDs"] = info->diff_ids;
    absl::StatusOr<std::vector<std::string>> layers = images_.LayerPaths(*info);
    if (layers.ok()) verbose["layerDirs"] = *layers;
    (*response.mutable_info())["info"] =
        verbose.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return absl::OkStatus();
}

}  // namespace stockade
