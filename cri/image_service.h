// runtime.v1.ImageService: translates CRI image calls into calls on the image store and back.
#pragma once

#include "cri/rpc_instrumentation.h"
#include "runtime/v1/api.grpc.pb.h"

namespace stockade {

class ImageStore;

class ImageServiceImpl final : public runtime::v1::ImageService::Service {
 public:
  ImageServiceImpl(RpcInstrumentation& rpc, ImageStore& images) : rpc_(rpc), images_(images) {}

  grpc::Status ListImages(grpc::ServerContext* context,
                          const runtime::v1::ListImagesRequest* request,
                          runtime::v1::ListImagesResponse* response) override;
  grpc::Status StreamImages(grpc::ServerContext* context,
                            const runtime::v1::StreamImagesRequest* request,
                            grpc::ServerWriter<runtime::v1::StreamImagesResponse>* writer) override;
  grpc::Status ImageStatus(grpc::ServerContext* context,
                           const runtime::v1::ImageStatusRequest* request,
                           runtime::v1::ImageStatusResponse* response) override;
  grpc::Status PullImage(grpc::ServerContext* context, const runtime::v1::PullImageRequest* request,
                         runtime::v1::PullImageResponse* response) override;
  grpc::Status RemoveImage(grpc::ServerContext* context,
                           const runtime::v1::RemoveImageRequest* request,
                           runtime::v1::RemoveImageResponse* response) override;
  grpc::Status ImageFsInfo(grpc::ServerContext* context,
                           const runtime::v1::ImageFsInfoRequest* request,
                           runtime::v1::ImageFsInfoResponse* response) override;

 private:
  absl::Status DoListImages(const runtime::v1::ListImagesRequest& request,
                            runtime::v1::ListImagesResponse& response);
  absl::Status DoImageStatus(const runtime::v1::ImageStatusRequest& request,
                             runtime::v1::ImageStatusResponse& response);
  absl::Status DoPullImage(const runtime::v1::PullImageRequest& request,
                           runtime::v1::PullImageResponse& response);
  absl::Status DoRemoveImage(const runtime::v1::RemoveImageRequest& request,
                             runtime::v1::RemoveImageResponse& response);
  absl::Status DoImageFsInfo(const runtime::v1::ImageFsInfoRequest& request,
                             runtime::v1::ImageFsInfoResponse& response);
  absl::Status DoStreamImages(const runtime::v1::StreamImagesRequest& request,
                              grpc::ServerWriter<runtime::v1::StreamImagesResponse>& writer);

  RpcInstrumentation& rpc_;
  ImageStore& images_;
};

}  // namespace stockade
