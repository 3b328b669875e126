// RemoveImage (the whole image, every name; absent is fine) and ImageFsInfo.
#include "absl/time/clock.h"
#include "cri/image_service.h"
#include "imagestore/image_store.h"

namespace stockade {

absl::Status ImageServiceImpl::DoRemoveImage(const runtime::v1::RemoveImageRequest& request,
                                             runtime::v1::RemoveImageResponse& response) {
  const std::string& image = request.image().image();
  if (image.empty()) return absl::InvalidArgumentError("image.image must name an image");
  return images_.Remove(image);
}

absl::Status ImageServiceImpl::DoImageFsInfo(const runtime::v1::ImageFsInfoRequest& request,
                                             runtime::v1::ImageFsInfoResponse& response) {
  absl::StatusOr<ImageFsUsage> usage = images_.Usage();
  if (!usage.ok()) return usage.status();
  runtime::v1::FilesystemUsage* fs = response.add_image_filesystems();
  fs->set_timestamp(absl::GetCurrentTimeNanos());
  fs->mutable_fs_id()->set_mountpoint(usage->mountpoint);
  fs->mutable_used_bytes()->set_value(usage->used_bytes);
  fs->mutable_inodes_used()->set_value(usage->inodes_used);
  return absl::OkStatus();
}

}  // namespace stockade
